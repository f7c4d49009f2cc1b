"""Web hardening around the whole ASGI app: security headers, CSRF, websocket origin, rate and size limits.

`wrap(app)` is the last `api_transformer` in `crm_app/web.py`, so it sees every request the web process
serves: Reflex's pages and static assets (prod serves the built frontend from the backend), our `/api/...`
routes and the `/_event` websocket.

- **Headers** on every response: CSP, `X-Content-Type-Options: nosniff`, `Referrer-Policy`, `X-Frame-Options`,
  `Cross-Origin-Opener-Policy`, and HSTS in production or behind https. Pages get `app_csp()`: Reflex's built
  frontend runs inline bootstrap scripts (React Router's `<Scripts>`), so each HTML page of the build is sent
  with the SHA-256 of exactly its own inline scripts (never `'unsafe-inline'` for scripts); `'unsafe-eval'` stays
  because Reflex's `rx.call_script` (our full-page navigations) runs through `eval` in its `state.js`. Only
  the frontend's files are hashed: `/api/...` HTML (media, docs) never is, and gets a deny-all policy unless the
  route set its own.
- **CSRF**: a POST/PUT/PATCH/DELETE that carries cookies must come from our own origin (`Sec-Fetch-Site` when
  the browser sends it, else `Origin`), else 403. Exempt: `/api/v1` (bearer tokens, cookies ignored) and the
  WhatsApp webhook (HMAC of the raw body). Reflex's `/_upload` and the login exchange must be same-origin
  even without cookies (`SAME_ORIGIN_ONLY`).
- **Websocket origin**: `/_event` from a foreign `Origin` is closed before the handshake completes, on top of
  Reflex's own `cors_allowed_origins` check (rxconfig.py sets it to the app's URL).
- **Rate limits** in Redis (fixed windows shared by every process), per client IP on `/api/...`. Never on the
  WhatsApp webhook: Meta retries a refused delivery with backoff and gives up after a while, so throttling it
  would lose customer messages; it is authenticated by its HMAC and its store path is already bounded
  (`api/whatsapp.py`). Not on health probes nor media (one inbox loads many images from one office IP).
  Redis trouble lets requests through: the limit protects us, it must not take the app down.
- **Size limits**: bodies over `MAX_REQUEST_BYTES` get 413 with a JSON error, declared or streamed. `/api/v1`
  (64 KB) and the webhook (3 MB) keep their own limits; Reflex's `/_upload` (attachments) is not limited here.
- **Behind a proxy**: first of all, a request whose peer is in the setting `system.trusted_proxies` (the
  install's value; `TRUSTED_PROXIES` is its default) gets the client address and
  scheme its proxy reports (`X-Forwarded-For`, `X-Forwarded-Proto`; `domain.proxies.client_of`) written into
  its scope, so everything after sees the real client: rate limits, CSRF's own origin, HSTS, audit IPs
  (`request.client`) and Reflex's `router.session.client_ip` (read from the websocket's scope). From any other
  peer those headers change nothing. Over https (as seen so) every cookie we set is `Secure`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_app.config import Environment, get_settings
from crm_app.domain import proxies
from crm_app.queue import get_redis
from crm_app.services import settings
from crm_app.services.core import ratelimit

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_EXEMPT = ("/api/v1/", "/api/whatsapp/webhook")
# Same origin even without cookies: uploads act as a tab's session, and the login exchange must not be
# forced on a browser that holds no cookie at all (login CSRF targets exactly those).
SAME_ORIGIN_ONLY = frozenset({"/_upload", "/api/auth/exchange"})
RATE_EXEMPT = ("/api/whatsapp/webhook", "/api/health", "/api/ready", "/api/media/", "/api/v1/")
SIZE_EXEMPT = ("/api/v1/", "/api/whatsapp/webhook", "/_upload")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
MAX_HTML_BYTES = 2 * 1024 * 1024
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@functools.cache
def allowed_origins() -> frozenset[str]:
    """Our own origin: the app's public URL (the same list Reflex gets as `cors_allowed_origins`)."""
    return frozenset({_origin(get_settings().app_url)})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@functools.lru_cache(maxsize=8)
def trusted_networks(text: str) -> tuple[proxies.Network, ...]:
    """The setting `system.trusted_proxies` parsed, once per distinct value (it is checked when saved)."""
    return proxies.parse_networks(text)


