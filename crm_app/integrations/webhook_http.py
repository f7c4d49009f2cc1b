"""The HTTP client outgoing webhooks are sent with, under the outbound-URL policy.

One client per drain job: each request's host is resolved, every address checked against `outbound_urls`
(loopback, private, link-local and metadata refused unless the install allows them), and the connection made to
the checked address itself, with the Host header and TLS SNI for the name. Connections are kept alive per checked
address, so a name that moves (DNS rebinding) gets a new, checked connection. Redirects are never followed (a 3xx
is a failed attempt); at most `BODY_CAP` bytes of an answer are read, undecoded.

HTTP/1.1 is spoken with h11 (the state machine httpx itself uses) on asyncio streams, not through httpx: httpx
and its connection pool cost about 1.3 ms of CPU per request here, and one pool slowed down as it grew (against
a bare receiver answering 7,800 requests/s: 744 requests/s over 1 connection, 335 over 10, 100 over 50), which
kept the relay under its target. A webhook POST needs none of httpx's features (no redirects, proxies,
cookies, compression or HTTP/2), and this keeps every rule the old transport had.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import h11

from crm_app.integrations import outbound_urls

BODY_CAP = 4096
READ_CHUNK = 65536
IDLE_PER_ADDRESS = 100  # keep-alive connections kept per checked address
DNS_TTL = 5.0  # seconds a name's checked addresses serve a client (one lookup per batch, not per request)
# Name lookups get their own threads: a hung resolver must not hold the threads the drain's database work runs on.
_DNS_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


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


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's store, TLS 1.2 at least."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _Connection:
    """One keep-alive connection: an h11 state machine over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(our_role=h11.CLIENT)

    def usable(self) -> bool:
        """Idle, still open, and silent since its last answer (a server that closed it left EOF in the reader; one
        that wrote something unasked, such as a 408, left bytes that would pass for the next answer)."""
        unread = getattr(self.reader, "_buffer", b"")  # asyncio keeps what arrived and was not read yet here
        return not self.writer.is_closing() and not self.reader.at_eof() and not unread

    async def exchange(self, target: str, headers: list[tuple[str, str]], body: bytes
                       ) -> tuple[int, str, str | None, bool]:
        """POST once; returns the status, the body's start, Retry-After, and whether the connection is reusable."""
        conn = self.h11
        self.writer.write(conn.send(h11.Request(method="POST", target=target, headers=headers))
                          + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        await self.writer.drain()
        status, retry_after, chunks, seen = None, None, [], 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self.reader.read(READ_CHUNK))
            elif isinstance(event, h11.Response):
                status = event.status_code
                retry_after = next((v.decode("latin-1") for k, v in event.headers if k == b"retry-after"), None)
            elif isinstance(event, h11.Data):
                chunks.append(event.data)
                seen += len(event.data)
                if seen >= BODY_CAP:  # the rest is not read: this connection cannot be reused
                    return status, _text(chunks), retry_after, False
            elif isinstance(event, h11.EndOfMessage):
                reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE
                if reusable:
                    conn.start_next_cycle()
                    reusable = not conn.trailing_data[0]  # bytes after the answer: not ours to read
                return status, _text(chunks), retry_after, reusable
            elif isinstance(event, h11.InformationalResponse) and event.status_code != 101:
                continue  # 100 Continue and the like: the answer follows
            else:  # ConnectionClosed, a protocol switch (101, PAUSED) or anything else: no answer we can use
                raise h11.RemoteProtocolError(f"no usable answer ({type(event).__name__})")

    def close(self) -> None:
        self.writer.close()


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks)[:BODY_CAP].decode("utf-8", "replace")


