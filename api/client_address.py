"""The address a request came from, for per-address limits.

`REMOTE_ADDR` is the peer that connected to us. Behind a proxy (nginx, `make serve`) that is the
proxy, and the client is in `X-Forwarded-For`, but anyone can send that header: it is read only when
the peer is one of `TRUSTED_PROXIES` (addresses or networks; `unix` is a peer on a Unix socket, which
gunicorn reports with an empty REMOTE_ADDR). The header is then read from the right, skipping our
own proxies, so a client cannot pick its address by prepending one.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

UNIX_SOCKET = "unix"


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or UNIX_SOCKET
    if not _is_trusted(peer):
        return peer
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _is_trusted(hop):
            return hop
    return forwarded[0] if forwarded else peer


def _is_trusted(address: str) -> bool:
    networks, unix = _trusted(tuple(settings.TRUSTED_PROXIES))
    if address == UNIX_SOCKET:
        return unix
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[tuple, bool]:
    networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries if entry != UNIX_SOCKET)
    return networks, UNIX_SOCKET in entries
