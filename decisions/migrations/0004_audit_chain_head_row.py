"""Create the audit chain-head row that every append locks, continuing any existing chain."""

from django.db import migrations

GENESIS_HASH = "0" * 64


def create_chain_head(apps, schema_editor):
    AuditEvent = apps.get_model("decisions", "AuditEvent")
    AuditChainHead = apps.get_model("decisions", "AuditChainHead")
    if AuditChainHead.objects.filter(id=1).exists():
        return
    latest = AuditEvent.objects.order_by("-sequence").first()
    AuditChainHead.objects.create(
        id=1,
        sequence=latest.sequence if latest else 0,
        hash=latest.hash if latest else GENESIS_HASH,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("decisions", "0003_approvals_and_append_only_audit"),
    ]

    operations = [
        migrations.RunPython(create_chain_head, migrations.RunPython.noop),
    ]
