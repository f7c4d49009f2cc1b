"""Verification: the whole chain, its head and its anchors, for one tenant or all; the button, the CLI and the
daily job all come here."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from redis.exceptions import RedisError
from sqlmodel import Session, select

from crm_app.errors import CRMError, NotFound
from crm_app.models import AuditChainHead, AuditDetail, AuditLog, Tenant, User
from crm_app.queue import get_redis
from crm_app.services.access.sessions import actor_for
from crm_app.services.audit import anchors, chain
from crm_app.services.audit.roles import READERS
from crm_app.services.core import audit, jobs
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)


def verify_tenant(session: Session, tenant_id: int, *, now: dt.datetime,
                  progress: Callable[[int], None] | None = None) -> chain.ChainReport:
    """Seal what is pending, then check the tenant's chain against its head and its anchors.

    Args:
        session: A session (sealing commits).
        tenant_id: The chain to check.
        now: The clock, for which anchor files to read.
        progress: Told how many entries were checked so far, now and then.

    Returns:
        The report; `broken` names the first broken entry or the anchor that disagrees.
    """
    chain.seal_tenant(session, tenant_id)
    found = anchors.read_anchors(tenant_id, today=now.astimezone(dt.UTC).date())
    if any(not a.valid or a.tenant_id != tenant_id for a in found):
        report = chain.verify_tenant(session, tenant_id, progress=progress)
        return chain.ChainReport(tenant_id, report.checked, report.last_seq, report.unsealed,
                                 report.broken or chain.ChainBreak("anchor_signature"))
    return chain.verify_tenant(session, tenant_id, anchors=[(a.seq, a.hash) for a in found], progress=progress)


def tenants_with_chains(session: Session) -> list[int]:
    """Every tenant that has entries or a chain head (a deleted newest entry still leaves its head)."""
    ids = set(session.exec(select(AuditChainHead.tenant_id)).all())
    ids |= set(session.exec(select(AuditLog.tenant_id).distinct()).all())
    return sorted(ids)


def verify_all(session: Session, *, now: dt.datetime, tenant_slug: str | None = None) -> list[chain.ChainReport]:
    """Check one tenant (by slug) or every chain; NotFound for an unknown slug."""
    if tenant_slug:
        tenant = session.exec(select(Tenant).where(Tenant.slug == tenant_slug)).first()
        if tenant is None:
            raise NotFound("tenant not found")
        return [verify_tenant(session, tenant.id, now=now)]
    return [verify_tenant(session, tenant_id, now=now) for tenant_id in tenants_with_chains(session)]


def verify_for_actor(session: Session, *, actor: Actor, now: dt.datetime) -> chain.ChainReport:
    """The actor's tenant's chain, checked in this call; admins only. The button queues `request_verification`
    instead, so a long chain never holds a request; this stays for callers that want the answer now.

    The check itself is recorded (`audit.verify`), so the trail shows who checked it and what was found.
    """
    require_role(actor, "admin")
    report = verify_tenant(session, actor.tenant_id, now=now)
    record_result(session, report, actor=actor)
    return report


def record_result(session: Session, report: chain.ChainReport, *, actor: Actor | None) -> None:
    """One `audit.verify` entry with the outcome; a break is also logged as an error (the alert, until the
    alerts area exists)."""
    broken = report.broken
    audit.record(session, actor=actor, tenant_id=report.tenant_id, action="audit.verify", target_type="audit",
                 after={"ok": report.ok, "checked": report.checked, "last_seq": report.last_seq,
                        "problem": broken.problem if broken else None,
                        "entry_id": broken.entry_id if broken else None})
    session.commit()
    if broken:
        log.error("audit chain of tenant %s is broken: %s at entry %s (seq %s)", report.tenant_id, broken.problem,
                  broken.entry_id, broken.seq)


class VerificationUnavailable(CRMError):
    """The check could not be queued (the queue is down); the daily check and the CLI still run."""

    code = "verification_unavailable"
    status = 503


@dataclass(frozen=True)
class VerifyStatus:
    """The button's check as the page shows it: `state` is none, queued, running or done; the outcome when done."""

    state: str
    checked: int = 0
    ok: bool = True
    problem: str | None = None
    entry_id: int | None = None
    seq: int | None = None
    at: str = ""
    token: str = ""


STATUS_RUNNING_TTL = 3600  # the job's timeout: a status stuck past it lets the button queue again
STATUS_DONE_TTL = 86400


