from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    name = "decisions"
    verbose_name = "Information-sharing decisions"
    default_auto_field = "django.db.models.BigAutoField"
