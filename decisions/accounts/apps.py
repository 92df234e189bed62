from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Registered so its receivers connect at start-up (it has no models of its own)."""

    name = "decisions.accounts"
    label = "isg_accounts"
    verbose_name = "ISG accounts"

    def ready(self) -> None:
        from decisions.accounts import receivers  # noqa: F401 - connects the receivers
