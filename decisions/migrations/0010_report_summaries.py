# Report summaries (the reports area): counts per organisation, day or month and report
# dimension, and what each decision contributes to them.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("decisions", "0009_audit_chains")]

    operations = [
        migrations.CreateModel(
            name='ReportContribution',
            fields=[
                ('decision', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='decisions.decision')),
                ('entries', models.JSONField(default=list)),
            ],
        ),
        migrations.CreateModel(
            name='ReportSummary',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period', models.CharField(help_text='d: the counts of one day; m: of the month that day starts', max_length=1)),
                ('day', models.DateField(help_text="The UK date of the decisions' latest submission, or the 1st of its month")),
                ('outcome', models.CharField(max_length=30)),
                ('status', models.CharField(max_length=20)),
                ('direction', models.CharField(max_length=40)),
                ('figure', models.CharField(max_length=30)),
                ('value', models.TextField()),
                ('n', models.IntegerField()),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='decisions.organisation')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('organisation', 'period', 'day', 'outcome', 'status', 'direction', 'figure', 'value'), name='unique_report_summary_key')],
            },
        ),
    ]
