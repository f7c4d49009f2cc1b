"""Data-subject requests (LGPD art. 18): the queue with its due dates, and the jobs that answer them.

A request has a kind (access, correction, erasure, consent withdrawal), a due date (15 calendar days by
default, art. 19; a tenant may count business days of its calendar), a status, an assignee and a log.
Access and erasure are `bulk` jobs that record their position on the request, so a killed job resumes:
`resume_stalled_requests` (periodic, `default`) queues again a request that no job has moved for longer than
the job's timeout, noting the attempt in the request's log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rq.job import JobStatus
from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain import consent as rules
from crm_app.errors import Conflict, NotFound, ValidationError
from crm_app.models import ConsentSource, Contact, PrivacyRequest, RequestKind, RequestStatus, User
from crm_app.queue import get_queue
from crm_app.services import settings
from crm_app.services.audit import reads
from crm_app.services.compliance import consent, erasure
from crm_app.services.core import audit, jobs
from crm_app.services.core.actors import Actor, require_role

PRIVACY_ROLES = consent.PRIVACY_ROLES
JOB = "run_privacy_request"
DOWNLOAD_HOURS = 24
OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS)
# A job records its progress after every step, and RQ kills it at its timeout: a request no job has touched for
# longer than that has no live job (it was killed, or its job was lost with Redis).
STALLED_AFTER = dt.timedelta(seconds=jobs.spec(JOB).timeout + 60)
MAX_RESUMES = 5
_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


@dataclass(frozen=True)
class RequestRow:
    """One request as the page and the API show it (no personal values besides the contact's id and name)."""

    id: int
    contact_id: int
    contact_name: str | None
    kind: str
    status: str
    due_on: dt.date
    due_soon: bool
    overdue: bool
    assignee_id: int | None
    progress: dict
    log: list
    error: str | None
    has_bundle: bool
    created_at: dt.datetime
    completed_at: dt.datetime | None


def _today(actor: Actor) -> dt.date:
    return utcnow().astimezone(ZoneInfo(actor.timezone)).date()


def _row(request: PrivacyRequest, name: str | None, today: dt.date) -> RequestRow:
    pending = request.status in OPEN_STATUSES
    return RequestRow(request.id, request.contact_id, name, request.kind, request.status, request.due_on,
                      pending and rules.is_due_soon(request.due_on, today), pending and request.due_on < today,
                      request.assignee_id, dict(request.progress), list(request.log), request.error,
                      request.result_key is not None, request.created_at, request.completed_at)


def due_on(session: Session, tenant_id: int, received: dt.date) -> dt.date:
    """The due date of a request received on `received`, by the tenant's rule and calendar.

    Calendar days by default (LGPD art. 19), moved to the next business day when the last day is closed;
    or business days, skipping weekends and the tenant's holidays.
    """
    from crm_app.services.settings.calendar import tenant_calendar

    days = settings.value(session, "privacy.request_due_days", tenant_id=tenant_id)
    calendar = tenant_calendar(tenant_id, session=session)
    if settings.value(session, "privacy.due_in_business_days", tenant_id=tenant_id):
        return rules.due_date_business(received, days, calendar)
    return rules.next_open_day(rules.due_date(received, days), calendar)


def _log(request: PrivacyRequest, event: str, actor: Actor | None) -> None:
    entry = {"at": utcnow().isoformat(), "by": actor.user_id if actor else None, "event": event}
    request.log = [*request.log, entry]
    request.updated_at = utcnow()


def _contact(session: Session, actor: Actor, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != actor.tenant_id:
        raise NotFound("contact not found")
    return contact


def create_request(session: Session, *, actor: Actor, contact_id: int, kind: str, details: str = "",
                   today: dt.date | None = None) -> RequestRow:
    """Open a request; access and erasure start their job after commit, a withdrawal is applied at once.

    Raises NotFound for an unknown contact, Conflict for erasure of a contact under legal hold or already
    erased, ValidationError for an unknown kind.
    """
    require_role(actor, *PRIVACY_ROLES)
    if kind not in set(RequestKind):
        raise ValidationError(f"kind must be one of {', '.join(RequestKind)}", field="kind")
    contact = _contact(session, actor, contact_id)
    if kind == RequestKind.ERASURE:
        erasure.check_erasable(session, actor.tenant_id, contact_id)
    received = today or _today(actor)
    request = PrivacyRequest(tenant_id=actor.tenant_id, contact_id=contact_id, kind=kind,
                             due_on=due_on(session, actor.tenant_id, received), created_by_id=actor.user_id,
                             assignee_id=actor.user_id, details=details[:2000])
    _log(request, "created", actor)
    session.add(request)
    session.flush()
    _start(session, request, actor)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action=f"privacy.request.{kind}",
                 target_type="privacy_request", target_id=request.id, after={"contact_id": contact_id})
    session.flush()
    return _row(request, contact.name, received)


def _start(session: Session, request: PrivacyRequest, actor: Actor) -> None:
    if request.kind == RequestKind.CONSENT_WITHDRAWAL:
        for purpose in ("marketing", "pesquisa"):
            consent.record(session, tenant_id=request.tenant_id, contact_id=request.contact_id, purpose=purpose,
                           granted=False, source=ConsentSource.ADMIN, proof=f"request:{request.id}", actor=actor)
        _finish(request, "consents withdrawn", actor)
    elif request.kind in (RequestKind.ACCESS, RequestKind.ERASURE):
        request.status, request.progress = RequestStatus.IN_PROGRESS, {"step": 0, "total": 0}
        jobs.enqueue_after_commit(session, JOB, request.id)


def _finish(request: PrivacyRequest, event: str, actor: Actor | None) -> None:
    request.status, request.completed_at = RequestStatus.DONE, utcnow()
    _log(request, event, actor)


def list_requests(session: Session, *, actor: Actor, status: str | None = None) -> list[RequestRow]:
    """The tenant's requests, soonest due first (done ones after the pending)."""
    require_role(actor, *PRIVACY_ROLES)
    query = select(PrivacyRequest, Contact.name).join(Contact, Contact.id == PrivacyRequest.contact_id).where(
        PrivacyRequest.tenant_id == actor.tenant_id)
    if status:
        query = query.where(PrivacyRequest.status == status)
    today = _today(actor)
    rows = [_row(r, name, today) for r, name in session.exec(query).all()]
    return sorted(rows, key=lambda r: (r.status not in OPEN_STATUSES, r.due_on, r.id))


def get_request(session: Session, *, actor: Actor, request_id: int) -> RequestRow:
    """One request of the actor's tenant; NotFound otherwise."""
    require_role(actor, *PRIVACY_ROLES)
    request = session.get(PrivacyRequest, request_id)
    if request is None or request.tenant_id != actor.tenant_id:
        raise NotFound("request not found")
    return _row(request, session.get(Contact, request.contact_id).name, _today(actor))


def _owned(session: Session, actor: Actor, request_id: int) -> PrivacyRequest:
    require_role(actor, *PRIVACY_ROLES)
    request = session.get(PrivacyRequest, request_id)
    if request is None or request.tenant_id != actor.tenant_id:
        raise NotFound("request not found")
    return request


def assign(session: Session, *, actor: Actor, request_id: int, user_id: int | None) -> RequestRow:
    """Give the request to a DPO or admin of the tenant (None: nobody)."""
    request = _owned(session, actor, request_id)
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.tenant_id != actor.tenant_id or user.role not in PRIVACY_ROLES:
            raise ValidationError("assignee must be an admin or DPO of this tenant", field="assignee_id")
    request.assignee_id = user_id
    _log(request, "assigned", actor)
    session.add(request)
    session.flush()
    return get_request(session, actor=actor, request_id=request_id)


def complete(session: Session, *, actor: Actor, request_id: int, rejected: bool = False) -> RequestRow:
    """Close a manual request (a correction done in the contact's panel) as done or rejected."""
    request = _owned(session, actor, request_id)
    if request.status not in OPEN_STATUSES:
        raise Conflict("request is already closed")
    if request.kind in (RequestKind.ACCESS, RequestKind.ERASURE) and not rejected:
        raise Conflict("this request is completed by its job")
    if rejected:
        request.status, request.completed_at = RequestStatus.REJECTED, utcnow()
        _log(request, "rejected", actor)
    else:
        _finish(request, "completed", actor)
    session.add(request)
    session.flush()
    return get_request(session, actor=actor, request_id=request_id)


def create_download_link(session: Session, *, actor: Actor, request_id: int) -> str:
    """A one-day token for the access bundle of a finished request; the token is shown once."""
    request = _owned(session, actor, request_id)
    if request.kind != RequestKind.ACCESS or request.result_key is None:
        raise Conflict("the bundle is not ready")
    token = secrets.token_urlsafe(32)
    request.download_token_hash = hashlib.sha256(token.encode()).hexdigest()
    request.download_expires_at = utcnow() + dt.timedelta(hours=DOWNLOAD_HOURS)
    _log(request, "download link created", actor)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="privacy.bundle.link",
                 target_type="privacy_request", target_id=request.id)
    session.add(request)
    return token


