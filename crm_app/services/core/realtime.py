"""Real-time events, publish side: small JSON notes on a per-tenant Redis channel, after commit.

An event carries a kind and ids, never message bodies: each browser tab reloads
what it shows through the services, so role and tenant are checked again.
Durable events get a per-tenant sequence number (INCR) so a tab can tell it
missed some; the INCR and the PUBLISH run in one Lua script, one round trip,
and numbers reach subscribers in order. Ephemeral events (typing, viewers,
presence) carry `seq: null`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlmodel import Session

from crm_app.config import get_settings
from crm_app.db import after_commit
from crm_app.queue import get_redis, redis_options

log = logging.getLogger(__name__)

LISTENER_NAME = "crm-realtime-listener"  # the web processes' subscriber connections, in Redis's CLIENT LIST
KINDS = ("message.new", "message.status", "message.updated", "conversation.updated", "conversation.new", "typing",
         "viewers", "presence")
EPHEMERAL = frozenset({"typing", "viewers", "presence"})
REVOKED = "revoked"  # the suffix of the channel that names revoked login sessions

# KEYS[1] the sequence counter; ARGV[1] the channel; ARGV[2] the event JSON without its opening brace.
_PUBLISH_SEQ = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], '{"seq": ' .. seq .. ', ' .. ARGV[2])
return seq
"""


def channel(tenant_id: int) -> str:
    """The pub/sub channel of one tenant."""
    return f"{get_settings().realtime_channel_prefix}{tenant_id}"


def seq_key(tenant_id: int) -> str:
    """The Redis key of a tenant's event counter."""
    return f"crm:rt:seq:{tenant_id}"


def _body(kind: str, conversation_id: int | None, data: dict[str, Any] | None) -> str:
    """The event JSON after `{"seq": …, `: kind, conversation and data."""
    rest = json.dumps({"kind": kind, "conversation_id": conversation_id, "data": data or {}},
                      separators=(", ", ": "), default=str)
    return rest[1:]


def publish(tenant_id: int, kind: str, *, conversation_id: int | None = None, data: dict[str, Any] | None = None,
            durable: bool = True) -> int | None:
    """Publish one event now. Returns its seq (None for ephemeral events or when Redis failed); never raises."""
    return (publish_many(tenant_id, [(kind, conversation_id, data)], durable=durable) or [None])[0]


def publish_many(tenant_id: int, events: list[tuple[str, int | None, dict[str, Any] | None]], *,
                 durable: bool = True) -> list[int | None]:
    """Publish several events of one tenant in one round trip, in order. Never raises."""
    if not events:
        return []
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for kind, conversation_id, data in events:
                body = _body(kind, conversation_id, data)
                if durable and kind not in EPHEMERAL:
                    # EVAL, not EVALSHA: a pipeline of registered scripts costs an extra SCRIPT EXISTS trip.
                    pipe.eval(_PUBLISH_SEQ, 1, seq_key(tenant_id), channel(tenant_id), body)
                else:
                    pipe.publish(channel(tenant_id), '{"seq": null, ' + body)
            results = pipe.execute()
    except Exception as exc:  # a lost event is healed by the tab's next reload; never break the caller
        log.warning("real-time publish for tenant %s failed: %s", tenant_id, type(exc).__name__)
        return [None] * len(events)
    return [r if durable and kind not in EPHEMERAL else None for r, (kind, _, _) in zip(results, events, strict=True)]


def publish_after_commit(session: Session, tenant_id: int, kind: str, *, conversation_id: int | None = None,
                         data: dict[str, Any] | None = None) -> None:
    """Publish a durable event once `session` commits; all of a transaction's events go in one round trip."""
    flush = next((cb for cb in session.info.get("after_commit", ()) if isinstance(cb, _Flush)), None)
    if flush is None:
        flush = _Flush()
        after_commit(session, flush)
    flush.events.append((tenant_id, kind, conversation_id, data))


class _Flush:
    """The one after-commit callback that publishes a transaction's events (dropped with it on rollback)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, int | None, dict[str, Any] | None]] = []

    def __call__(self) -> None:
        by_tenant: dict[int, list] = {}
        for tenant_id, kind, conversation_id, data in self.events:
            by_tenant.setdefault(tenant_id, []).append((kind, conversation_id, data))
        for tenant_id, events in by_tenant.items():
            publish_many(tenant_id, events)


def revocations_channel() -> str:
    """The channel that names revoked sessions to every web process (not a tenant's: no tab receives it)."""
    return f"{get_settings().realtime_channel_prefix}{REVOKED}"


def publish_revoked_after_commit(session: Session, session_ids: list[int]) -> None:
    """Once `session` commits, tell every web process these login sessions are revoked.

    Each process trusts a live session for a few seconds when it pushes to that session's tabs; this note
    makes it stop at once. Best effort: Redis down means the short trust runs out on its own.
    """
    if session_ids:
        after_commit(session, lambda: _publish_revoked(list(session_ids)))


def _publish_revoked(session_ids: list[int]) -> None:
    try:
        get_redis().publish(revocations_channel(), json.dumps({"session_ids": session_ids}))
    except Exception as exc:  # the push cache's own expiry is the fallback; never break the committed caller
        log.warning("could not announce %d revoked session(s): %s", len(session_ids), type(exc).__name__)


def current_seq(tenant_id: int) -> int:
    """The last seq handed out for a tenant (0 before the first event, or when Redis is unreachable)."""
    try:
        value = get_redis().get(seq_key(tenant_id))
    except Exception as exc:
        log.warning("could not read the real-time seq of tenant %s: %s", tenant_id, type(exc).__name__)
        return 0
    return int(value or 0)


def listener_client(url: str):
    """A Redis client for a web process's real-time listener: our timeouts and keepalives, and a name.

    The listener reads with an explicit timeout, never the socket timeout, so a quiet tenant is not taken
    for a dead connection. redis-py's own retries are off: every lost connection reaches the listener,
    which reconnects and has its tabs resync.
    """
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options = dict(redis_options(), client_name=LISTENER_NAME, retry=Retry(NoBackoff(), 0))
    return AsyncRedis.from_url(url, **options)
