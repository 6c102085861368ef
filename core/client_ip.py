"""The client's address, decided in one place for everything that records or counts it:
the history rows (core.history), the login lockout (django-axes,
AXES_CLIENT_IP_CALLABLE) and the API's throttles (core.api.throttling).

`X-Forwarded-For` is read only when the request came straight from a configured proxy
(TRUSTED_PROXIES: addresses or networks of the reverse proxies that connect to the
portal). Each proxy appends the address it was connected from, so with PROXY_COUNT
proxies in front (nginx alone: 1) the client is the PROXY_COUNT-th address from the right;
whatever stands further left was written by the client and is ignored. Any other request,
or one whose header is missing or too short, has the address it connected from
(REMOTE_ADDR). The header is parsed by django-ipware and never kept as sent: only the
address chosen, and the proxy's own, are recorded.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ipware import get_client_ip


@dataclass(frozen=True)
class ClientAddress:
    ip: str | None  # the client, as far as the trusted proxies vouch for it
    via: str = ""  # the proxy that forwarded the request, when `ip` came from its header


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES 中的“{entry}”不是 IP 地址或网段（如 10.0.0.5、172.16.0.0/12）。"
            ) from exc
    return tuple(networks)


def _parse(value) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(str(value or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def trusted_proxy(ip) -> bool:
    return any(
        ip.version == net.version and ip in net
        for net in _networks(tuple(settings.TRUSTED_PROXIES))
    )


def client_address(request) -> ClientAddress:
    """Where `request` (Django's, or DRF's wrapping it) came from."""
    meta = request.META
    peer = _parse(meta.get("REMOTE_ADDR"))
    if peer is None:
        return ClientAddress(None)
    if not trusted_proxy(peer) or settings.PROXY_COUNT < 1:
        return ClientAddress(str(peer))
    forwarded, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=settings.PROXY_COUNT - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    if forwarded is None:
        return ClientAddress(str(peer))
    return ClientAddress(str(forwarded), via=str(peer))


def client_ip(request) -> str | None:
    """The client's address as text (None when the server gave none)."""
    return client_address(request).ip
