"""What the session keeps about a single sign-on: the provider, and the `amr`/`acr` claims.

Its presence means the identity provider checked the person (and their second factor, if the
organisation requires one), so ISG's own MFA step is skipped for this session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import SessionBase

SSO = "isg_sso"


def sso_started(
    session: SessionBase, *, provider_id: int, id_token: str, amr: Any, acr: Any
) -> None:
    # The ID token is kept only as the id_token_hint for the provider's sign-out.
    session[SSO] = {"provider": provider_id, "id_token": id_token, "amr": amr, "acr": acr}


def sso_info(session: SessionBase) -> dict[str, Any] | None:
    value = session.get(SSO)
    return value if isinstance(value, dict) else None


def is_sso_session(session: SessionBase) -> bool:
    return sso_info(session) is not None


def provider_withdrawn(session: SessionBase, user: Any) -> bool:
    """True when this SSO session's provider no longer vouches for the person: switched off,
    removed, moved to another organisation, or its organisation deactivated. Switching a
    provider off is the emergency stop, so its sessions end at their next request (they skip
    ISG's own second factor only while the provider stands behind them)."""
    info = sso_info(session)
    if info is None:
        return False
    from decisions.models import IdentityProvider

    return not IdentityProvider.objects.filter(
        pk=info.get("provider"),
        is_enabled=True,
        organisation_id=user.organisation_id,
        organisation__is_active=True,
    ).exists()
