"""Who is online, who is looking at a conversation, who is typing: Redis only, with short TTLs.

Nothing here is durable: a browser that stops sending heartbeats simply ages
out. Each set is a sorted set scored by expiry time, so reading it drops the
stale members first; the keys themselves also expire when nobody refreshes them.
"""

from __future__ import annotations

import logging
import time

from sqlmodel import Session, select

from crm_app.errors import ValidationError
from crm_app.models import User
from crm_app.queue import get_redis
from crm_app.services.access import presence_history as analytics_presence
from crm_app.services.core import jobs, realtime
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)

PRESENCE_TTL = 60
VIEWING_TTL = 30
TYPING_EVERY = 3  # seconds between two "typing" events of one user in one conversation
STATUSES = ("online", "away")


def _presence_keys(tenant_id: int) -> tuple[str, str]:
    return f"crm:presence:{tenant_id}", f"crm:presence:status:{tenant_id}"


def _viewer_keys(tenant_id: int, conversation_id: int) -> tuple[str, str]:
    return f"crm:viewers:{tenant_id}:{conversation_id}", f"crm:viewers:names:{tenant_id}:{conversation_id}"


def heartbeat(tenant_id: int, user_id: int, status: str = "online") -> None:
    """Mark a user online or away for the next 60 s; a change of status is published."""
    if status not in STATUSES:
        raise ValidationError("status must be online or away")
    expiry_key, status_key = _presence_keys(tenant_id)
    now = time.time()
    with get_redis().pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(expiry_key, "-inf", now)
        pipe.zscore(expiry_key, user_id)
        pipe.hget(status_key, user_id)
        pipe.zadd(expiry_key, {user_id: now + PRESENCE_TTL})
        pipe.hset(status_key, user_id, status)
        pipe.expire(expiry_key, PRESENCE_TTL * 2)
        pipe.expire(status_key, PRESENCE_TTL * 2)
        _, alive, previous = pipe.execute()[:3]
    changed = alive is None or (previous or b"").decode() != status
    analytics_presence.record_presence(tenant_id, user_id, status, changed=changed)
    if changed:
        realtime.publish(tenant_id, "presence", data={"user_id": user_id, "status": status})
        if status == "online":  # someone free may take the waiting conversations
            _run_queue(tenant_id)


def _run_queue(tenant_id: int) -> None:
    """Queue the tenant's `assign_waiting` job by name: the queue reads presence, so presence does not import it.

    Never raises: the periodic sweep catches up.
    """
    try:
        jobs.enqueue("assign_waiting", tenant_id)
    except Exception as exc:
        log.warning("could not queue assign_waiting for tenant %s: %s", tenant_id, type(exc).__name__)


def set_offline(tenant_id: int, user_id: int) -> None:
    """Forget a user's presence at once (logout, closed tab)."""
    expiry_key, status_key = _presence_keys(tenant_id)
    with get_redis().pipeline(transaction=True) as pipe:
        pipe.zrem(expiry_key, user_id)
        pipe.hdel(status_key, user_id)
        removed = pipe.execute()[0]
    analytics_presence.record_presence(tenant_id, user_id, "offline", changed=True)
    if removed:
        realtime.publish(tenant_id, "presence", data={"user_id": user_id, "status": "offline"})


def statuses(tenant_id: int) -> dict[int, str]:
    """user id -> "online" or "away" for users seen in the last 60 s; absent means offline."""
    expiry_key, status_key = _presence_keys(tenant_id)
    now = time.time()
    redis = get_redis()
    alive = [int(m) for m in redis.zrangebyscore(expiry_key, now, "+inf")]
    if not alive:
        return {}
    values = redis.hmget(status_key, alive)
    return {user_id: (value or b"online").decode() for user_id, value in zip(alive, values, strict=True)}


def online_users(session: Session, *, actor: Actor) -> list[dict]:
    """The actor's tenant's active users who are online or away: id, name, role, status; by name."""
    require_role(actor, "admin", "supervisor", "attendant")
    present = statuses(actor.tenant_id)
    if not present:
        return []
    users = session.exec(select(User).where(User.tenant_id == actor.tenant_id, User.id.in_(list(present)),
                                            User.is_active.is_(True)).order_by(User.name)).all()
    return [{"id": u.id, "name": u.name, "role": str(u.role), "status": present[u.id]} for u in users]


def set_viewing(tenant_id: int, conversation_id: int, user_id: int, name: str) -> None:
    """Note that a user has the conversation open for the next 30 s; a new viewer is published."""
    members_key, names_key = _viewer_keys(tenant_id, conversation_id)
    now = time.time()
    with get_redis().pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(members_key, "-inf", now)
        pipe.zadd(members_key, {user_id: now + VIEWING_TTL})
        pipe.hset(names_key, user_id, name)
        pipe.expire(members_key, VIEWING_TTL)
        pipe.expire(names_key, VIEWING_TTL)
        added = pipe.execute()[1]
    if added:
        realtime.publish(tenant_id, "viewers", conversation_id=conversation_id,
                         data={"viewers": viewers(tenant_id, conversation_id)})


def stop_viewing(tenant_id: int, conversation_id: int, user_id: int) -> None:
    """The user left the conversation; the others see the list shrink."""
    members_key, names_key = _viewer_keys(tenant_id, conversation_id)
    with get_redis().pipeline(transaction=True) as pipe:
        pipe.zrem(members_key, user_id)
        pipe.hdel(names_key, user_id)
        removed = pipe.execute()[0]
    if removed:
        realtime.publish(tenant_id, "viewers", conversation_id=conversation_id,
                         data={"viewers": viewers(tenant_id, conversation_id)})


def viewers(tenant_id: int, conversation_id: int) -> list[dict]:
    """Who has had the conversation open in the last 30 s: [{"user_id", "name"}], by name."""
    members_key, names_key = _viewer_keys(tenant_id, conversation_id)
    redis = get_redis()
    present = [int(m) for m in redis.zrangebyscore(members_key, time.time(), "+inf")]
    if not present:
        return []
    names = redis.hmget(names_key, present)
    rows = [{"user_id": u, "name": (n or b"").decode()} for u, n in zip(present, names, strict=True)]
    return sorted(rows, key=lambda r: (r["name"].casefold(), r["user_id"]))


def set_typing(tenant_id: int, conversation_id: int, user_id: int, name: str) -> bool:
    """Tell the others that a user is typing; at most one event per user and conversation every 3 s.

    Returns whether an event went out.
    """
    key = f"crm:typing:{tenant_id}:{conversation_id}:{user_id}"
    if not get_redis().set(key, 1, nx=True, ex=TYPING_EVERY):
        return False
    realtime.publish(tenant_id, "typing", conversation_id=conversation_id, data={"user_id": user_id, "name": name})
    return True
