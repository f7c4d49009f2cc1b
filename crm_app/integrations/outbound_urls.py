"""The one policy for URLs a tenant configures and our servers then call (SSRF guard).

Who uses it: single sign-on (the issuer, the endpoints its discovery document names, the JWKS and the code
exchange: `integrations/oidc.py`, checked when saved in `services/access/sso.py`) and the AI base URL
(`integrations/openai_client.py`, checked when saved as the setting `ai.base_url`, services/settings/catalog.py).
Outgoing webhooks and alert channels must reuse it when they land: call `check_url` when the tenant saves the
URL (it gives the form a message it can show), and send only through `client()` or `get_json()`, never through a bare
`httpx.Client`, so that every rule below holds at the moment of each request and not only when saved.

The rules, and why:
- Production accepts https only: what we send there (client secrets, API keys, customer text) never
  travels in clear.
- No loopback, private, link-local (cloud metadata lives at 169.254.169.254), shared or reserved address,
  unless the install's setting `system.allow_private_outbound_urls` allows them (its default,
  `ALLOW_PRIVATE_OUTBOUND_URLS`, does outside production: the sandbox's fakes listen on 127.0.0.1). The
  settings package hands its reader over with `use_private_policy` when it loads (integrations import no
  service); until then private addresses are refused. Unspecified (0.0.0.0, ::), multicast and the
  metadata addresses are never allowed. IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4,
  NAT64) are judged by it.
- The address checked is the address connected to: the transport resolves the name once, checks every
  address it got, and connects to that address itself, with the Host header and TLS SNI (so the
  certificate check too) still naming the host. A name that resolves to a public address when saved and to
  127.0.0.1 when used (DNS rebinding) is refused at use. Connections are never kept for a second request.
- Redirects are never followed (a public URL could redirect inward); connect and read timeouts; answers
  are cut off past a size cap, and compressed answers are refused (a small gzip can inflate enormously).
- Every failure to reach or read the URL, the refusals above included, reads the same (`GENERIC_ERROR`): a
  tenant admin must not tell a closed port from a non-HTTP service or an HTTP error ("test" buttons would
  port-scan our network otherwise). The detail goes to the log only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from crm_app.config import Environment, get_settings
from crm_app.integrations.deadlines import Deadline
from crm_app.integrations.errors import ExternalServiceError

log = logging.getLogger(__name__)

GENERIC_ERROR = "the address could not be reached or did not answer as expected"
REFUSED_ADDRESS = "the address is not allowed: use a public address"
DEFAULT_TIMEOUT = 8.0
CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 1024 * 1024
MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}
# Refused even where private addresses are allowed (development, staging in a cloud): the clouds' instance
# metadata and credential services (all of link-local IPv4, AWS's IPv6 one, Alibaba's, Azure's host endpoint,
# which `ipaddress` calls global), and ranges Python 3.11 calls global although they are not reachable
# publicly (site-local, local-use NAT64).
METADATA_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "169.254.0.0/16", "fd00:ec2::/32", "100.100.100.200/32", "168.63.129.16/32", "fe80::/10", "fec0::/10",
    "64:ff9b:1::/48"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlNotAllowed(ValueError):
    """The URL breaks the policy (scheme, shape or address). The message is safe to show the tenant's admin."""


class AddressRefused(httpx.ConnectError):
    """The host resolved to an address the policy refuses; raised where the connection would have been made,
    so that callers see it exactly as an unreachable host."""


class ResponseTooLarge(httpx.ReadError):
    """The answer went past the size cap (or came compressed); reading stopped there."""


class OutboundError(ExternalServiceError):
    """A call to a tenant-configured URL failed. The message is always `GENERIC_ERROR`."""

    def __init__(self) -> None:
        super().__init__(GENERIC_ERROR, retryable=True)


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves `host` to, in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_resolver: Resolver = system_resolver


@contextmanager
def use_resolver(resolver: Resolver) -> Iterator[None]:
    """Resolve names with `resolver` inside the block (tests play DNS with it, e.g. a rebinding name)."""
    global _resolver
    previous, _resolver = _resolver, resolver
    try:
        yield
    finally:
        _resolver = previous


_private_policy: Callable[[], bool] | None = None


def use_private_policy(policy: Callable[[], bool]) -> None:
    """Where `private_allowed` reads the install's choice (`crm_app.services.settings` sets it when it loads)."""
    global _private_policy
    _private_policy = policy


def private_allowed() -> bool:
    """Whether loopback, private and link-local addresses may be called (the setting
    `system.allow_private_outbound_urls`); no when no policy was handed over (fail closed)."""
    return bool(_private_policy()) if _private_policy is not None else False