class Client:
    """Keep-alive connections per checked address; use as `async with client() as http`."""

    def __init__(self, max_connections: int = 200) -> None:
        self._idle: dict[tuple[str, str, int, str], list[_Connection]] = {}
        self.slots = asyncio.Semaphore(max_connections)  # held by `post` around a request, outside its timeout
        self._names: dict[tuple[str, int], tuple[float, asyncio.Future]] = {}
        self._closed = False

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every kept connection (and any that finishes later)."""
        self._closed = True
        for pool in self._idle.values():
            for connection in pool:
                connection.close()
        self._idle.clear()

    def idle_count(self) -> int:
        """How many connections wait for reuse (for tests)."""
        return sum(len(pool) for pool in self._idle.values())

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str | None]:
        """POST `body` to `url` on a checked address; raises AddressRefused, OSError or h11 errors."""
        parts = urlsplit(url)
        if parts.scheme not in outbound_urls.allowed_schemes() or not parts.hostname:
            raise outbound_urls.AddressRefused(f"scheme {parts.scheme} refused")
        host = parts.hostname.encode("idna").decode("ascii")  # a name in any script goes out as its ASCII form
        port = parts.port or outbound_urls.DEFAULT_PORTS[parts.scheme]
        addresses = await self._checked(host, port)
        key = (parts.scheme, addresses[0], port, host)
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~") + (
            f"?{quote(parts.query, safe='/%:@!$&()*+,;=?-._~')}" if parts.query else "")
        request_headers = [("host", netloc), *headers.items(), ("content-length", str(len(body))),
                           ("accept-encoding", "identity")]
        connection = self._take(key) or await self._open(key)
        reusable = False
        try:
            status, text, retry_after, reusable = await connection.exchange(target, request_headers, body)
            return status, text, retry_after
        finally:
            if reusable and not self._closed and len(self._idle.setdefault(key, [])) < IDLE_PER_ADDRESS:
                self._idle[key].append(connection)
            else:
                connection.close()

    async def _checked(self, host: str, port: int) -> list[str]:
        """The policy-checked addresses of `host`: looked up once per `DNS_TTL` and client, shared by concurrent
        requests, on threads of their own (AddressRefused when the policy refuses them)."""
        if _is_ip(host):
            lookup = asyncio.get_running_loop().create_future()
            try:
                lookup.set_result(outbound_urls.checked_addresses(host, port))
            except outbound_urls.UrlNotAllowed as exc:
                lookup.set_exception(exc)
        else:
            expires, lookup = self._names.get((host, port), (0.0, None))
            if lookup is None or expires < time.monotonic():
                loop = asyncio.get_running_loop()
                lookup = loop.run_in_executor(_DNS_THREADS, outbound_urls.checked_addresses, host, port)
                self._names[(host, port)] = (time.monotonic() + DNS_TTL, lookup)
        try:
            return await asyncio.shield(lookup)
        except outbound_urls.UrlNotAllowed:
            raise outbound_urls.AddressRefused(f"{host} refused") from None

    def _take(self, key) -> _Connection | None:
        pool = self._idle.get(key)
        while pool:
            connection = pool.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _open(self, key) -> _Connection:
        scheme, address, port, host = key
        tls = {"ssl": _tls_context(), "server_hostname": host} if scheme == "https" else {}
        connect = asyncio.open_connection(address, port, **tls)
        reader, writer = await asyncio.wait_for(connect, outbound_urls.CONNECT_TIMEOUT)
        return _Connection(reader, writer)


def client(max_connections: int = 200) -> Client:
    """A client bound to the policy: checked addresses, no redirects, no proxies, capped answers."""
    return Client(max_connections)


async def post(http: Client, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` once, within `timeout` seconds from when a connection slot is free; never raises for a failure
    of the receiver or of the request (one endpoint's bad URL or header must not fail a drain serving others)."""
    async with http.slots:  # waiting for a slot is not the receiver's time
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                status, text, retry_after = await http.post(url, body, headers)
                return Answer(status, text, retry_after, _ms(started))
        except TimeoutError:
            return Answer(None, "", None, _ms(started), "timeout")
        except outbound_urls.AddressRefused:
            return Answer(None, "", None, _ms(started), "address refused by the outbound URL policy")
        except Exception as exc:  # OSError, h11's protocol errors, an address or header that cannot be encoded
            return Answer(None, "", None, _ms(started), f"no answer ({type(exc).__name__})")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
