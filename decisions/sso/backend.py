"""The authentication backend for an SSO callback: mozilla-django-oidc's, for one provider.

mozilla-django-oidc exchanges the code (with the PKCE verifier), fetches the provider's JWKS,
checks the ID token's signature and nonce, and fetches userinfo. It reads one provider from
settings; here the provider is the one the sign-in was started with
(decisions.sso.views.Callback puts it on the request), and this adds what the library leaves
out: the token's issuer, audience (`aud`/`azp` must be ISG's client id), expiry and time of
issue are checked (PyJWT). The person is found, never created: by the (iss, sub) bound at
their first sign-in, else by email (then bound), in the provider's organisation only. Each
refusal raises SignInRefused with a reason for the audit log; no token or claim is logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from decisions.models import IdentityProvider, User
from decisions.sso import identities, providers, services

SIGNING_ALGORITHM = "RS256"  # what Entra ID, Google and Okta sign ID tokens with
LEEWAY_SECONDS = 60  # clock difference allowed between ISG and the provider


@dataclass
class SignInRefused(Exception):
    """Why a single sign-on was refused (a key of decisions.sso.views.REFUSALS)."""

    reason: str
    detail: str = ""
    email: str = ""
    account: User | None = field(default=None, repr=False)


class OrganisationOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The library reads one provider from settings here; ours is set per request.
        self.UserModel = get_user_model()
        self.provider: IdentityProvider | None = None

    def configure(self, provider: IdentityProvider) -> None:
        self.provider = provider
        self.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = providers.client_secret(provider)
        self.OIDC_RP_SIGN_ALGO = SIGNING_ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        provider = getattr(request, "isg_sso_provider", None) if request is not None else None
        if provider is None:
            return None  # not an SSO callback (a password sign-in asks every backend)
        self.configure(provider)
        try:
            return super().authenticate(request, **kwargs)
        except jwt.ExpiredSignatureError as exc:
            raise SignInRefused("token", "expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise SignInRefused("token", "audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise SignInRefused("token", "issuer") from exc
        except (jwt.InvalidTokenError, SuspiciousOperation) as exc:
            raise SignInRefused("token", type(exc).__name__) from exc
        except (requests.RequestException, ValueError) as exc:
            raise SignInRefused("unavailable", type(exc).__name__) from exc

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        """The signature (as the library does), then issuer, audience and times (it does not)."""
        algorithm = jwt.get_unverified_header(payload).get("alg")
        if algorithm != self.OIDC_RP_SIGN_ALGO:
            raise SignInRefused("token", "algorithm")
        assert self.provider is not None
        claims = jwt.decode(
            payload,
            key,
            algorithms=[algorithm],
            audience=self.OIDC_RP_CLIENT_ID,
            issuer=self.provider.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused("token", "azp")
        return claims

    def store_tokens(self, access_token: str, id_token: str) -> None:
        # Kept in the session only once the person is signed in (views.Callback).
        self.request.isg_sso_id_token = id_token  # type: ignore[attr-defined]

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SignInRefused("token", "userinfo_sub")
        claims = {**userinfo, **payload}  # the signed ID token's claims win
        self.request.isg_sso_claims = {  # type: ignore[attr-defined]
            "amr": claims.get("amr"),
            "acr": claims.get("acr"),
            "auth_time": claims.get("auth_time"),
        }
        assert self.provider is not None
        return self.person(self.provider, claims)

    def person(self, provider: IdentityProvider, claims: dict[str, Any]) -> User:
        """The account bound to the token's (iss, sub); else, at a first sign-in, the one with
        the token's email address, which is then bound to it (decisions.sso.identities)."""
        subject = str(claims["sub"])
        account = identities.bound_account(provider, subject)
        bound = account is not None
        email = account.email if account else self.email_of(provider, claims)
        if account is None:
            account = (
                User.objects.filter(email__iexact=email).select_related("organisation").first()
            )
        if account is None:
            raise SignInRefused("unknown", email=email)
        if account.organisation_id != provider.organisation_id:
            raise SignInRefused("other_organisation", email=email, account=account)
        if not account.is_active:
            raise SignInRefused("inactive", email=email, account=account)
        if not bound:
            try:
                identities.identity_bind(provider=provider, user=account, subject=subject)
            except identities.BoundToAnother as exc:
                raise SignInRefused("bound_to_another", "subject", email, account) from exc
        role = providers.mapped_role(provider, claims)
        if role:
            services.sso_role_apply(provider=provider, user=account, role=role)
        return account

    def email_of(self, provider: IdentityProvider, claims: dict[str, Any]) -> str:
        """The verified address the provider gives, at a domain it serves."""
        email = str(claims.get("email") or "").strip().lower()
        if not email:
            raise SignInRefused("no_email")
        if claims.get("email_verified") is False:
            raise SignInRefused("unverified_email", email=email)
        if email.rsplit("@", 1)[-1] not in provider.domains:
            raise SignInRefused("domain", email=email)
        return email

    def get_user(self, user_id: int) -> User | None:
        return self.UserModel.objects.filter(pk=user_id, is_active=True).first()
