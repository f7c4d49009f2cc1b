"""Reads of personal data are recorded: opening a conversation or a contact, searching by phone, downloading
an export; at most once per user, object and hour (UTC clock hour), so the trail stays readable and the hot
path pays one Redis round trip for a repeated read."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections import OrderedDict

from redis.exceptions import RedisError
from sqlmodel import Session

from crm_app.crypto import derive_key
from crm_app.db import utcnow
from crm_app.domain.audit_chain import canonical_json
from crm_app.queue import get_redis
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor

KEY_TTL = 3700  # an hour and a little: the key outlives its clock hour
_PHONE = re.compile(r"^\+?[\d\s().-]{8,}$")


def looks_like_phone(query: str | None) -> bool:
    """A search term that is a phone number (8 digits or more, with the usual punctuation)."""
    return bool(query and _PHONE.match(query.strip()) and sum(c.isdigit() for c in query) >= 8)


# The keys this process already saw set in Redis: a repeated open skips even the Redis round trip.
_SEEN: OrderedDict[str, None] = OrderedDict()
SEEN_MAX = 20_000


def _first_this_hour(actor: Actor, action: str, target: str, now: dt.datetime) -> bool:
    key = f"crm:audit:read:{actor.tenant_id}:{actor.user_id}:{action}:{target}:{now:%Y%m%d%H}"
    if key in _SEEN:
        return False
    try:
        first = bool(get_redis().set(key, 1, nx=True, ex=KEY_TTL))
    except RedisError:
        return True  # Redis down: a duplicate read in the trail is better than a missing one
    _SEEN[key] = None
    while len(_SEEN) > SEEN_MAX:
        _SEEN.popitem(last=False)
    return first


def forget_seen() -> None:
    """Drop this process's memory of recorded reads (tests that reset Redis call it too)."""
    _SEEN.clear()


def record_read(session: Session, *, actor: Actor | None, action: str, target_type: str, target_id: object,
                details: dict | None = None, now: dt.datetime | None = None) -> bool:
    """Add a read entry to the caller's transaction unless this user read this object this hour.

    Args:
        session: The read's session (committed by the caller, with the read).
        actor: The reader; None (the system) is never recorded.
        action: `conversation.view`, `contact.view`, `contact.search`, `export.download`.
        target_type: The object's type.
        target_id: The object's id (a search is keyed by a digest of its term, which goes to the side table).
        details: Personal values of the read (the searched phone), kept in the side table.
        now: The clock.

    Returns:
        True when an entry was added.
    """
    if actor is None or actor.user_id is None:
        return False
    if not _first_this_hour(actor, action, f"{target_type}:{target_id}", (now or utcnow()).astimezone(dt.UTC)):
        return False
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action=action, target_type=target_type,
                 target_id=target_id, after=details)
    return True


def record_export(session: Session, *, actor: Actor | None, kind: str, filters: dict | None = None,
                  now: dt.datetime | None = None) -> bool:
    """Record a filtered export (the audit CSV) as a read, `export.download`, once per user, object and hour.

    The object is `<kind>:<digest of the filters>`, so the same export with other filters is another object;
    the kind and the filters themselves go with the entry. Downloads of an object with its own id (a bundle, a
    report) call `record_read` with that object instead.

    Args:
        session: The download's session (committed by the caller).
        actor: Who exports.
        kind: What is exported (`audit_csv`).
        filters: The export's filters as codes and ids only, never a personal value (pass a flag instead).
        now: The clock.

    Returns:
        True when an entry was added.
    """
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    digest = hashlib.sha256(canonical_json(filters).encode()).hexdigest()[:12]
    return record_read(session, actor=actor, action="export.download", target_type="export",
                       target_id=f"{kind}:{digest}", details={"kind": kind, "filters": filters}, now=now)


def phone_search_key(tenant_id: int, digits: str) -> str:
    """The object id of a phone search: HMAC-SHA256 of the digits under a per-tenant key derived from
    ENCRYPTION_KEY (HKDF). A plain digest of a phone number is undone by trying every number (Brazil's are a few
    billion); without the key, the chain's copy says nothing of the number, and one tenant's key nothing of
    another's."""
    key = derive_key(f"audit-phone-search:{tenant_id}")
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:32]


def record_phone_search(session: Session, *, actor: Actor | None, query: str | None,
                        now: dt.datetime | None = None) -> bool:
    """Record a search by phone (the number in the side table, which erasure may delete; the entry keyed by
    `phone_search_key`); other searches are not."""
    if not looks_like_phone(query):
        return False
    digits = re.sub(r"\D", "", query or "")
    key = phone_search_key(actor.tenant_id if actor else 0, digits)
    return record_read(session, actor=actor, action="contact.search", target_type="search", target_id=key,
                       details={"phone": digits}, now=now)
