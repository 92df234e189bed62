"""Who is calling the API: an organisation's token (`Authorization: Bearer isg_...`), never a
signed-in session (no SessionAuthentication, so no cookie can act through the API and the
API needs no CSRF token). What it may do: the view's scope. How often: per token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from decisions.api import tokens
from decisions.models import ApiToken


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        token = tokens.token_for(parts[1].decode("latin-1"))
        if token is None:
            raise AuthenticationFailed("Unknown or revoked API token.")
        # No person: the token acts for its organisation (request.user is anonymous).
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="isg"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An ISG API token (isg_...)"}


class TokenScope(BasePermission):
    """A token (else 401), with the view's `required_scope` if it names one (else 403)."""

    message = "This token does not have the scope this call needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False  # DRF answers 401 when no authenticator succeeded
        scope = getattr(view, "required_scope", None)
        return scope is None or token.has_scope(scope)


class TokenRateThrottle(SimpleRateThrottle):
    """ISG_API_RATE calls per token (a runaway case system slows only itself)."""

    scope = "api_token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class JsonOnly(BaseContentNegotiation):
    """Always JSON (errors too); the PDF call returns its bytes itself. No 406 for an Accept."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        content_type = request.content_type.split(";")[0].strip().lower()
        return next((p for p in parsers if p.media_type == content_type), None)

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type
