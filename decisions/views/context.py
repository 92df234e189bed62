"""What every page's menu needs: how many decisions wait for the signed-in lead's review."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from decisions import access, selectors
from decisions.models import Role


def waiting_approvals(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not access.has_role(user, (Role.LEAD,)):
        return {}
    return {"approvals_waiting": selectors.waiting_count(user)}
