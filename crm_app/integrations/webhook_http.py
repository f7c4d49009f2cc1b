"""The async HTTP client outgoing webhooks are sent with, under the outbound-URL policy.

One pooled `httpx.AsyncClient` per drain job: the transport resolves each request's host, checks every address
against `outbound_urls` (loopback, private, link-local and metadata refused unless the install allows them) and
connects to the checked address itself, keeping the Host header and TLS SNI for the name. Connections are pooled
per checked address, so a name that moves (DNS rebinding) gets a new, checked connection. Redirects are never
followed (a 3xx is a failed attempt); at most `BODY_CAP` bytes of an answer are read, undecoded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass

import httpx

from crm_app.integrations import outbound_urls

BODY_CAP = 4096


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (None when no answer), the start of the body, Retry-After, and timing."""

    status: int | None
    body: str
    retry_after: str | None
    duration_ms: int
    error: str | None = None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AsyncPinnedTransport(httpx.AsyncBaseTransport):
    """Resolve, check, then connect to the checked address (see the module's docstring)."""

    def __init__(self, *, max_connections: int = 200) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._inner = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` to a checked address of its host (AddressRefused when there is none)."""
        url = request.url
        host = url.raw_host.decode("ascii")
        if url.scheme not in outbound_urls.allowed_schemes():
            raise outbound_urls.AddressRefused(f"scheme {url.scheme} refused", request=request)
        port = url.port or outbound_urls.DEFAULT_PORTS[url.scheme]
        try:
            if _is_ip(host):
                addresses = outbound_urls.checked_addresses(host, port)
            else:
                addresses = await asyncio.to_thread(outbound_urls.checked_addresses, host, port)
        except outbound_urls.UrlNotAllowed:
            raise outbound_urls.AddressRefused(f"{host} refused", request=request) from None
        request.headers["Accept-Encoding"] = "identity"
        request.extensions = {**request.extensions, "sni_hostname": host}
        request.url = url.copy_with(host=addresses[0])
        try:
            return await self._inner.handle_async_request(request)
        finally:
            request.url = url

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._inner.aclose()


def client(max_connections: int = 200) -> httpx.AsyncClient:
    """A pooled client bound to the policy: pinned transport, no redirects, no proxies from the environment."""
    return httpx.AsyncClient(transport=AsyncPinnedTransport(max_connections=max_connections), follow_redirects=False,
                             trust_env=False, timeout=httpx.Timeout(30, connect=outbound_urls.CONNECT_TIMEOUT))


async def post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` once, within `timeout` seconds in all; never raises for a network failure."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with http.stream("POST", url, content=body, headers=headers,
                                   timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0))) as response:
                chunks, seen = [], 0
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    seen += len(chunk)
                    if seen >= BODY_CAP:
                        break
                text = b"".join(chunks)[:BODY_CAP].decode("utf-8", "replace")
                return Answer(response.status_code, text, response.headers.get("retry-after"), _ms(started))
    except TimeoutError:
        return Answer(None, "", None, _ms(started), "timeout")
    except outbound_urls.AddressRefused:
        return Answer(None, "", None, _ms(started), "address refused by the outbound URL policy")
    except httpx.HTTPError as exc:
        return Answer(None, "", None, _ms(started), f"no answer ({type(exc).__name__})")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
