"""Which address a request really comes from (CONTRACT §9 `BIDSERVER_TRUSTED_PROXIES`).

Behind a load balancer every TCP peer is the balancer, so rate limits and logs need the
client named in `X-Forwarded-For`. That header is only as honest as whoever wrote it: a
client can send any list it likes, and each proxy appends the address it received the
request from. So the header counts only when the TCP peer is a listed proxy, and it is read
from the right: each hop written by a trusted proxy is skipped, and the first address that
is not a trusted proxy is the client. Anything the client wrote further left is ignored.

When a hop is not an address at all (a proxy that forwards garbage it was sent), the last
trusted hop is used rather than the garbage, so junk cannot mint a fresh rate-limit key per
request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128); ValueError names the bad one."""
    networks = []
    for item in value.split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not a network: {text!r}") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    text = text.strip()
    if text.startswith("["):
        text, closed, _port = text[1:].partition("]")
        if not closed:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: tuple[Network, ...]
) -> str | None:
    """The client's address: the peer itself unless it is a trusted proxy (see the module)."""
    if not proxies or peer is None:
        return peer
    nearest = parse_address(peer)
    if nearest is None or not _trusted(nearest, proxies):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break
        if not _trusted(address, proxies):
            return str(address)
        nearest = address
    return str(nearest)
