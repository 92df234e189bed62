from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Information-sharing decisions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from decisions.audit import receivers  # noqa: F401 - connects the audit receivers
        from decisions.sso import receivers as sso_receivers  # noqa: F401 - single sign-on
