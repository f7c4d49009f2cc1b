"""Queue and send e-mail through the sandbox's real SMTP server with real RQ workers: the caller's transaction,
retries after the server was down, idempotence, permanent failures, resend, and the log's access rules."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text
from sqlmodel import select

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import Email
from crm_app.queue import get_queue
from crm_app.services import mail, settings
from crm_app.services.core import jobs
from tests.factories import make_tenant, make_user
from tests.support.mail import smtp_sandbox
from tests.support.whatsapp import run_burst_worker


@pytest.fixture(scope="module")
def sandbox():
    with smtp_sandbox() as box:
        yield box


@pytest.fixture
def tenant(db, sandbox):
    sandbox.reset()
    settings.update(db, actor=None, changes=sandbox.global_settings(), tenant_id=None)
    db.commit()
    return make_tenant(db)


def _drain() -> None:
    result = run_burst_worker("default")
    assert result.returncode == 0, result.stderr[-2000:]


def _queue(db, tenant, to="bia@example.com") -> int:
    email = mail.queue_notification(db, tenant_id=tenant.id, to=to, title="Olá <Bia>", body="Corpo",
                                    link="https://crm.example/alerts", locale="pt-BR")
    db.commit()
    return email.id


def _row(db, email_id: int) -> Email:
    db.expire_all()
    return db.get(Email, email_id)


def test_a_mail_is_written_in_the_callers_transaction_and_sent_by_a_worker(db, tenant, sandbox):
    mail.queue_email(db, tenant_id=tenant.id, to="nobody@example.com", template="test", params={"sender": "A"})
    db.rollback()  # nothing stored, nothing queued
    assert db.exec(select(Email)).all() == [] and get_queue("default").count == 0
    email_id = _queue(db, tenant)
    assert get_queue("default").job_ids == [jobs.job_id("send_email", email_id)]
    _drain()
    row = _row(db, email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None) and row.sent_at is not None
    [captured] = sandbox.messages()
    assert captured["rcpt_tos"] == ["bia@example.com"] and captured["subject"] == "Olá <Bia>"
    assert captured["from"] == "Atende CRM <no-reply@atende.example>" and captured["login"] == "demo"
    assert parsedate_to_datetime(captured["date"]).tzinfo is not None
    assert captured["headers"]["Message-ID"].endswith("@atende.example>")
    assert "Olá &lt;Bia&gt;" in captured["html"] and "Corpo" in captured["text"]
    assert 'href="https://crm.example/alerts"' in captured["html"]


def test_a_mail_is_retried_after_the_server_was_down_then_sent_once(db, tenant, sandbox):
    sandbox.control(mode="421")
    email_id = _queue(db, tenant)
    _drain()
    row = _row(db, email_id)
    assert (row.status, row.attempts) == ("queued", 1) and "421" in row.last_error
    assert row.next_attempt_at is not None and sandbox.messages() == []
    # The retry waits in RQ's scheduled registry (no sleeping worker); bring it forward as RQ's scheduler
    # does when it is due, with the server back up.
    scheduled = ScheduledJobRegistry(queue=get_queue("default"))
    [retry_id] = scheduled.get_job_ids()
    assert retry_id.startswith(f"send-email-{email_id}-retry-1-")
    sandbox.control(mode="up")
    scheduled.remove(retry_id)
    get_queue("default").enqueue_job(get_queue("default").fetch_job(retry_id))
    _drain()
    row = _row(db, email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(sandbox.messages()) == 1
    # The same job again (a duplicate, the sweeper): nothing more is sent.
    jobs.enqueue("send_email", email_id, tag="again")
    _drain()
    assert mail.deliver_email(email_id) == "skipped"
    assert len(sandbox.messages()) == 1 and _row(db, email_id).attempts == 2


def test_a_refused_connection_is_retried_too(db, tenant, sandbox):
    sandbox.control(mode="refuse")
    email_id = _queue(db, tenant)
    assert mail.deliver_email(email_id) == "retry"
    assert "could not reach" in _row(db, email_id).last_error
    sandbox.control(mode="up")
    assert mail.deliver_email(email_id) == "sent"
    assert mail.deliver_email(email_id) == "skipped"
    assert len(sandbox.messages()) == 1


def test_the_last_attempt_marks_the_mail_failed(db, tenant, sandbox):
    sandbox.control(mode="421")
    email_id = _queue(db, tenant)
    results = [mail.deliver_email(email_id) for _ in range(mail.outbox.MAX_ATTEMPTS)]
    assert results == ["retry"] * (mail.outbox.MAX_ATTEMPTS - 1) + ["failed"]
    assert _row(db, email_id).status == "failed"


def test_a_refused_login_fails_at_once_without_the_password_and_an_admin_resends_it(db, tenant, sandbox):
    admin = make_user(db, tenant.id, "admin")
    sandbox.control(refuse_logins=True)
    email_id = _queue(db, tenant)
    assert mail.deliver_email(email_id) == "failed"
    row = _row(db, email_id)
    assert row.attempts == 1 and "refused the login (535)" in row.last_error
    assert sandbox.global_settings()["mail.smtp_password"] not in row.last_error
    sandbox.control(refuse_logins=False)
    resent = mail.resend_email(db, actor=admin, email_id=email_id)
    db.commit()
    assert (resent.status, resent.attempts) == ("queued", 0)
    _drain()
    assert _row(db, email_id).status == "sent" and len(sandbox.messages()) == 1
    with pytest.raises(ValidationError):  # a sent mail is not sent again
        mail.resend_email(db, actor=admin, email_id=email_id)


def test_a_tenant_with_its_own_server_sends_through_it_and_the_others_through_the_platforms(db, tenant, sandbox):
    """SMTP values are global, overridable per tenant: the job sends each mail with its own tenant's values."""
    pousada = make_tenant(db)
    with smtp_sandbox() as own:  # a second server: the tenant's own
        mail.save_smtp(db, actor=make_user(db, pousada.id, "admin"), changes={
            **own.global_settings(), "mail.from_address": "reservas@pousada.example", "mail.from_name": "Pousada Sol"})
        db.commit()
        platform_id, own_id = _queue(db, tenant, to="bia@example.com"), _queue(db, pousada, to="caio@example.com")
        _drain()
        assert (_row(db, platform_id).status, _row(db, own_id).status) == ("sent", "sent")
        [mine] = own.messages()
        assert mine["rcpt_tos"] == ["caio@example.com"] and mine["from"] == "Pousada Sol <reservas@pousada.example>"
    [platforms] = sandbox.messages()
    assert platforms["rcpt_tos"] == ["bia@example.com"]
    assert platforms["from"] == "Atende CRM <no-reply@atende.example>"