def behind_proxies(scope: Scope) -> Scope:
    """The scope as the app must see it: from a trusted proxy, its client's address and scheme.

    Args:
        scope: An http or websocket scope as the server gave it.

    Returns:
        The same scope, unless its peer is in the setting `system.trusted_proxies`: then a copy whose
        `client` and `scheme` are what `domain.proxies.client_of` makes of the forwarded headers.
    """
    trusted = trusted_networks(settings.value(None, "system.trusted_proxies", tenant_id=None))  # cached
    peer = scope.get("client")
    if not trusted or not peer:
        return scope
    pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers") or []]
    client = proxies.client_of(str(peer[0]), scope.get("scheme", "http"), pairs, trusted)
    return {**scope, "client": (client.ip, peer[1]), "scheme": client.scheme}


# ---------------------------------------------------------------- headers


def app_csp(script_hashes: Iterable[str] = ()) -> str:
    """The policy of the app's pages and assets."""
    ws = _origin(get_settings().app_url).replace("https://", "wss://").replace("http://", "ws://")
    hashes = " ".join(f"'sha256-{h}'" for h in sorted(set(script_hashes)))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'unsafe-eval' {hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        f"connect-src 'self' {ws}",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


@functools.lru_cache(maxsize=256)
def inline_script_hashes(html: bytes) -> tuple[str, ...]:
    """Base64 SHA-256 of every inline `<script>` of a page, as CSP `'sha256-…'` sources want them."""
    return tuple(base64.b64encode(hashlib.sha256(body).digest()).decode()
                 for body in _INLINE_SCRIPT.findall(html) if body.strip())


def wants_hsts(scope: Scope) -> bool:
    config = get_settings()
    return (config.env == Environment.PRODUCTION or scope.get("scheme") == "https"
            or config.app_url.startswith("https://"))


def security_headers(scope: Scope, csp: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if wants_hsts(scope):
        age = get_settings().hsts_max_age_seconds
        headers.append((b"strict-transport-security", f"max-age={age}; includeSubDomains".encode()))
    return headers


def secure_cookies(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Over https (`Settings.cookie_secure_for`), every `Set-Cookie` of the answer carries `Secure`."""
    if not get_settings().cookie_secure_for(scope.get("scheme", "http")):
        return headers
    return [(k, v + b"; Secure") if k.lower() == b"set-cookie" and not _has_secure(v) else (k, v)
            for k, v in headers]


def _has_secure(cookie: bytes) -> bool:
    return any(part.strip().lower() == b"secure" for part in cookie.split(b";")[1:])


def _merge(existing: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Add our headers; a route that set its own CSP (the API docs page) keeps it."""
    present = {k.lower() for k, _ in existing}
    return list(existing) + [(k, v) for k, v in extra if k not in present]


# ---------------------------------------------------------------- rate limits


def take_slot(key: str, *, limit: int, window_seconds: int) -> int:
    """Count one hit of `key` in a fixed window. 0 lets it through, else the seconds until the window ends."""
    return ratelimit.window_hit(f"crm:rl:{key}", limit=limit, window_seconds=window_seconds)


def failed_auth_retry_after(ip: str | None) -> int:
    """Seconds this IP must wait because it sent too many bad API tokens (0: it may try)."""
    config = get_settings()
    window_seconds = config.api_failed_auth_window_seconds
    now = time.time()
    window = int(now // window_seconds)
    try:
        count = int(get_redis().get(f"crm:rl:api-fail:{ip}:{window}") or 0)
    except Exception:
        log.warning("failed-auth limit not checked: Redis unavailable", exc_info=True)
        return 0
    if count < config.api_failed_auth_per_ip:
        return 0
    return max(1, int((window + 1) * window_seconds - now + 0.999))


def record_failed_auth(ip: str | None) -> None:
    """Count one bad API token from this IP."""
    config = get_settings()
    take_slot(f"api-fail:{ip}", limit=config.api_failed_auth_per_ip,
              window_seconds=config.api_failed_auth_window_seconds)


# ---------------------------------------------------------------- the middleware


async def _json(send: Send, scope: Scope, status: int, code: str, message: str,
                extra: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *extra, *security_headers(scope, API_CSP)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised from `receive`; an HTTPException, so that body parsers pass it on instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(413)


def csrf_refusal(scope: Scope, headers: dict[str, str]) -> str | None:
    """Why a state-changing request is refused as cross-site, or None."""
    if scope["method"] not in UNSAFE_METHODS or scope["path"].startswith(CSRF_EXEMPT):
        return None
    strict = scope["path"].rstrip("/") in SAME_ORIGIN_ONLY
    if not headers.get("cookie") and not strict:
        return None  # nothing ambient to abuse
    site = headers.get("sec-fetch-site")
    if site is not None:
        allowed = ("same-origin",) if strict else ("same-origin", "none")
        return None if site in allowed else f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is None:
        return "no Origin nor Sec-Fetch-Site"
    own = {*allowed_origins(), f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()}
    return None if origin.lower() in own else f"Origin: {origin}"


class Hardening:
    """The ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = behind_proxies(scope)
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope["path"]
        refusal = csrf_refusal(scope, headers)
        if refusal:
            log.warning("cross-site %s %s refused (%s)", scope["method"], path, refusal)
            await _json(send, scope, 403, "csrf", "cross-site request refused")
            return
        if path.startswith("/api/") and not path.startswith(RATE_EXEMPT):
            config = get_settings()
            wait = take_slot(f"ip:{_client_ip(scope)}", limit=config.api_ip_rate_limit_per_minute,
                             window_seconds=60)
            if wait:
                await _json(send, scope, 429, "rate_limited", "too many requests; slow down",
                            [(b"retry-after", str(wait).encode())])
                return
        if not path.startswith(SIZE_EXEMPT):
            limit = get_settings().max_request_bytes
            declared = headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                await self._too_large(scope, send, limit)
                return
        if not path.startswith(("/api/", "/_")) and _looks_like_a_page(path):
            scope = _without_compression(scope)  # its CSP needs the page's own bytes to hash its inline scripts
        await self._respond(scope, receive, send, path)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        await _json(send, scope, 413, "too_large", f"the request body must be at most {limit // 1024} KB")

    async def _respond(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        is_api = path.startswith("/api/") or path.startswith("/_")
        started: dict = {}
        buffered: list[bytes] = []
        limit = None if path.startswith(SIZE_EXEMPT) else get_settings().max_request_bytes
        seen = {"bytes": 0, "over": False, "answered": False}

        async def counted() -> Message:
            message = await receive()
            seen["bytes"] += len(message.get("body", b""))
            if limit is not None and seen["bytes"] > limit:
                seen["over"] = True
                raise _TooLarge()
            return message

        async def wrapped(message: Message) -> None:
            if seen["over"]:  # whatever the app answers to a body cut short, the client gets our 413
                if not seen["answered"]:
                    seen["answered"] = True
                    await self._too_large(scope, send, limit)
                return
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers") or []).get(b"content-type", b"")
                encoded = b"content-encoding" in dict(message.get("headers") or [])
                if not is_api and kind.startswith(b"text/html") and not encoded:
                    started.update(message)  # hold it: the CSP needs the page's inline script hashes
                    return
                csp = API_CSP if is_api else app_csp()
                await send({**message, "headers": _merge(secure_cookies(scope, message.get("headers") or []),
                                                        security_headers(scope, csp))})
                return
            if started and message["type"] == "http.response.pathsend":  # in case a server forces it
                message = {"type": "http.response.body", "body": await anyio.Path(message["path"]).read_bytes()}
            if started and message["type"] == "http.response.body":
                buffered.append(message.get("body", b""))
                if message.get("more_body") and sum(map(len, buffered)) < MAX_HTML_BYTES:
                    return
                body = b"".join(buffered)
                csp = app_csp(inline_script_hashes(body))
                await send({**started, "headers": _merge(secure_cookies(scope, started.get("headers") or []),
                                                        security_headers(scope, csp))})
                started.clear()
                await send({"type": "http.response.body", "body": body,
                            "more_body": message.get("more_body", False)})
                return
            await send(message)

        try:
            await self.app(scope, counted, wrapped)
        except _TooLarge:
            if not seen["answered"]:
                seen["answered"] = True
                await self._too_large(scope, send, limit)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _headers(scope).get("origin")
        if origin is not None and origin.lower() not in allowed_origins():
            log.warning("websocket from foreign origin %s refused", origin)
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def _looks_like_a_page(path: str) -> bool:
    """Routes (`/inbox`, `/settings/sso/`) and `.html` files; assets keep their precompressed sidecars."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return "." not in last or last.endswith(".html")


def _without_compression(scope: Scope) -> Scope:
    """The page's plain bytes, sent as body messages: no precompressed sidecar, no `pathsend` (granian's
    zero-copy file send would hand the server a path we cannot hash), and never a 304: a browser keeps the
    headers of a 304 for its cached page, so a CSP computed from an empty body would block its scripts."""
    dropped = {b"accept-encoding", b"if-none-match", b"if-modified-since"}
    headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() not in dropped]
    extensions = {k: v for k, v in (scope.get("extensions") or {}).items() if k != "http.response.pathsend"}
    return {**scope, "headers": headers, "extensions": extensions}


def wrap(app: ASGIApp) -> ASGIApp:
    """The `api_transformer` callable for `rx.App`."""
    return Hardening(app)
