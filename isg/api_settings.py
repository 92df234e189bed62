"""The API's framework settings (Django REST framework, drf-spectacular): isg/settings.py
calls this. Token authentication only: no session, so no cookie acts through the API and it
needs no CSRF token. JSON only (no browsable API: its page needs inline scripts that the CSP
refuses). decisions/api/ and docs/api.md say the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def api_settings(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(REST_FRAMEWORK, SPECTACULAR_SETTINGS); ISG_API_RATE: calls a token may make."""
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["decisions.api.authentication.ApiTokenAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["decisions.api.authentication.TokenScope"],
        "DEFAULT_THROTTLE_CLASSES": ["decisions.api.authentication.TokenRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"api_token": environ.get("ISG_API_RATE", "120/minute")},
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "DEFAULT_CONTENT_NEGOTIATION_CLASS": "decisions.api.authentication.JsonOnly",
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    }
    SPECTACULAR_SETTINGS = {
        "TITLE": "ISG API for case-management systems",
        "DESCRIPTION": "Start information-sharing decisions for practitioners, and read the "
        "submitted records of your organisation. Authenticate with an organisation API token: "
        "`Authorization: Bearer isg_...`.",
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "SCHEMA_PATH_PREFIX": "/api/v1",
        "COMPONENT_SPLIT_REQUEST": True,
    }
    return REST_FRAMEWORK, SPECTACULAR_SETTINGS
