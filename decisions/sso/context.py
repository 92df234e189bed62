"""`sso_available` for templates: whether any organisation signs in with its own account.

Lazy, so the query runs only on a page that asks (the sign-in page).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from decisions.models import IdentityProvider


def sso_available(request: HttpRequest) -> dict[str, Any]:
    return {
        "sso_available": SimpleLazyObject(
            lambda: IdentityProvider.objects.filter(
                is_enabled=True, organisation__is_active=True
            ).exists()
        )
    }
