"""Each tab's Reflex state belongs to the login session it was built for.

A tab's state lives in Redis under its client token, which travels in the websocket URL and in every upload
request. Knowing a token must never be enough to act as, or read the state of, the session that filled it:

- `SessionBinding` (a Reflex middleware) runs before every event, uploads included. It resolves the session
  behind the cookie the event arrived with (the websocket's handshake cookie; for an upload, the tab's own
  socket, which `guard_uploads` has already compared with the upload request's cookie) and compares it with the
  session the tab state is bound to (`TabSessionState`). When they differ (a logout, a revoked or expired
  session, another user's cookie, no cookie at all) the app's states are reset to anonymous before the event
  runs, so nothing of the old session reaches the client, not even in the first snapshot after a reconnect.
- `guard_uploads` (ASGI, around Reflex's `/_upload`) refuses an upload whose own request carries no live
  session cookie, or one that is not the session the tab state is bound to, before Reflex reads the body.
"""

from __future__ import annotations

import asyncio
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

import reflex as rx
from reflex.istate.manager import get_state_manager
from reflex.istate.storage import ClientStorageBase
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_app.services import access
from crm_app.state import realtime

log = logging.getLogger(__name__)

UNBOUND = -1  # a tab state never bound: reset it on its first event (it may predate the binding)
ANONYMOUS = 0  # bound to nobody: no live session cookie came with the events
UPLOAD_PATH = "/_upload"


class TabSessionState(rx.State):
    """The login session this tab's state was built for; a leaf of its own, so checking it loads one key."""

    _session_id: int = UNBOUND


def cookie_value(header: str | None, name: str) -> str | None:
    """One cookie's value from a `Cookie` header, or None (a malformed header holds none)."""
    try:
        morsel = SimpleCookie(header or "").get(name)
    except CookieError:
        return None
    return morsel.value if morsel else None


async def presented_session(cookie_header: str | None) -> int:
    """The id of the live login session behind a `Cookie` header's session cookie, or ANONYMOUS.

    One autocommit SELECT off the event loop; reading it is not the user's activity.
    """
    token = cookie_value(cookie_header, access.COOKIE_NAME)
    if not token:
        return ANONYMOUS
    peeked = await asyncio.to_thread(access.peek_session, token)
    return peeked[0] if peeked is not None else ANONYMOUS


def _client_storage(state: rx.State) -> dict[str, Any]:
    """The state's own browser-held vars (the language cookie): the browser keeps them, so a reset must too."""
    fields = type(state).get_fields()
    return {name: getattr(state, name) for name in type(state).base_vars
            if isinstance(fields[name].default, ClientStorageBase)}


def _walk(state: rx.State):
    yield state
    for substate in state.substates.values():
        yield from _walk(substate)


async def reset_to_anonymous(root: rx.State) -> None:
    """Every state of the app back to its defaults (the language aside), loaded in full first.

    Reflex's own states (hydration, on_load bookkeeping) are left alone; every app state is loaded before the
    reset, because a substate not loaded for this event would otherwise keep the old session's data in Redis.
    """
    for cls in type(root).get_substates():
        if cls.__module__.startswith("reflex"):
            continue
        top = await root.get_state(cls)
        for state in list(_walk(top)):  # get_state loads a subtree in full only with the Redis manager
            for sub in type(state).get_substates():
                await state.get_state(sub)
        kept = [(state, _client_storage(state)) for state in _walk(top)]
        top.reset()
        for state, values in kept:
            for name, value in values.items():
                setattr(state, name, value)
    realtime.forget_tab(root.router.session.client_token)


class SessionBinding(rx.Middleware):
    """Before every event: a tab whose cookie no longer names the session its state was built for starts over."""

    async def preprocess(self, app: Any, state: rx.State, event: Any) -> None:
        """Reset and rebind the tab when the session behind the event's cookie is not the bound one.

        Args:
            app: The Reflex app.
            state: The tab's root state, its router data already updated from this event's connection.
            event: The event about to run; it always runs (after a reset, as nobody or as the new session).
        """
        binding = await state.get_state(TabSessionState)
        presented = await presented_session(state.router.headers.cookie)
        if binding._session_id != presented:
            if binding._session_id != UNBOUND:
                log.info("tab state reset: its session cookie changed (%s)", "none" if not presented else "another")
            await reset_to_anonymous(state)
            binding._session_id = presented
        return None


async def bound_session(client_token: str) -> int:
    """The session a tab's state is bound to (UNBOUND for a token with no state).

    Read under the state's lock, never straight from Redis: the web process that holds the tab's socket keeps
    its state in memory between events (the opportunistic lock, `crm_app.processes.REFLEX_STATE_ENV`), so
    Redis may not hold the binding yet. In that process the lock hands over the state it holds; in another,
    asking for the lock makes the holder write the state back first.
    """
    token = rx.BaseStateToken(ident=client_token, cls=TabSessionState)
    async with get_state_manager().modify_state(token) as root:
        return (await root.get_state(TabSessionState))._session_id


async def upload_refusal(headers: Headers) -> str | None:
    """Why an upload request may not act as its tab's session, or None when its own cookie is that session."""
    client_token = headers.get("reflex-client-token")
    if not client_token:
        return None  # Reflex answers 400 itself
    presented = await presented_session(headers.get("cookie"))
    if presented == ANONYMOUS:
        return "no live session cookie"
    if presented != await bound_session(client_token):
        return "the cookie is not the session of the tab"
    return None


def guard_uploads(app: ASGIApp) -> ASGIApp:
    """The `api_transformer` that puts the cookie check in front of Reflex's `POST /_upload`."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/") == UPLOAD_PATH:
            refusal = await upload_refusal(Headers(scope=scope))
            if refusal is not None:
                log.warning("upload refused: %s", refusal)
                response = JSONResponse({"error": {"code": "not_authenticated", "message": "log in again"}},
                                        status_code=403, headers={"Cache-Control": "no-store"})
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded
