# Single sign-on (decisions/sso/): an organisation's OpenID Connect identity provider.
import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("decisions", "0010_report_summaries")]

    operations = [
        migrations.CreateModel(
            name='IdentityProvider',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('name', models.CharField(max_length=100)),
                ('issuer', models.URLField(max_length=500)),
                ('client_id', models.CharField(max_length=255)),
                ('client_secret_env', models.CharField(max_length=100)),
                ('authorization_endpoint', models.URLField(max_length=500)),
                ('token_endpoint', models.URLField(max_length=500)),
                ('userinfo_endpoint', models.URLField(max_length=500)),
                ('jwks_uri', models.URLField(max_length=500)),
                ('end_session_endpoint', models.URLField(blank=True, max_length=500)),
                ('scopes', models.CharField(default='openid email profile', max_length=200)),
                ('email_domains', models.TextField()),
                ('group_claim', models.CharField(blank=True, max_length=100)),
                ('role_mapping', models.TextField(blank=True)),
                ('is_enabled', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('organisation', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='identity_provider', to='decisions.organisation')),
            ],
            options={
                'ordering': ['organisation__name'],
            },
        ),
    ]