def read_download(session: Session, *, actor: Actor, token: str) -> tuple[bytes, str]:
    """The bundle behind a download token, for an admin or DPO of its tenant; NotFound when expired."""
    from crm_app.integrations.storage import get_storage

    require_role(actor, *PRIVACY_ROLES)
    digest = hashlib.sha256(token.encode()).hexdigest()
    request = session.exec(select(PrivacyRequest).where(PrivacyRequest.download_token_hash == digest)).first()
    if (request is None or request.tenant_id != actor.tenant_id or request.result_key is None
            or request.download_expires_at is None or request.download_expires_at < utcnow()):
        raise NotFound("download link not found or expired")
    reads.record_read(session, actor=actor, action="privacy.bundle.download", target_type="privacy_request",
                      target_id=request.id, details={"kind": "privacy_bundle", "contact_id": request.contact_id})
    return get_storage().read(request.result_key), f"dados-{request.contact_id}-{request.id}.zip"


def record_progress(request_id: int, **values) -> None:
    """Store the job's position on the request (its own transaction), so a killed job resumes from it."""
    with session_scope() as session:
        request = session.get(PrivacyRequest, request_id)
        request.progress = {**request.progress, **values}
        request.updated_at = utcnow()
        session.add(request)


def run_request(request_id: int) -> str:
    """Job: run (or resume) an access or erasure request. Idempotent: a finished request is left alone."""
    with session_scope() as session:
        request = session.get(PrivacyRequest, request_id)
        if request is None or request.status != RequestStatus.IN_PROGRESS:
            return "skipped"
        kind, tenant_id, contact_id = request.kind, request.tenant_id, request.contact_id
        start = int(request.progress.get("step", 0))
        if kind == RequestKind.ERASURE and erasure.active_hold(session, contact_id) is not None:
            request.status, request.error = RequestStatus.FAILED, "contact is under legal hold"
            _log(request, "blocked by legal hold", None)
            return "held"
    if kind == RequestKind.ERASURE:
        record_progress(request_id, total=len(erasure.STEPS))
        erasure.run_steps(tenant_id, contact_id, start=start,
                          on_step=lambda i: record_progress(request_id, step=i, done=i))
    else:
        from crm_app.services.compliance import bundle

        record_progress(request_id, started=True)  # alive from now: the resume sweep counts from here
        key = bundle.build_bundle(tenant_id, contact_id, request_id,
                                  on_progress=lambda done, total: record_progress(request_id, done=done, total=total))
        with session_scope() as session:
            session.get(PrivacyRequest, request_id).result_key = key
    with session_scope() as session:
        request = session.get(PrivacyRequest, request_id)
        _finish(request, f"{kind} done", None)
        session.add(request)
    return "done"