def test_no_smtp_server_configured_fails_with_a_clear_reason(db, sandbox):
    sandbox.reset()
    tenant = make_tenant(db)  # no global mail.* values: the default host is blank
    email_id = _queue(db, tenant)
    assert mail.deliver_email(email_id) == "failed"
    assert _row(db, email_id).last_error == "no SMTP server is configured"


def test_the_sweeper_requeues_a_mail_whose_job_was_lost(db, tenant, sandbox):
    email_id = _queue(db, tenant)
    get_queue("default").empty()  # the job is lost
    assert mail.sweep_queued_emails() == 0  # not yet overdue
    db.execute(text("UPDATE emails SET updated_at = updated_at - interval '10 minutes'"))
    db.commit()
    assert mail.sweep_queued_emails() == 1
    _drain()
    assert _row(db, email_id).status == "sent"


def test_the_log_is_for_the_tenants_admins_only(db, tenant, sandbox):
    admin, attendant = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "attendant")
    other = make_user(db, make_tenant(db).id, "admin")
    email_id = _queue(db, tenant)
    assert [r.id for r in mail.list_emails(db, actor=admin)] == [email_id]
    assert mail.list_emails(db, actor=other) == []
    with pytest.raises(PermissionDenied):
        mail.list_emails(db, actor=attendant)
    with pytest.raises(NotFound):
        mail.resend_email(db, actor=other, email_id=email_id)
    with pytest.raises(PermissionDenied):
        mail.resend_email(db, actor=attendant, email_id=email_id)
    with pytest.raises(PermissionDenied):
        mail.send_test_email(db, actor=attendant)


def test_two_runs_at_once_send_once(db, tenant, sandbox):
    from concurrent.futures import ThreadPoolExecutor

    email_id = _queue(db, tenant)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(mail.deliver_email, [email_id, email_id]))
    assert results == ["sent", "skipped"]  # the second waited on the row lock, then found it sent
    assert len(sandbox.messages()) == 1 and _row(db, email_id).attempts == 1


def test_an_attempt_that_died_midway_counts_and_the_sweeper_takes_it_back(db, tenant, sandbox):
    import datetime as dt

    from crm_app.db import utcnow
    from crm_app.services.mail import outbox

    email_id = _queue(db, tenant)
    get_queue("default").empty()
    row = _row(db, email_id)  # a worker claimed it, then died before it recorded anything
    row.status, row.attempts, row.next_attempt_at = "sending", 1, utcnow() + dt.timedelta(minutes=2)
    db.add(row)
    db.commit()
    assert mail.deliver_email(email_id) == "skipped"  # another run never sends a mail an attempt holds
    mail.sweep_queued_emails()
    assert _row(db, email_id).status == "sending"  # its lease still runs
    row = _row(db, email_id)
    row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    db.add(row)
    db.commit()
    mail.sweep_queued_emails()
    row = _row(db, email_id)
    assert (row.status, row.attempts) == ("queued", 1) and "interrupted" in row.last_error
    assert sandbox.messages() == []
    assert mail.deliver_email(email_id) == "sent"  # its retry
    row = _row(db, email_id)
    assert (row.attempts, row.body_text, row.body_html) == (2, "", "")  # sent: the bodies (links) are gone
    [captured] = sandbox.messages()
    assert captured["headers"]["Message-ID"].startswith(f"<crm-email-{email_id}-")  # the same id on any retry
    # On its last attempt, a death gives up.
    other = _queue(db, tenant)
    row = _row(db, other)
    row.status, row.attempts = "sending", outbox.MAX_ATTEMPTS
    row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    db.add(row)
    db.commit()
    mail.sweep_queued_emails()
    assert _row(db, other).status == "failed"


def test_test_mails_are_limited_per_tenant(db, tenant, sandbox, redis_client):
    from crm_app.errors import TooManyRequests
    from crm_app.services.mail.outbox import TEST_MAIL_LIMIT

    admin, neighbour = make_user(db, tenant.id, "admin"), make_user(db, make_tenant(db).id, "admin")
    # tenant ids start again in every test's fresh tables: forget counts an earlier test left in this Redis
    redis_client.delete(*(f"crm:mail:test:{user.tenant_id}" for user in (admin, neighbour)))
    for _ in range(TEST_MAIL_LIMIT):
        mail.send_test_email(db, actor=admin)
        db.commit()
    with pytest.raises(TooManyRequests) as caught:
        mail.send_test_email(db, actor=admin)
    assert caught.value.status == 429 and 0 < caught.value.params["retry_after"] <= 600
    db.rollback()
    assert len(db.exec(select(Email).where(Email.tenant_id == tenant.id)).all()) == TEST_MAIL_LIMIT
    mail.send_test_email(db, actor=neighbour)  # another tenant has its own count
    db.commit()
