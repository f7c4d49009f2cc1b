"""Real-time push (design A): one Redis pub/sub listener per web process, feeding this process's tabs.

Publishers (services, workers) PUBLISH JSON on `crm:rt:{db}:{tenant_id}`. Each web
process runs `listen` as a lifespan task; the inbox page's `on_load` records
the tab's client token under its tenant in this process's registry (on_load
runs in the process that owns the socket, and again after a reconnect). For
each event, every registered tab of that tenant gets one short
`app.modify_state` that lets the tab re-query what it shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis as AsyncRedis

from crm_app.config import get_settings
from crm_app.state.burst import burst

log = logging.getLogger(__name__)


def channel_prefix() -> str:
    """Every tenant's channel starts with this (it names the Redis db, see Settings.realtime_channel_prefix)."""
    return get_settings().realtime_channel_prefix


# tenant id -> client tokens of the tabs showing the inbox in this process.
_TABS: dict[int, set[str]] = {}
_TENANT_OF: dict[str, int] = {}

Push = Callable[[Any, str, list[dict[str, Any]]], Awaitable[bool]]
MAX_BATCH = 200


def register_tab(tenant_id: int, token: str) -> None:
    """Remember that the tab `token` shows the inbox of `tenant_id` in this process."""
    if not token:
        return
    previous = _TENANT_OF.get(token)
    if previous is not None and previous != tenant_id:
        _TABS.get(previous, set()).discard(token)
    _TENANT_OF[token] = tenant_id
    _TABS.setdefault(tenant_id, set()).add(token)


def forget_tab(token: str) -> None:
    """Stop pushing to `token` (its state is gone or it left the inbox)."""
    tenant_id = _TENANT_OF.pop(token, None)
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
    """Whether this process still holds a socket for `token`."""
    namespace = getattr(app, "event_namespace", None)
    if namespace is None:
        return False
    return token in namespace.token_to_sid


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


def _collect(batch: dict[int, list[dict[str, Any]]], message: dict | None) -> None:
    if not message or message.get("type") != "pmessage":
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


async def listen(app: Any, push: Push, *, url: str | None = None) -> None:
    """Subscribe to every tenant's channel and dispatch events until cancelled; reconnects on errors."""
    url = url or get_settings().effective_redis_url
    while True:
        client = AsyncRedis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pattern = channel_prefix() + "*"
            await pubsub.psubscribe(pattern)
            log.info("real-time listener subscribed to %s", pattern)
            async for message in pubsub.listen():
                await _dispatch_burst(app, pubsub, message, push)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - not a handler: whatever breaks, push must resume, or tabs go stale
            log.exception("real-time listener lost Redis; retrying in 1 s")
            await asyncio.sleep(1)
        finally:
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001 - closing a broken client must not mask the real error
                pass