def _status_key(tenant_id: int) -> str:
    return f"crm:audit:verify:{tenant_id}"


def _put_status(tenant_id: int, status: VerifyStatus, *, nx: bool = False) -> bool:
    ttl = STATUS_DONE_TTL if status.state == "done" else STATUS_RUNNING_TTL
    return bool(get_redis().set(_status_key(tenant_id), json.dumps(asdict(status)), nx=nx, ex=ttl))


def _stored_status(tenant_id: int) -> VerifyStatus | None:
    raw = get_redis().get(_status_key(tenant_id))
    return VerifyStatus(**json.loads(raw)) if raw else None


def request_verification(session: Session, *, actor: Actor, now: dt.datetime) -> VerifyStatus:
    """The Verificar integridade button: queue the check of the actor's tenant's chain (bulk queue); admins only.

    One check per tenant at a time: while one is queued or running, asking again returns its status. The job
    records the result as the actor (`audit.verify`) and leaves it in the status the page polls.
    """
    require_role(actor, "admin")
    status = VerifyStatus("queued", at=now.isoformat(), token=str(time.time_ns()))
    unavailable = VerificationUnavailable("the check could not be queued; try again in a minute")
    try:
        if not _put_status(actor.tenant_id, status, nx=True):
            current = _stored_status(actor.tenant_id)
            if current is not None and current.state in ("queued", "running"):
                return current
            _put_status(actor.tenant_id, status)
    except RedisError:
        raise unavailable from None
    try:
        jobs.enqueue("verify_audit_chain", actor.tenant_id, actor.user_id, actor.ip, status.token, tag=status.token)
    except Exception as exc:
        _forget_status(actor.tenant_id, status.token)  # no job would move it on: it held the button for an hour
        if isinstance(exc, RedisError):
            raise unavailable from None
        raise
    return status


def _forget_status(tenant_id: int, token: str) -> None:
    """Drop the status of request `token` if it is still the stored one; best effort (Redis may be down: then
    the status expires with its TTL)."""
    try:
        current = _stored_status(tenant_id)
        if current is not None and current.token == token:
            get_redis().delete(_status_key(tenant_id))
    except RedisError:
        log.warning("audit verification of tenant %s: a status with no job is left to expire", tenant_id)


def run_requested(session: Session, tenant_id: int, user_id: int | None, ip: str | None, token: str, *,
                  now: dt.datetime) -> VerifyStatus | None:
    """The button's job: check the chain, telling the status its progress, record and publish the outcome.

    Idempotent: a run whose request is no longer the pending one (done already, or replaced) does nothing.
    """
    current = _stored_status(tenant_id)
    if current is None or current.token != token or current.state == "done":
        return None
    _put_status(tenant_id, VerifyStatus("running", at=current.at, token=token))
    try:
        report = verify_tenant(session, tenant_id, now=now, progress=lambda checked: _put_status(
            tenant_id, VerifyStatus("running", checked=checked, at=current.at, token=token)))
    except Exception:
        get_redis().delete(_status_key(tenant_id))  # the button works again; the page shows the last result
        raise
    user = session.get(User, user_id) if user_id else None
    actor = actor_for(user, ip=ip) if user is not None and user.tenant_id == tenant_id else None
    record_result(session, report, actor=actor)
    broken = report.broken
    done = VerifyStatus("done", report.checked, report.ok, broken.problem if broken else None,
                        broken.entry_id if broken else None, broken.seq if broken else None, now.isoformat(), token)
    _put_status(tenant_id, done)
    return done


def verification_status(session: Session, *, actor: Actor) -> VerifyStatus:
    """The tenant's latest check for the page: the pending or finished one in Redis, else (Redis emptied or
    down) the newest `audit.verify` entry of the trail; readers of the trail."""
    require_role(actor, *READERS)
    try:
        stored = _stored_status(actor.tenant_id)
    except RedisError:
        stored = None
    if stored is not None:
        return stored
    row = session.exec(select(AuditLog.created_at, AuditDetail.after)
                       .join(AuditDetail, AuditDetail.digest == AuditLog.digest, isouter=True)
                       .where(AuditLog.tenant_id == actor.tenant_id, AuditLog.action == "audit.verify")
                       .order_by(AuditLog.id.desc()).limit(1)).first()
    if row is None:
        return VerifyStatus("none")
    after = dict(row[1] or {})
    return VerifyStatus("done", int(after.get("checked") or 0), bool(after.get("ok")), after.get("problem"),
                        after.get("entry_id"), None, row[0].isoformat())
