"""Webhook targets: a host name is resolved at save and again at each delivery, every address
must be global, and the connection goes to the address that was checked (DNS rebinding).

The name server is the one fault injected here (socket.getaddrinfo answers for the test's
names, IP literals go to the real resolver); deliveries go to a real receiver on this machine.
"""

from __future__ import annotations

import socket

import pytest
import requests
from django.urls import reverse

from decisions.api import destinations, webhooks
from decisions.models import DeliveryStatus, Webhook, WebhookDelivery
from tests.api_helpers import Receiver
from tests.conftest import client_for
from tests.factories import answered_decision

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"
NAME = "cases.example.org"


class FakeDNS:
    """Answers for the test's names (changeable between calls); counts the questions."""

    def __init__(self, monkeypatch, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): a for name, a in answers.items()}
        self.asked: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            self.asked.append(host)
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port, 0, 0) if ":" in a else (a, port),
                )
                for a in self.answers[host]
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_local(settings):
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = False  # as in production
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


INTERNAL = [
    "127.0.0.1",  # loopback
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local (cloud metadata)
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",  # noqa: S104 - unspecified: the address under test
    "240.0.0.1",  # reserved
    "224.0.0.1",  # multicast
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:10.0.0.1",  # IPv4-mapped private
    # IPv6 forms that carry an internal IPv4 address, which Python 3.11 calls global:
    "64:ff9b::a9fe:a9fe",  # NAT64 to the cloud metadata address
    "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "fec0::1",  # site-local (deprecated, still routed inside some networks)
]


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])
def test_public_addresses_are_permitted(address, no_local):
    import ipaddress

    assert destinations.permitted(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", INTERNAL)
def test_a_name_resolving_inside_the_network_is_refused_at_save(
    org, admin_user, no_local, monkeypatch, address
):
    FakeDNS(monkeypatch, cases_example_org=[address])
    with pytest.raises(webhooks.WebhookRefused, match="not an address inside this network"):
        webhooks.webhook_add(actor=admin_user, organisation=org, url=f"https://{NAME}/h")
    assert not Webhook.objects.exists()


def test_one_internal_address_among_public_ones_is_enough_to_refuse(
    org, admin_user, no_local, monkeypatch
):
    FakeDNS(monkeypatch, cases_example_org=[PUBLIC, "10.0.0.7"])
    response = client_for(admin_user).post(
        reverse("api_admin_webhook_add", args=[org.slug]), {"url": f"https://{NAME}/h"}
    )
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert "not an address inside this network" in response.content.decode()


def test_a_name_resolving_to_public_addresses_is_saved(org, admin_user, no_local, monkeypatch):
    FakeDNS(monkeypatch, cases_example_org=[PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    webhook = webhooks.webhook_add(actor=admin_user, organisation=org, url=f"https://{NAME}/h")
    assert webhook.url == f"https://{NAME}/h"


def test_a_name_that_rebinds_inside_the_network_after_saving_is_not_sent_to(
    org, admin_user, practitioner, no_local, monkeypatch, receiver
):
    port = receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, cases_example_org=[PUBLIC])
    webhooks.webhook_add(actor=admin_user, organisation=org, url=f"https://{NAME}:{port}/h")
    dns.answers[NAME] = ["127.0.0.1"]  # the receiver's address: rebinding to this machine
    answered_decision(practitioner, "can_share", submit=True)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert (delivery.last_error, delivery.response_code) == ("InternalAddress", None)
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_without_resolving_again(
    org, admin_user, practitioner, settings, monkeypatch, receiver
):
    """A name only the fake DNS knows: the receiver gets the delivery, under its name, and
    the name was asked once (by the check); the connection used the address it gave."""
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    port = receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, receiver_test=["127.0.0.1"])
    Webhook.objects.create(
        organisation=org,
        url=f"http://receiver.test:{port}/h",
        secret="whsec_x",
        created_by=admin_user,
    )
    answered_decision(practitioner, "can_share", submit=True)
    assert webhooks.deliver(WebhookDelivery.objects.get().pk) == DeliveryStatus.DELIVERED
    (received,) = receiver.received
    assert received.headers["Host"] == f"receiver.test:{port}"
    assert dns.asked == ["receiver.test"]


def test_loopback_is_refused_at_send_once_it_is_no_longer_allowed(
    org, admin_user, practitioner, settings, receiver
):
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    webhooks.webhook_add(actor=admin_user, organisation=org, url=receiver.url)
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    answered_decision(practitioner, "can_share", submit=True)
    assert webhooks.deliver(WebhookDelivery.objects.get().pk) == DeliveryStatus.PENDING
    assert receiver.received == []


def test_a_name_that_does_not_resolve_is_refused_at_send(monkeypatch, no_local):
    with pytest.raises(destinations.InternalAddress, match="does not resolve"):
        destinations.checked_address("no-such-host.invalid", 443)


def test_loopback_is_allowed_only_by_the_explicit_setting(settings):
    import ipaddress

    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    assert not destinations.permitted(ipaddress.ip_address("127.0.0.1"))
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    assert destinations.permitted(ipaddress.ip_address("127.0.0.1"))
    assert not destinations.permitted(ipaddress.ip_address("10.0.0.1"))  # never private


# ---- https: the checked address, with TLS verified against the name in the URL ------------


def certificate_for(name: str, directory) -> tuple[str, str]:
    """A self-signed certificate for `name` and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_receiver(tmp_path):
    """The receiver over TLS, with a certificate for receiver.test only."""
    import ssl

    receiver = Receiver().start()
    cert, key = certificate_for("receiver.test", tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.certificate = cert
    yield receiver
    receiver.stop()


def test_https_goes_to_the_checked_address_and_checks_the_certificate_against_the_name(
    settings, monkeypatch, tls_receiver
):
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    port = tls_receiver.server.server_address[1]
    dns = FakeDNS(monkeypatch, receiver_test=["127.0.0.1"], other_test=["127.0.0.1"])
    with destinations.session() as checked:
        response = checked.post(
            f"https://receiver.test:{port}/h", data=b"{}", verify=tls_receiver.certificate
        )
        assert response.status_code == 200
        assert tls_receiver.received[0].headers["Host"] == f"receiver.test:{port}"
        # The same address under a name the certificate does not carry: refused by TLS.
        with pytest.raises(requests.exceptions.SSLError):
            checked.post(
                f"https://other.test:{port}/h", data=b"{}", verify=tls_receiver.certificate
            )
    assert dns.asked == ["receiver.test", "other.test"]
    assert len(tls_receiver.received) == 1


def test_production_settings_leave_loopback_off():
    """Only DEBUG (make run) or the variable itself switches it on; the tests do it explicitly."""
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "isg.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["False"], result.stderr
