"""Real-time push (design A): one Redis pub/sub listener per web process, feeding this process's tabs.

Publishers (services, workers) PUBLISH JSON on `crm:rt:{db}:{tenant_id}`. Each web
process runs `listen` as a lifespan task; the inbox page's `on_load` records
the tab's client token under its tenant in this process's registry (on_load
runs in the process that owns the socket, and again after a reconnect). For
each event, every registered tab of that tenant gets one short
`app.modify_state` that lets the tab re-query what it shows. When the listener
reconnects after losing Redis, every registered tab is told to resync.
Revoked login sessions are announced on `crm:rt:{db}:revoked`; the listener hands
them to `on_revoked` listeners (the push session cache) instead of to tabs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from crm_app.config import get_settings
from crm_app.services.core.realtime import listener_client, revocations_channel
from crm_app.state.burst import burst

log = logging.getLogger(__name__)


def channel_prefix() -> str:
    """Every tenant's channel starts with this (it names the Redis db, see Settings.realtime_channel_prefix)."""
    return get_settings().realtime_channel_prefix


# tenant id -> client tokens of the tabs showing the inbox in this process.
_TABS: dict[int, set[str]] = {}
_TENANT_OF: dict[str, int] = {}
_SOCKET_OF: dict[str, str] = {}  # client token -> the socket (sid) whose event registered it
_REVOCATION_LISTENERS: list[Callable[[list[int]], None]] = []

Push = Callable[[Any, str, list[dict[str, Any]]], Awaitable[bool]]
MAX_BATCH = 200
# Not a published kind: the listener's own note to its tabs after it reconnected (they reload what they show).
RESYNC = "resync"
stats = {"reconnects": 0}  # this process's listener: how many times it came back after losing Redis


def register_tab(tenant_id: int, token: str, sid: str | None = None) -> None:
    """Remember that the tab `token` shows the inbox of `tenant_id` in this process, on socket `sid`.

    Pushes go to that socket only: another socket connecting with the same token (a token read from a log, the
    websocket URL carries it) gets nothing until one of its own events, which the session binding checks,
    registers it again (`state/binding.py`). A tab that reconnects does so with its page's on_load.
    """
    if not token:
        return
    if sid:
        _SOCKET_OF[token] = sid
    previous = _TENANT_OF.get(token)
    if previous is not None and previous != tenant_id:
        _TABS.get(previous, set()).discard(token)
    _TENANT_OF[token] = tenant_id
    _TABS.setdefault(tenant_id, set()).add(token)


def forget_tab(token: str) -> None:
    """Stop pushing to `token` (its state is gone or it left the inbox)."""
    tenant_id = _TENANT_OF.pop(token, None)
    _SOCKET_OF.pop(token, None)
    if tenant_id is not None:
        _TABS.get(tenant_id, set()).discard(token)


def tabs_of(tenant_id: int) -> list[str]:
    """The registered tabs of one tenant in this process."""
    return sorted(_TABS.get(tenant_id, ()))


def parse_message(channel: str | bytes, data: str | bytes) -> tuple[int, dict[str, Any]] | None:
    """`(tenant_id, event)` from one pub/sub message, or None if it is not ours or malformed."""
    channel = channel.decode() if isinstance(channel, bytes) else channel
    prefix = channel_prefix()
    suffix = channel[len(prefix):] if channel.startswith(prefix) else ""
    if not suffix.isdigit():
        return None
    try:
        event = json.loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
        return None
    return int(suffix), event


def is_connected(app: Any, token: str) -> bool:
    """Whether this process still holds the socket that registered `token` (see `register_tab`)."""
    namespace = getattr(app, "event_namespace", None)
    if namespace is None:
        return False
    sid = namespace.token_to_sid.get(token)
    registered = _SOCKET_OF.get(token)
    return sid is not None and (registered is None or registered == sid)


async def dispatch(app: Any, tenant_id: int, events: list[dict[str, Any]], push: Push) -> int:
    """Push `events` (in order) to every live tab of `tenant_id`; drop tabs whose socket is gone.

    Returns how many tabs were reached.
    """
    tokens = []
    for token in tabs_of(tenant_id):
        if is_connected(app, token):
            tokens.append(token)
        else:
            forget_tab(token)
    with burst():  # the tabs share their identical reads (crm_app/state/burst.py)
        results = await asyncio.gather(*(push(app, token, events) for token in tokens), return_exceptions=True)
    reached = 0
    for token, result in zip(tokens, results, strict=True):
        if isinstance(result, BaseException):  # the socket is alive: keep the tab, it catches up on a later event
            log.warning("real-time push to a tab failed: %r", result)
        elif result is False:
            forget_tab(token)
        else:
            reached += 1
    return reached


