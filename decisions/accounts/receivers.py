"""Signing in starts the session's clocks (idle, absolute, last password entry)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from decisions.accounts import sessions


@receiver(user_logged_in)
def start_session_clocks(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.session_started(request.session)
