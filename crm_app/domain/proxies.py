"""Who is really on the other end of a request: the client's address and scheme behind trusted reverse proxies.

A reverse proxy (a load balancer, nginx, a CDN) connects to us itself: without help we would see its address
for every customer and its plain http for every https visit. It says who it serves in `X-Forwarded-For` (each
proxy appends the address it got the request from) and `X-Forwarded-Proto`. Anyone can send those headers,
so they are believed only from a peer in the operator's `TRUSTED_PROXIES`, and then only as far as the chain of
trusted proxies goes: the client is the right-most address that is not itself a trusted proxy. Whatever a
client wrote to the left of that is its own claim, and ignored. Pure: the trusted networks are passed in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}  # forwarded proto -> (http scheme, websocket scheme)


@dataclass(frozen=True)
class Client:
    """The client as we should treat it: its address (None when unknown) and the scheme it used."""

    ip: str | None
    scheme: str


def parse_networks(text: str) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES`: comma-separated CIDRs or single addresses ("10.0.0.0/8, 192.0.2.7").

    Raises:
        ValueError: An entry is neither, naming it.
    """
    networks = []
    for entry in (part.strip() for part in (text or "").split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR") from None
    return tuple(networks)


def client_of(peer: str | None, scheme: str, headers: Iterable[tuple[str, str]],
              trusted: Sequence[Network]) -> Client:
    """The client of a request that arrived from `peer` over `scheme`, with these headers.

    Args:
        peer: The address of the immediate peer (the TCP connection), if known.
        scheme: The scheme as received: "http"/"https", or "ws"/"wss" for a websocket.
        headers: The request's headers as (lower-case name, value) pairs, repeated names included.
        trusted: The networks whose proxies are believed.

    Returns:
        The peer and scheme as they are, unless the peer is a trusted proxy: then the right-most forwarded
        address that is not a trusted proxy, and the scheme its proxy reports.
    """
    if not _in(peer, trusted):
        return Client(peer, scheme)
    forwarded_for = [a.strip() for n, v in headers if n == "x-forwarded-for" for a in v.split(",") if a.strip()]
    protos = [p.strip().lower() for n, v in headers if n == "x-forwarded-proto" for p in v.split(",") if p.strip()]
    return Client(_right_most_untrusted(peer, forwarded_for, trusted), _forwarded_scheme(scheme, protos))


def _right_most_untrusted(peer: str | None, forwarded_for: list[str], trusted: Sequence[Network]) -> str | None:
    """Walk the chain from our side: stop at the first address that is not a trusted proxy (or not an address)."""
    client = peer
    for entry in reversed(forwarded_for):
        address = _address(entry)
        if address is None:
            break  # a garbled chain: keep the last hop we could read
        client = str(address)
        if not any(address in network for network in trusted):
            break
    return client


def _forwarded_scheme(scheme: str, protos: list[str]) -> str:
    """The right-most `X-Forwarded-Proto` (what the trusted proxy itself reports), in our scheme's family."""
    if not protos or protos[-1] not in SCHEMES:
        return scheme
    http, websocket = SCHEMES[protos[-1]]
    return websocket if scheme in ("ws", "wss") else http


def _in(peer: str | None, trusted: Sequence[Network]) -> bool:
    address = _address(peer) if peer else None
    return address is not None and any(address in network for network in trusted)


def _address(text: str) -> Address | None:
    """An address from a header or the socket; `[v6]:port` and `v4:port` forms lose their port."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address