def on_revoked(listener: Callable[[list[int]], None]) -> None:
    """Call `listener(session_ids)` whenever the services announce revoked login sessions."""
    _REVOCATION_LISTENERS.append(listener)


def _announce_revoked(channel: str | bytes, data: str | bytes) -> bool:
    """Hand a revocation note to the listeners; False when the message is something else."""
    channel = channel.decode() if isinstance(channel, bytes) else channel
    if channel != revocations_channel():
        return False
    try:
        ids = [int(i) for i in json.loads(data)["session_ids"]]
    except (TypeError, ValueError, KeyError):
        return True
    for listener in _REVOCATION_LISTENERS:
        listener(ids)
    return True


def _collect(batch: dict[int, list[dict[str, Any]]], message: dict | None) -> None:
    if not message or message.get("type") != "pmessage":
        return
    if _announce_revoked(message["channel"], message["data"]):
        return
    parsed = parse_message(message["channel"], message["data"])
    if parsed is not None:
        batch.setdefault(parsed[0], []).append(parsed[1])


async def _dispatch_burst(app: Any, pubsub: Any, first: dict, push: Push) -> None:
    """One message plus whatever else already arrived: a burst becomes one update per tab."""
    batch: dict[int, list[dict[str, Any]]] = {}
    _collect(batch, first)
    for _ in range(MAX_BATCH):
        more = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
        if more is None:
            break
        _collect(batch, more)
    for tenant_id, events in batch.items():
        await dispatch(app, tenant_id, events, push)


async def resync_tabs(app: Any, push: Push) -> int:
    """Tell every registered tab in this process to reload what it shows. Returns how many were reached."""
    reached = 0
    for tenant_id in [t for t, tokens in _TABS.items() if tokens]:
        reached += await dispatch(app, tenant_id, [{"seq": None, "kind": RESYNC}], push)
    return reached


async def _subscribe(pubsub: Any, pattern: str) -> None:
    """PSUBSCRIBE and wait for Redis to confirm it: from then on no note can slip past this listener."""
    await pubsub.psubscribe(pattern)
    confirmation = await pubsub.get_message(timeout=get_settings().redis_socket_timeout)
    if confirmation is None or confirmation.get("type") != "psubscribe":
        raise ConnectionError(f"Redis did not confirm the subscription to {pattern}")


async def _pump(app: Any, pubsub: Any, push: Push) -> None:
    """Dispatch messages until the connection fails; each wait ends in time for the next health check."""
    wait = max(1, get_settings().redis_health_check_seconds)
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
        if message is not None:
            await _dispatch_burst(app, pubsub, message, push)


async def listen(app: Any, push: Push, *, url: str | None = None) -> None:
    """Subscribe to every tenant's channel and dispatch events until cancelled; reconnects on errors.

    Notes published while the listener was away are lost, so after each reconnect every registered
    tab is told to resync before new notes are dispatched.
    """
    url = url or get_settings().effective_redis_url
    lost = False
    while True:
        client = listener_client(url)
        try:
            pubsub = client.pubsub()
            pattern = channel_prefix() + "*"
            await _subscribe(pubsub, pattern)  # before the resync: a note sent during its reads is not missed
            if lost:
                stats["reconnects"] += 1
                reached = await resync_tabs(app, push)
                log.warning("real-time listener reconnected to %s; %d tab(s) told to resync", pattern, reached)
            else:
                log.info("real-time listener subscribed to %s", pattern)
            lost = False
            await _pump(app, pubsub, push)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - not a handler: whatever breaks, push must resume, or tabs go stale
            lost = True
            log.exception("real-time listener lost Redis; reconnecting in %s s",
                          get_settings().realtime_reconnect_delay)
        finally:
            await _close(client)  # now: redis-py may already have reconnected this client's pub/sub itself
        await asyncio.sleep(get_settings().realtime_reconnect_delay)


async def _close(client: Any) -> None:
    try:
        await client.aclose()
    except Exception:  # noqa: BLE001 - closing a broken client must not mask the real error
        pass
