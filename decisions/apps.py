from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Information-sharing decisions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # PostgreSQL: the audit table's coming months' partitions after every migrate.
        from django.db.models.signals import post_migrate

        from decisions.audit import receivers  # noqa: F401 - connects the audit receivers
        from decisions.audit.partitions import partitions_after_migrate
        from decisions.sso import receivers as sso_receivers  # noqa: F401 - single sign-on

        post_migrate.connect(partitions_after_migrate, sender=self)