def resume_stalled_requests(now: dt.datetime | None = None) -> int:
    """Job (periodic, `default`): queue again each access or erasure request whose job died midway.

    A request is stalled when it is in progress and untouched for longer than its job's timeout, and its job
    is not waiting in the queue (a backlog is not a death). The job resumes from the step the request
    recorded; each attempt goes into the request's log, and after `MAX_RESUMES` the request fails so that a
    person looks at it. Running the sweep twice queues nothing twice: an attempt touches the request.

    Returns:
        How many requests it queued again.
    """
    now = now or utcnow()
    with session_scope() as session:
        ids = session.exec(select(PrivacyRequest.id).where(
            PrivacyRequest.status == RequestStatus.IN_PROGRESS,
            PrivacyRequest.kind.in_((RequestKind.ACCESS, RequestKind.ERASURE)),
            PrivacyRequest.updated_at < now - STALLED_AFTER).order_by(PrivacyRequest.id)).all()
    return sum(_resume(request_id, now) for request_id in ids)


def _job_tag(attempt: int) -> str | None:
    return f"resume-{attempt}" if attempt else None


def _job_waiting(request_id: int, attempt: int) -> bool:
    job = get_queue(jobs.spec(JOB).queue).fetch_job(jobs.job_id(JOB, request_id, tag=_job_tag(attempt)))
    return job is not None and job.get_status(refresh=False) in _WAITING


def _resume(request_id: int, now: dt.datetime) -> bool:
    with session_scope() as session:
        request = session.exec(select(PrivacyRequest).where(PrivacyRequest.id == request_id)
                               .with_for_update(skip_locked=True)).first()
        if (request is None or request.status != RequestStatus.IN_PROGRESS
                or request.updated_at >= now - STALLED_AFTER):
            return False  # finished, or touched, since the list was read
        attempt = int(request.progress.get("resumes", 0))
        if _job_waiting(request_id, attempt):
            return False
        where = f"step {request.progress.get('step', 0)} of {request.progress.get('total') or '?'}"
        if attempt >= MAX_RESUMES:
            request.status = RequestStatus.FAILED
            request.error = f"the job stopped {attempt + 1} times without finishing ({where})"
            _log(request, f"job stopped at {where}; given up after {MAX_RESUMES} resumptions", None)
        else:
            request.progress = {**request.progress, "resumes": attempt + 1}
            _log(request, f"job stopped at {where} without finishing; queued again (attempt {attempt + 1})", None)
            jobs.enqueue_after_commit(session, JOB, request_id, tag=_job_tag(attempt + 1))
        request.updated_at = max(request.updated_at, now)
        session.add(request)
    return attempt < MAX_RESUMES
