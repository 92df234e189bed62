"""Where a webhook may be sent: its host's addresses, each one public, and a connection made
to the address that was checked.

A host name is resolved when the webhook is saved and again at each delivery: a name that
pointed at a public address when it was saved can later point inside the network (DNS
rebinding), so the check at send time is the one that counts, and the connection goes to the
address it checked rather than resolving the name a second time. Every address the name
resolves to must be global (`ipaddress.is_global`, not multicast); loopback is allowed only
with ISG_WEBHOOKS_ALLOW_LOCAL_HTTP (tests and `make run`; off in production).

Why not requests-hardened, which pins the connection the same way: it filters with
`is_private` and its own list, and checks only the first address; ISG needs the same
`is_global` rule at save time as at send time, so the rule and the pinning are here
(the adapter follows requests' documented `build_connection_pool_key_attributes` hook).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class InternalAddress(requests.RequestException):
    """The host resolves to an address inside the network (or none at all, at send time)."""


# IPv6 ranges that carry an IPv4 address inside them (NAT64, IPv4-compatible), which some
# Python versions call global whatever the IPv4 address; and the old site-local range.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPATIBLE = ipaddress.ip_network("::/96")
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is public by design)
    if any(address in network for network in _NAT64) or (
        address in _COMPATIBLE and int(address) > 1
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def permitted(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL:
            return False
        if (inner := _embedded_ipv4(address)) is not None:
            address = inner
    if address.is_loopback:
        return bool(settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP)
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal is itself); raises socket.gaierror."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def checked_address(host: str, port: int) -> Address:
    """The address to connect to: the first of the host's, once every one is permitted."""
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise InternalAddress("the host name does not resolve") from exc
    if not addresses or not all(permitted(a) for a in addresses):
        raise InternalAddress("the host resolves to an address inside the network")
    return addresses[0]


def internal_at_save(host: str, port: int) -> bool:
    """True when the host resolves, now, to any address that is not permitted. A name that
    does not resolve yet is let through here (the case system's DNS may come later): the
    check at each delivery refuses it until it resolves to public addresses."""
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError):
        return False
    return not all(permitted(a) for a in addresses)


class CheckedAddressAdapter(HTTPAdapter):
    """Connects to the address checked for this request; TLS is still verified against the
    host name in the URL (SNI and certificate), and the Host header keeps the name."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host, port = host_params["host"], host_params["port"]
        scheme = host_params["scheme"]
        default = 443 if scheme == "https" else 80
        address = checked_address(host, port or default)
        request.headers["Host"] = (f"[{host}]" if ":" in host else host) + (
            f":{port}" if port else ""
        )
        if scheme == "https":
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        return host_params, pool_kwargs


def session() -> requests.Session:
    """A requests session whose every connection goes only to a checked, permitted address."""
    checked = requests.Session()
    checked.trust_env = False  # no proxy from the environment: the connection is the check
    adapter = CheckedAddressAdapter(max_retries=0)
    checked.mount("https://", adapter)
    checked.mount("http://", adapter)
    return checked
