"""The pre-login cookie: a random HttpOnly value that every browser loading one of our pages holds.

A login ticket is bound to the browser that asked for it (`access.issue_login_ticket`): the login form's
websocket presents this cookie, its hash is stored with the ticket, and `POST /api/auth/exchange` redeems the
ticket only for a request carrying the same cookie. An attacker can mint tickets in their own browser, but cannot
put their pre-login cookie into a victim's browser, so a ticket pushed to the victim logs nobody in.

The cookie has to be in the browser before the page's websocket connects (websocket headers are fixed per
connection), so it is set on the page itself: every HTML page the web process serves (prod serves the built
frontend from the backend) carries it, with the same value as before while the browser still has one, and a
sliding hour of life. It is not a credential: it only says "this browser".
"""

from __future__ import annotations

import secrets

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_app.config import get_settings
from crm_app.services import access

MAX_AGE_SECONDS = 3600


def cookie_header(value: str) -> tuple[bytes, bytes]:
    """The `Set-Cookie` header that gives the browser `value` as its pre-login cookie for another hour."""
    carrier = Response()
    carrier.set_cookie(access.PRELOGIN_COOKIE, value, max_age=MAX_AGE_SECONDS, httponly=True, samesite="lax",
                       secure=get_settings().effective_cookie_secure, path="/")
    return next((k, v) for k, v in carrier.raw_headers if k == b"set-cookie")


def _is_page(message: Message) -> bool:
    headers = Headers(raw=message.get("headers") or [])
    return headers.get("content-type", "").startswith("text/html")


def wrap(app: ASGIApp) -> ASGIApp:
    """The `api_transformer` that adds the pre-login cookie to every page (GET, HTML, outside /api and /_)."""

    async def with_prelogin(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"].startswith(("/api/", "/_")):
            await app(scope, receive, send)
            return
        held = HTTPConnection(scope).cookies.get(access.PRELOGIN_COOKIE)
        value = access.browser_binding(held) or secrets.token_urlsafe(32)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and _is_page(message):
                message = {**message, "headers": [*(message.get("headers") or []), cookie_header(value)]}
            await send(message)

        await app(scope, receive, sending)

    return with_prelogin
