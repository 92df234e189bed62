"""Request ids and client addresses for the audit log."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from decisions.audit.middleware import client_ip


def test_without_trusted_proxies_the_socket_address_is_used():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.5"


@override_settings(ISG_TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_last_forwarded_hop_is_used():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    assert client_ip(request) == "203.0.113.9"


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    response = client.get(reverse("login"))
    assert len(response["X-Request-Id"]) == 32
