"""Helpers for the API tests (tests/test_api*.py, tests/test_webhooks*.py): tokens, a client
that calls with one, and a real local HTTP receiver for webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.test import Client

from decisions.api import tokens
from decisions.guidance.store import pack_load_files
from decisions.models import ApiScope, Organisation, Role
from tests.factories import UserFactory

BOTH = [ApiScope.START_DECISIONS, ApiScope.READ_RECORDS]


def load_packs() -> None:
    """For transactional tests: an earlier one's flush may have emptied the packs' table."""
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))


def token_secret(org: Organisation, scopes: list[str] | None = None, name: str = "Mosaic") -> str:
    admin = UserFactory(organisation=org, role=Role.ADMIN, email=f"tokens@{org.slug}.example")
    new = tokens.token_create(actor=admin, organisation=org, name=name, scopes=list(scopes or BOTH))
    return new.secret


def api_client(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def signature_ok(self, secret: str) -> bool:
        timestamp = self.headers["X-ISG-Timestamp"]
        expected = hmac.new(
            secret.encode(), timestamp.encode() + b"." + self.body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(self.headers["X-ISG-Signature"], f"sha256={expected}")

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A case system's webhook endpoint: a real HTTP server on a free local port. It answers
    with `statuses` in turn (then 200) and keeps what it received."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/isg-events"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(Received(dict(self.headers), self.rfile.read(length)))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
