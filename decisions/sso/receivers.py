"""An SSO session's end is an audit event, whatever ended it (the sign-out button, a timeout)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from decisions.models import IdentityProvider
from decisions.sso import services
from decisions.sso.session import sso_info


@receiver(user_logged_out)
def sso_signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    info = sso_info(request.session) if request is not None else None
    if user is None or info is None:
        return
    services.sso_signed_out(
        user=user,
        provider=IdentityProvider.objects.filter(pk=info.get("provider")).first(),
        end_session_offered=bool(getattr(request, "isg_sso_end_session", False)),
    )