def allowed_schemes() -> tuple[str, ...]:
    """https only in production; http too elsewhere (the sandbox speaks plain http)."""
    return ("https",) if get_settings().env == Environment.PRODUCTION else ("https", "http")


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, 6to4, NAT64), if any."""
    if ip.version == 4:
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if int(ip) >> 32 == 0 or ip in _NAT64:  # ::a.b.c.d (deprecated) and 64:ff9b::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_allowed(address: str) -> bool:
    """Whether the policy lets us connect to `address` (an IP literal; anything else is refused)."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    ip = _embedded_ipv4(ip) or ip
    if ip.is_unspecified or ip.is_multicast or any(ip in net for net in METADATA_NETWORKS):
        return False
    return ip.is_global or private_allowed()


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve `host` once; every address must be allowed. Raises UrlNotAllowed (no reason given)."""
    try:
        addresses = _resolver(host, port)
    except (OSError, UnicodeError) as exc:
        log.info("outbound URL: %s did not resolve (%s)", host, type(exc).__name__)
        raise UrlNotAllowed(REFUSED_ADDRESS) from None
    if not addresses or not all(address_allowed(a) for a in addresses):
        log.info("outbound URL: %s resolves to a refused address", host)
        raise UrlNotAllowed(REFUSED_ADDRESS)
    return addresses


def check_url(url: str) -> str:
    """A URL a tenant wants us to call, stripped, once it passes the policy (its host resolved now).

    Call it when the URL is saved; the transport checks again at every request (the name may move).

    Raises:
        UrlNotAllowed: With a message for the form: the scheme, the shape, or a refused address.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in allowed_schemes():
        raise UrlNotAllowed("the address must start with " + " or ".join(f"{s}://" for s in allowed_schemes()))
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise UrlNotAllowed("the port is not valid") from None
    if not parts.hostname or parts.username is not None or parts.fragment or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed("the address must name a host, without a user, password or #fragment")
    checked_addresses(parts.hostname, port)
    return url


class PinnedTransport(httpx.BaseTransport):
    """Checks the scheme, resolves and checks the host, then connects to the checked address itself.

    The request keeps its Host header, and TLS its SNI and certificate check, for the name. Each address is
    tried in turn while the connection itself fails. The answer is capped at `max_bytes`.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0), trust_env=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` to a checked address of its host (AddressRefused when there is none)."""
        url = request.url
        host = url.raw_host.decode("ascii")
        if url.scheme not in allowed_schemes():
            raise AddressRefused(f"scheme {url.scheme} refused", request=request)
        try:
            addresses = checked_addresses(host, url.port or DEFAULT_PORTS[url.scheme])
        except UrlNotAllowed:
            raise AddressRefused(f"{host} refused", request=request) from None
        request.headers["Accept-Encoding"] = "identity"
        request.extensions = {**request.extensions, "sni_hostname": host}
        try:
            return self._send_to_first(request, url, addresses)
        finally:
            request.url = url

    def _send_to_first(self, request: httpx.Request, url: httpx.URL, addresses: list[str]) -> httpx.Response:
        for address in addresses[:-1]:
            try:
                return self._send(request, url, address)
            except httpx.ConnectError:
                continue
        return self._send(request, url, addresses[-1])

    def _send(self, request: httpx.Request, url: httpx.URL, address: str) -> httpx.Response:
        request.url = url.copy_with(host=address)
        response = self._inner.handle_request(request)
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            response.close()
            raise ResponseTooLarge("a compressed answer was refused", request=request)
        response.stream = _CappedStream(response.stream, self._max_bytes, request)
        return response

    def close(self) -> None:
        """Close the inner transport."""
        self._inner.close()


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, max_bytes: int, request: httpx.Request) -> None:
        self._stream, self._max_bytes, self._request = stream, max_bytes, request

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._stream:
            seen += len(chunk)
            if seen > self._max_bytes:
                raise ResponseTooLarge(f"the answer is over {self._max_bytes} bytes", request=self._request)
            yield chunk

    def close(self) -> None:
        self._stream.close()


def client(*, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES, **kwargs: Any) -> httpx.Client:
    """An httpx client bound to the policy: pinned transport, no redirects, no proxies from the environment.

    Args:
        timeout: Seconds for the whole of each phase (connect at most `CONNECT_TIMEOUT`).
        max_bytes: The largest answer read.
        **kwargs: Other `httpx.Client` arguments (headers, auth); never `transport` or `follow_redirects`.
    """
    return httpx.Client(transport=PinnedTransport(max_bytes=max_bytes), follow_redirects=False, trust_env=False,
                        timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)), **kwargs)


def request(method: str, url: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
            **kwargs: Any) -> httpx.Response:
    """One call through the policy, its answer read; `timeout` bounds the whole call, not each read.

    A server that sends a byte every few seconds never trips a read timeout; without a total bound, a URL a
    tenant configured (some are called on unauthenticated pages, such as SSO start) could hold a thread for as
    long as it liked. Raises `httpx.HTTPError` as httpx does (a cut call ends as a closed connection).
    """
    with Deadline(timeout) as deadline, client(timeout=timeout, max_bytes=max_bytes,
                                               event_hooks={"request": [deadline.watch]}) as http:
        try:
            return http.request(method, url, **kwargs)
        except httpx.HTTPError:
            if deadline.expired:
                log.info("outbound %s cut at its %.0f s deadline", method, timeout)
            raise


def get_json(url: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """GET a JSON object through the policy, in at most `timeout` seconds in all.

    Raises:
        OutboundError: For every failure (refused, unreachable, not 200, too large, not a JSON object, too
            slow), all with the same message; the log says which.
    """
    try:
        response = request("GET", url, timeout=timeout, max_bytes=max_bytes, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        log.info("outbound GET failed: %s", type(exc).__name__)
        raise OutboundError() from None
    try:
        body = json.loads(response.content) if response.status_code == 200 else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.info("outbound GET answered HTTP %s without a JSON object", response.status_code)
        raise OutboundError()
    return body
