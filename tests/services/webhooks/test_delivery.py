"""Outgoing webhooks end to end: real PostgreSQL, Redis, RQ workers and the sandbox's receiver over HTTP; every
request the receiver got is verified with the official `standardwebhooks` package."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.errors import ValidationError
from crm_app.models import Email, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from crm_app.queue import get_queue, get_redis
from crm_app.services import access, settings, webhooks
from crm_app.services.webhooks import delivery, outbox
from tests.factories import make_tenant, make_user
from tests.support.sandbox import sandbox_in_thread
from tests.support.waiting import wait_for
from tests.support.webhooks import TIME_FACTOR, Receiver, default_worker, verify


@pytest.fixture(scope="module")
def receiver():
    with sandbox_in_thread() as base:
        yield Receiver(base)


@pytest.fixture(autouse=True)
def short_schedule(monkeypatch):
    """This process's retry schedule in milliseconds too, like the workers' (`tests.support.webhooks`)."""
    monkeypatch.setenv("WEBHOOK_TIME_FACTOR", TIME_FACTOR)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def admin(db, receiver):
    receiver.reset()
    redis = get_redis()
    flags = list(redis.scan_iter("crm:webhooks:*"))
    if flags:
        redis.delete(*flags)
    tenant = make_tenant(db)
    actor = make_user(db, tenant.id, role="admin", email=f"admin{tenant.id}@example.com")
    db.commit()
    return actor


def _endpoint(db, admin, receiver, name: str, **options) -> tuple[int, str]:
    view, secret = webhooks.create_endpoint(db, actor=admin, url=receiver.url(name), **options)
    db.commit()
    return view.id, secret


def _add_user(db, admin, email: str = "nova@example.com") -> int:
    """A real action that raises `user.created`."""
    row, _ = access.create_user(db, actor=admin, email=email, name="Nova", role="attendant",
                                password="Correct-Horse-Battery-9")
    db.commit()
    return row.id


def _endpoint_row(db, endpoint_id: int) -> WebhookEndpoint:
    db.expire_all()
    return db.get(WebhookEndpoint, endpoint_id)


def _deliveries(db, endpoint_id: int) -> list[WebhookDelivery]:
    db.expire_all()
    return db.exec(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                   .order_by(WebhookDelivery.id)).all()


def test_500_three_times_then_200_is_four_attempts_of_one_id_each_verified(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "a", event_types=["user.created"])
    receiver.control("a", mode="500", times=3)
    user_id = _add_user(db, admin)
    with default_worker():
        wait_for(lambda: [d for d in _deliveries(db, endpoint_id) if d.status == "succeeded"], timeout=60)
    got = receiver.requests("a")
    assert [r["answered"] for r in got] == [500, 500, 500, 200]
    assert len({r["headers"]["webhook-id"] for r in got}) == 1
    payloads = [verify(secret, r) for r in got]
    assert {p["type"] for p in payloads} == {"user.created"} and payloads[0]["data"]["user_id"] == user_id
    [row] = _deliveries(db, endpoint_id)
    assert (row.attempts, row.last_status_code) == (4, 200)
    attempts = db.exec(select(WebhookAttempt).where(WebhookAttempt.delivery_id == row.id)).all()
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert attempts[0].request_headers["webhook-signature"] == "***" and attempts[0].response_body


def test_410_disables_the_endpoint_and_emails_the_admins(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "gone")
    receiver.control("gone", mode="410")
    _add_user(db, admin)
    with default_worker():
        wait_for(lambda: [d for d in _deliveries(db, endpoint_id) if d.status == "failed"], timeout=60)
    db.expire_all()
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    assert [d.attempts for d in _deliveries(db, endpoint_id)] == [1]  # 410 is not retried
    mails = db.exec(select(Email).where(Email.tenant_id == admin.tenant_id)).all()
    assert [m.recipient for m in mails] == [admin.email] and "410" in mails[0].body_text
    verify(secret, receiver.requests("gone")[0])
    # While off it gets nothing new; enabled again, it hears the next events.
    _add_user(db, admin, "outra@example.com")
    assert [d.status for d in _deliveries(db, endpoint_id)] == ["failed"]
    receiver.control("gone", mode="ok")
    webhooks.update_endpoint(db, actor=admin, endpoint_id=endpoint_id, enabled=True)
    db.commit()
    assert db.get(WebhookEndpoint, endpoint_id).disabled_reason is None
    _add_user(db, admin, "terceira@example.com")
    with default_worker():
        wait_for(lambda: [r for r in receiver.requests("gone") if r["answered"] == 200], timeout=60)


def test_five_days_of_failures_disable_the_endpoint_and_a_success_before_clears_the_clock(db, admin, receiver):
    from crm_app.domain import webhooks as rules

    endpoint_id, _ = _endpoint(db, admin, receiver, "down", event_types=["user.created"])
    receiver.control("down", mode="500")
    window = rules.DISABLE_AFTER_FAILING * float(TIME_FACTOR)  # 5 days, on the tests' clock
    # Failing for a little less than the window: one more failure keeps it on.
    db.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
               .values(failing_since=utcnow() - window + dt.timedelta(seconds=60)))
    db.commit()
    _add_user(db, admin)
    with default_worker():
        wait_for(lambda: db.exec(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id)).first(),
                 timeout=60)  # a failure recorded
        assert _endpoint_row(db, endpoint_id).enabled
        # Past the window: the next failure turns it off and the admins hear of it.
        seen = len(receiver.requests("down"))
        db.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                   .values(failing_since=utcnow() - window - dt.timedelta(seconds=1)))
        db.commit()
        wait_for(lambda: not _endpoint_row(db, endpoint_id).enabled, timeout=60)
    endpoint = _endpoint_row(db, endpoint_id)
    assert endpoint.disabled_reason == "failing" and len(receiver.requests("down")) > seen
    mails = db.exec(select(Email).where(Email.tenant_id == admin.tenant_id)).all()
    assert [m.recipient for m in mails] == [admin.email] and "5 days" in mails[0].body_text
    # A success clears the clock: enabled again and answering, it is no longer failing.
    receiver.control("down", mode="ok")
    webhooks.update_endpoint(db, actor=admin, endpoint_id=endpoint_id, enabled=True)
    db.commit()
    with default_worker():
        wait_for(lambda: [d for d in _deliveries(db, endpoint_id) if d.status == "succeeded"], timeout=60)
    assert _endpoint_row(db, endpoint_id).failing_since is None


def test_a_disabled_endpoint_with_due_work_is_not_woken_again(db, admin, receiver):
    """A drain finding its endpoint disabled queues nothing (it used to queue itself again at once, for ever)."""
    endpoint_id, _ = _endpoint(db, admin, receiver, "off")
    for _ in range(3):
        webhooks.send_test(db, actor=admin, endpoint_id=endpoint_id)  # pending deliveries, due now
    webhooks.update_endpoint(db, actor=admin, endpoint_id=endpoint_id, enabled=False)
    db.commit()
    queue = get_queue("default")
    queue.empty()
    get_redis().delete(outbox.DRAIN_FLAG.format(endpoint_id), outbox.WOKEN)
    assert delivery.deliver(endpoint_id) == "sent 0"
    assert [j for j in queue.get_job_ids() if j.startswith(f"webhooks-deliver-{endpoint_id}-")] == []
    assert {d.status for d in _deliveries(db, endpoint_id)} == {"pending"} and receiver.requests("off") == []


def test_a_rate_limited_endpoint_claims_no_more_than_its_timeout_holds(db, admin, receiver):
    endpoint_id, _ = _endpoint(db, admin, receiver, "slowpoke", timeout_seconds=3, rate_limit_per_second=2)
    for _ in range(10):
        webhooks.send_test(db, actor=admin, endpoint_id=endpoint_id)
    db.commit()
    _, batch = delivery.claim(endpoint_id)
    assert len(batch) == 6  # 2 a second for 3 s: the batch is sent well inside its lease (timeout + 30 s)


def test_a_worker_killed_mid_send_loses_nothing_and_the_retry_keeps_the_id(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "slow", timeout_seconds=20)
    receiver.control("slow", mode="slow", delay=30)
    _add_user(db, admin)
    with default_worker() as worker:
        wait_for(lambda: receiver.requests("slow"), timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    [row] = _deliveries(db, endpoint_id)
    assert (row.status, row.attempts) == ("sending", 1)
    receiver.control("slow", mode="ok")
    # Its lease (timeout + 30 s) is over: moved to the past rather than waited for.
    db.execute(sa.text("UPDATE webhook_deliveries SET lease_until = now() - interval '1 second'"))
    db.commit()
    assert delivery.sweep() >= 1
    [row] = _deliveries(db, endpoint_id)
    assert row.status == "pending" and "interrupted" in row.last_error
    with default_worker():
        wait_for(lambda: _deliveries(db, endpoint_id)[0].status == "succeeded", timeout=60)
    got = receiver.requests("slow")
    assert len(got) == 2 and len({r["headers"]["webhook-id"] for r in got}) == 1
    for request in got:
        verify(secret, request)


def test_a_slow_endpoint_does_not_delay_the_others(db, admin, receiver):
    """One default worker: while a slow endpoint holds a request, new events still reach a fast one at once."""
    slow_id, _ = _endpoint(db, admin, receiver, "tortoise", event_types=["user.created"], timeout_seconds=20)
    fast_id, secret = _endpoint(db, admin, receiver, "hare", event_types=["user.created"])
    receiver.control("tortoise", mode="slow", delay=6)
    _add_user(db, admin)
    with default_worker():
        wait_for(lambda: receiver.requests("tortoise") and receiver.requests("hare"), timeout=60)
        held_until = receiver.requests("tortoise")[0]["at"] + 6
        _add_user(db, admin, "segunda@example.com")
        wait_for(lambda: len(receiver.requests("hare")) == 2, timeout=60)
        second = receiver.requests("hare")[1]
        assert second["at"] < held_until - 2, "the fast endpoint waited for the slow one's answer"
        wait_for(lambda: all(d.status == "succeeded" for d in _deliveries(db, slow_id) + _deliveries(db, fast_id))
                 and len(_deliveries(db, slow_id)) == 2, timeout=60)
    assert verify(secret, second)["data"]["user_id"] != verify(secret, receiver.requests("hare")[0])["data"]["user_id"]


def test_an_event_whose_relay_job_was_lost_is_relayed_by_the_sweeper(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "lost")
    _add_user(db, admin)
    get_redis().flushdb()  # the relay's job and flag are gone (Redis lost them, or the worker died before)
    event = db.exec(select(WebhookEvent).where(WebhookEvent.tenant_id == admin.tenant_id)).one()
    assert event.relayed_at is None and _deliveries(db, endpoint_id) == []
    delivery.sweep(now=utcnow() + dt.timedelta(seconds=10))
    with default_worker():
        wait_for(lambda: receiver.requests("lost"), timeout=60)
    assert verify(secret, receiver.requests("lost")[0])["type"] == "user.created"


def test_loopback_and_metadata_are_refused_unless_allowed(db, admin, receiver):
    settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": False})
    db.commit()
    for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
                "http://10.0.0.5/x"):
        with pytest.raises(ValidationError) as refused:
            webhooks.create_endpoint(db, actor=admin, url=url)
        assert refused.value.params["field"] == "url"
        db.rollback()
    settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": True})
    db.commit()
    with pytest.raises(ValidationError):  # the metadata service never
        webhooks.create_endpoint(db, actor=admin, url="http://169.254.169.254/latest/meta-data")
    db.rollback()
    endpoint_id, _ = _endpoint(db, admin, receiver, "private")  # allowed now
    # Checked again at the connection: the install turns private addresses off after the URL was saved.
    settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": False})
    db.commit()
    _add_user(db, admin)
    with default_worker():
        wait_for(lambda: [d for d in _deliveries(db, endpoint_id) if d.attempts >= 1 and d.status == "pending"],
                 timeout=60)
    [row] = _deliveries(db, endpoint_id)
    assert row.last_status_code is None and "refused" in row.last_error and receiver.requests("private") == []
    settings.update(db, actor=None, tenant_id=None, changes={"system.allow_private_outbound_urls": None})
    db.commit()


def test_a_rotated_secret_signs_beside_the_new_one_for_24_hours(db, admin, receiver):
    endpoint_id, old = _endpoint(db, admin, receiver, "rot")
    view, new = webhooks.rotate_secret(db, actor=admin, endpoint_id=endpoint_id)
    db.commit()
    assert new != old and new.startswith("whsec_") and view.rotating_until is not None
    _add_user(db, admin)
    with default_worker():
        wait_for(lambda: receiver.requests("rot"), timeout=60)
    [request] = receiver.requests("rot")
    assert len(request["headers"]["webhook-signature"].split()) == 2
    assert verify(old, request) == verify(new, request)  # a receiver still on the old secret keeps working
    with db.begin_nested():
        pass
    later = utcnow() + dt.timedelta(hours=24, seconds=1)
    assert delivery.load_target(db, endpoint_id, later).secrets == [new]


def test_testar_sends_a_ping_and_the_log_shows_it(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "ping", headers={"Authorization": "Bearer hunter2"})
    delivery_id = webhooks.send_test(db, actor=admin, endpoint_id=endpoint_id)
    db.commit()
    with default_worker():
        wait_for(lambda: receiver.requests("ping"), timeout=60)
        [request] = receiver.requests("ping")
        assert verify(secret, request)["type"] == "ping" and request["headers"]["authorization"] == "Bearer hunter2"
        wait_for(lambda: webhooks.list_attempts(db, actor=admin, delivery_id=delivery_id), timeout=30)
        [attempt] = webhooks.list_attempts(db, actor=admin, delivery_id=delivery_id)
        assert attempt.status_code == 200 and attempt.request_headers["Authorization"] == "***"
        assert "hunter2" not in str(attempt.request_headers)
        stats = webhooks.endpoint_stats(db, actor=admin, endpoint_id=endpoint_id)
        assert (stats.attempts, stats.success_rate) == (1, 1.0) and stats.p95_ms is not None
        # Reenviar: the same webhook-id again.
        wait_for(lambda: webhooks.list_deliveries(db, actor=admin, endpoint_id=endpoint_id)[0].status == "succeeded")
        webhooks.resend_delivery(db, actor=admin, delivery_id=delivery_id)
        db.commit()
        wait_for(lambda: len(receiver.requests("ping")) == 2, timeout=30)
    first, second = receiver.requests("ping")
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]


def test_replay_sends_every_event_of_a_period_again(db, admin, receiver):
    endpoint_id, secret = _endpoint(db, admin, receiver, "replay", event_types=["user.created"])
    start = utcnow()
    _add_user(db, admin, "um@example.com")
    _add_user(db, admin, "dois@example.com")
    with default_worker():
        wait_for(lambda: len(receiver.requests("replay")) == 2, timeout=60)
        wait_for(lambda: all(d.status == "succeeded" for d in _deliveries(db, endpoint_id)), timeout=30)
        assert webhooks.replay(db, actor=admin, endpoint_id=endpoint_id, since=start) == 2
        db.commit()
        wait_for(lambda: len(receiver.requests("replay")) == 4, timeout=60)
    ids = [r["headers"]["webhook-id"] for r in receiver.requests("replay")]
    assert ids[:2] == ids[2:] or sorted(ids[:2]) == sorted(ids[2:])
    for request in receiver.requests("replay"):
        verify(secret, request)


def test_only_admins_of_the_tenant_manage_endpoints(db, admin, receiver):
    endpoint_id, _ = _endpoint(db, admin, receiver, "acl")
    supervisor = make_user(db, admin.tenant_id, role="supervisor")
    stranger = make_user(db, make_tenant(db).id, role="admin")
    db.commit()
    from crm_app.errors import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied):
        webhooks.list_endpoints(db, actor=supervisor)
    with pytest.raises(NotFound):
        webhooks.get_endpoint(db, actor=stranger, endpoint_id=endpoint_id)
    with pytest.raises(ValidationError):
        webhooks.create_endpoint(db, actor=admin, url=receiver.url("x"), timeout_seconds=31)
    with pytest.raises(ValidationError):
        webhooks.create_endpoint(db, actor=admin, url=receiver.url("x"), event_types=["nope.never"])
    with pytest.raises(ValidationError):
        webhooks.create_endpoint(db, actor=admin, url=receiver.url("x"), headers={"webhook-id": "forged"})


def test_nothing_is_written_for_a_tenant_without_endpoints_and_a_rollback_keeps_no_event(db, admin, receiver):
    _add_user(db, admin, "semhook@example.com")
    assert db.exec(select(WebhookEvent)).all() == []
    _endpoint(db, admin, receiver, "rb")
    access.create_user(db, actor=admin, email="rollback@example.com", name="R", role="attendant",
                       password="Correct-Horse-Battery-9")
    db.rollback()
    assert db.exec(select(WebhookEvent)).all() == []
    assert db.execute(sa.text("SELECT count(*) FROM webhook_deliveries")).scalar() == 0
