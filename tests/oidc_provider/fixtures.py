"""pytest fixtures: the test identity provider running in a second process, and signing in.

    from tests.oidc_provider import fixtures

    oidc_provider = fixtures.oidc_provider  # the provider, one per test session
    sso_http = fixtures.sso_http  # ISG may reach it over plain HTTP (this machine only)

    @pytest.mark.usefixtures("sso_http")
    def test_something(oidc_provider, org, practitioner):
        oidc_provider.register(org, domains=["example.org"])     # ISG's IdentityProvider row
        oidc_provider.add_user("pat@example.org")                # the person at the provider
        response = oidc_provider.sign_in(Client(), "pat@example.org")  # through ISG's views

`oidc_provider.sign_in_as(client, user, next_url)` does all of it for one ISG user (needs the
`sso_http` fixture too). In a browser: tests/oidc_provider/browser.py (call
`oidc_provider.allow(live_server.url)` first). `oidc_provider.authorize(url, email)` signs in
on the provider's real login page with `requests` and returns the URL it sends the browser
back to (ISG's callback, with the code).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from decisions.models import IdentityProvider, Organisation, User
from decisions.sso import providers

PASSWORD = "provider password 1"  # every provider user's, unless a test says otherwise
CLIENT_SECRET = "isg-test-client-secret"
SECRET_ENV = "ISG_OIDC_SECRET_TEST"
# The clients the provider knows. "-expired" and "-wrong-audience": tests/oidc_provider/hooks.py
CLIENTS = ("isg", "isg-expired", "isg-wrong-audience")
TEST_SERVER = "http://testserver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalProvider:
    url: str
    issuer: str
    environ: dict[str, str]

    def manage(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "tests.oidc_provider.manage", *args],
            cwd=settings.BASE_DIR,
            env=self.environ,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def add_user(self, email: str, password: str = PASSWORD, groups: tuple[str, ...] = ()) -> None:
        """A person who can sign in at the provider (ISG still needs its own account for them)."""
        self.manage("add-user", email, password, *groups)

    def rename_user(self, email: str, new_email: str) -> None:
        """The provider's person keeps their subject (`sub`) and gets a new address; the old
        address is then free to be given to someone else (a new subject) with add_user."""
        self.manage("rename-user", email, new_email)

    def allow(self, base_url: str) -> None:
        """Let every client come back to an ISG at `base_url` (e.g. the live server's)."""
        base = base_url.rstrip("/")
        for client_id in CLIENTS:
            self.manage(
                "add-client",
                client_id,
                CLIENT_SECRET,
                f"{base}/accounts/sso/callback/",
                f"{base}/accounts/login/",
            )

    def register(
        self,
        organisation: Organisation,
        *,
        domains: list[str],
        client_id: str = "isg",
        **fields: Any,
    ) -> IdentityProvider:
        """The organisation's provider in ISG, with endpoints from the real discovery document."""
        found = providers.discover(self.issuer)
        values = {
            "name": "Test identity provider",
            "client_id": client_id,
            "client_secret_env": SECRET_ENV,
            "email_domains": "\n".join(domains),
            **found,
            **fields,
        }
        provider, _ = IdentityProvider.objects.update_or_create(
            organisation=organisation, defaults=values
        )
        return provider

    def authorize(self, authorize_url: str, email: str, password: str = PASSWORD) -> str:
        """Sign in on the provider's login page; the URL it then sends the browser to."""
        browser = requests.Session()
        url = authorize_url
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=20)
            if response.status_code == 200 and "csrfmiddlewaretoken" in response.text:
                token = browser.cookies["provider_csrftoken"]
                response = browser.post(
                    response.url,
                    data={
                        "csrfmiddlewaretoken": token,
                        "username": email,
                        "password": password,
                        "next": parse_qs(urlsplit(response.url).query).get("next", [""])[0],
                    },
                    allow_redirects=False,
                    timeout=20,
                )
            if response.status_code not in (301, 302, 303):
                raise AssertionError(
                    f"The provider answered {response.status_code} at {response.url}"
                )
            url = urljoin(response.url, response.headers["Location"])
            if not url.startswith(self.url):
                return url
        raise AssertionError("The provider never sent the browser back")

    def sign_in_as(self, client: Client, user: User, next_url: str = "") -> Any:
        """The whole set-up in one: `user`'s organisation gets this provider (for the domain
        of their address) unless it has one, the provider gets the person, and they sign in.
        Returns ISG's last response (a redirect to `next_url`, or home)."""
        domain = user.email.rsplit("@", 1)[1]
        if not IdentityProvider.objects.filter(organisation=user.organisation).exists():
            self.register(user.organisation, domains=[domain])
        self.add_user(user.email)
        return self.sign_in(client, user.email, next_url=next_url)

    def sign_in(
        self, client: Client, email: str, password: str = PASSWORD, next_url: str = ""
    ) -> Any:
        """Sign `email` in to ISG with Django's test client, through ISG's real views."""
        response = client.post(reverse("sso_start"), {"email": email, "next": next_url})
        assert response.status_code == 200, response.status_code
        go = response.context["go"]
        response = client.get(go)
        assert response.status_code == 302, response.status_code
        callback = self.authorize(response["Location"], email, password)
        assert callback.startswith(TEST_SERVER), callback
        return client.get(callback.removeprefix(TEST_SERVER))


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[LocalProvider]:
    """django-oidc-provider in a second process on a free port, for the whole test session."""
    with tempfile.TemporaryDirectory(prefix="isg-oidc-provider-") as data:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        environ = {**os.environ, "OIDC_PROVIDER_DIR": data, "OIDC_PROVIDER_URL": url}
        environ.pop("DJANGO_SETTINGS_MODULE", None)
        environ.pop("DATABASE_URL", None)
        provider = LocalProvider(url=url, issuer=f"{url}/openid", environ=environ)
        provider.manage("setup")
        provider.allow(TEST_SERVER)
        log = Path(data) / "server.log"
        with log.open("w") as out:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "tests.oidc_provider.manage", "serve", str(port)],
                cwd=settings.BASE_DIR,
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        previous = os.environ.get(SECRET_ENV)
        try:
            _wait_for(provider, server, log)
            os.environ[SECRET_ENV] = CLIENT_SECRET
            yield provider
        finally:
            server.terminate()
            server.wait(timeout=10)
            if previous is None:
                os.environ.pop(SECRET_ENV, None)
            else:
                os.environ[SECRET_ENV] = previous


def _wait_for(provider: LocalProvider, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"The test identity provider stopped:\n{log.read_text()}")
        try:
            requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"The test identity provider did not start:\n{log.read_text()}")


@pytest.fixture
def sso_http(settings: Any) -> None:
    """ISG may talk plain HTTP to the provider on this machine (never in production)."""
    settings.ISG_SSO_ALLOW_HTTP = True
