"""The audit chain's arithmetic: canonical JSON, the details digest and an entry's hash (pure)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One spelling for one value: sorted keys, no spaces, UTF-8 kept, anything else as its str()."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def details_digest(salt: str, actor_label: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """SHA-256 over the salt and the personal values; the salt stops anyone confirming a guessed value."""
    values = {"actor_label": actor_label, "before": before, "after": after}
    return hashlib.sha256((salt + canonical_json(values)).encode()).hexdigest()


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ChainFields:
    """What the hash covers: every column of an entry except the hash itself and the sealing time."""

    id: int
    tenant_id: int
    seq: int
    actor_user_id: int | None
    action: str
    target_type: str
    target_id: str | None
    ip: str | None
    created_at: dt.datetime
    digest: str

    def canonical(self) -> str:
        """The entry's canonical JSON."""
        return canonical_json({"id": self.id, "tenant_id": self.tenant_id, "seq": self.seq,
                               "actor_user_id": self.actor_user_id, "action": self.action,
                               "target_type": self.target_type, "target_id": self.target_id, "ip": self.ip,
                               "created_at": _instant(self.created_at), "digest": self.digest})


def entry_hash(prev_hash: str, fields: ChainFields) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON.

    Args:
        prev_hash: The hash of the entry before (GENESIS for the first).
        fields: The entry.

    Returns:
        64 lowercase hex digits.
    """
    return hashlib.sha256((prev_hash + fields.canonical()).encode()).hexdigest()
