# Audit chains per organisation (docs/security-database.md, "Chains per organisation").
#
# Nothing already written is rewritten: every existing event keeps its hash, its predecessor and
# its sequence number, and is marked as belonging to the "legacy" chain (a column added with a
# constant default, which PostgreSQL records without touching a row, so no update trigger
# fires). The single head row becomes the legacy chain's head, frozen. New events go to a chain
# per organisation (or "platform"), each starting from a genesis hash that commits to the legacy
# head, so the old chain stays verifiable as it was and the new ones are anchored to it.
# PostgreSQL numbers events from a sequence that continues after the newest event.

from django.db import migrations, models

SEQUENCE = "decisions_auditevent_sequence_seq"


def legacy_head(apps, schema_editor):
    """The single chain's head row, when it has events, becomes the legacy chain's head."""
    AuditChainHead = apps.get_model("decisions", "AuditChainHead")
    AuditChain = apps.get_model("decisions", "AuditChain")
    old = AuditChainHead.objects.filter(id=1).first()
    if old is not None and old.sequence > 0:
        AuditChain.objects.create(
            key="legacy", position=old.sequence, hash=old.hash, created_at=old.created_at
        )


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite serialises writers: the next number is read under its write lock
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} AS bigint MINVALUE 1")
    schema_editor.execute(
        f"SELECT setval('{SEQUENCE}', COALESCE(MAX(sequence), 0) + 1, false) "
        "FROM decisions_auditevent"
    )


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("decisions", "0008_rendered_pdfs")]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("key", models.CharField(max_length=24, primary_key=True, serialize=False)),
                ("position", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(legacy_head, migrations.RunPython.noop),
        migrations.DeleteModel(name="AuditChainHead"),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default="legacy", max_length=24),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="position",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        # unique=True made a second, varchar_pattern_ops ("_like") index on PostgreSQL that no
        # query uses; the constraint below keeps the uniqueness with one index.
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor"], name="audit_actor"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("hash",), name="audit_hash_unique"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "position"), name="audit_chain_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("position__isnull", False), ("chain", "legacy"), _connector="OR"
                ),
                name="audit_chained_has_position",
            ),
        ),
        migrations.RunPython(create_sequence, drop_sequence),
    ]
