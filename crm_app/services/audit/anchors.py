"""Anchoring: each chain's newest (seq, hash), written daily outside the database as a signed file.

Deleting the newest entries (and fixing the head row to match) leaves a chain that verifies on its own;
the anchor written outside the table is what still remembers the newer hash. Files live in the storage
under `audit-anchors/<tenant>/<day>.json` and `audit-anchors/<tenant>/latest.json`, signed with an HMAC
keyed from the install's SECRET_KEY.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.domain.audit_chain import canonical_json
from crm_app.i18n import catalogue
from crm_app.integrations.storage import get_storage
from crm_app.models import AuditChainHead, Tenant, User
from crm_app.services import settings
from crm_app.services.mail import outbox

PREFIX = "audit-anchors"
LOOKBACK_DAYS = 31


def _key() -> bytes:
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, b"audit-anchor-v1", hashlib.sha256).digest()


def _sign(body: dict) -> str:
    return hmac.new(_key(), canonical_json(body).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """One anchored position; `valid` is False when its signature does not match."""

    tenant_id: int
    seq: int
    hash: str
    at: str
    valid: bool


def write_anchors(session: Session, *, now: dt.datetime) -> int:
    """Write today's anchor for every chain that has a sealed entry; idempotent within a day.

    Returns:
        How many anchors were written.
    """
    storage, day = get_storage(), now.astimezone(dt.UTC).date().isoformat()
    written = 0
    for head in session.exec(select(AuditChainHead).where(AuditChainHead.seq > 0)).all():
        body = {"tenant_id": head.tenant_id, "seq": head.seq, "hash": head.hash, "at": now.isoformat()}
        signature = _sign(body)
        data = json.dumps({**body, "signature": signature}).encode()
        first_today = not storage.exists(f"{PREFIX}/{head.tenant_id}/{day}.json")
        storage.put(f"{PREFIX}/{head.tenant_id}/{day}.json", data)
        storage.put(f"{PREFIX}/{head.tenant_id}/latest.json", data)
        if first_today:
            email_anchor(session, body, signature, day=day)
        written += 1
    return written


def email_anchor(session: Session, body: dict, signature: str, *, day: str) -> int:
    """Queue the day's anchor to the tenant's active DPOs when its setting `privacy.email_audit_anchor` asks and
    it can send e-mail; in the caller's transaction (sent after commit). Returns how many were queued."""
    tenant_id = body["tenant_id"]
    if not settings.value(session, "privacy.email_audit_anchor", tenant_id=tenant_id):
        return 0
    if not outbox.can_send(session, tenant_id=tenant_id):
        return 0
    tenant = session.get(Tenant, tenant_id)
    dpos = session.exec(select(User).where(User.tenant_id == tenant_id, User.role == "dpo",
                                           User.is_active.is_(True)).order_by(User.id)).all()
    for user in dpos:
        words = catalogue(user.locale or (tenant.locale if tenant else None) or "pt-BR")
        outbox.queue_notification(
            session, tenant_id=tenant_id, to=user.email, locale=user.locale, user_id=user.id,
            title=words["audit.anchor_mail.title"].format(day=day),
            body=words["audit.anchor_mail.body"].format(tenant=tenant.name if tenant else tenant_id, at=body["at"],
                                                        seq=body["seq"], hash=body["hash"], signature=signature))
    return len(dpos)


def purge_record_key(tenant_id: int) -> str:
    """Where a deleted tenant's purge record lives."""
    return f"{PREFIX}/{tenant_id}/purged.json"


def write_purge_record(*, tenant_id: int, last_seq: int, last_hash: str, entries: int, reason: str,
                       now: dt.datetime) -> str:
    """Sign and store the end of a deleted tenant's chain (its table rows are gone); returns the file's key.

    Written after the purge commits; idempotent (the same tenant is only ever purged once).
    """
    body = {"tenant_id": tenant_id, "seq": last_seq, "hash": last_hash, "at": now.isoformat(),
            "purged_entries": entries, "reason": reason}
    key = purge_record_key(tenant_id)
    get_storage().put(key, json.dumps({**body, "signature": _sign(body)}).encode())
    return key


def read_purge_record(tenant_id: int) -> dict | None:
    """A deleted tenant's purge record with `valid` (its signature checks), or None when there is none."""
    storage, key = get_storage(), purge_record_key(tenant_id)
    if not storage.exists(key):
        return None
    raw = json.loads(storage.read(key))
    body = {k: v for k, v in raw.items() if k != "signature"}
    return {**body, "valid": hmac.compare_digest(_sign(body), str(raw.get("signature", "")))}


def _read(key: str) -> Anchor | None:
    storage = get_storage()
    if not storage.exists(key):
        return None
    try:
        raw = json.loads(storage.read(key))
        body = {k: raw[k] for k in ("tenant_id", "seq", "hash", "at")}
    except (ValueError, KeyError, TypeError):
        return Anchor(0, 0, "", "", False)
    valid = hmac.compare_digest(_sign(body), str(raw.get("signature", "")))
    return Anchor(int(body["tenant_id"]), int(body["seq"]), str(body["hash"]), str(body["at"]), valid)


def read_anchors(tenant_id: int, *, today: dt.date) -> list[Anchor]:
    """The tenant's anchors of the last month and the latest one, newest seq first."""
    keys = [f"{PREFIX}/{tenant_id}/latest.json"]
    keys += [f"{PREFIX}/{tenant_id}/{(today - dt.timedelta(days=n)).isoformat()}.json" for n in range(LOOKBACK_DAYS)]
    found = {a for a in (_read(k) for k in keys) if a is not None}
    return sorted(found, key=lambda a: -a.seq)
