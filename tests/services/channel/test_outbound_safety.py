"""Outbound and media safety nets that need no sandbox."""

import datetime as dt

import pytest

from crm_app.errors import ValidationError
from crm_app.models import Direction, Message, MessageKind, SenderType
from crm_app.queue import get_queue
from crm_app.services.channel import media, outbound
from crm_app.services.core import jobs
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


def _message(db, conversation, **values):
    row = Message(tenant_id=conversation.tenant_id, conversation_id=conversation.id, **values)
    db.add(row)
    db.commit()
    return row


def test_a_send_interrupted_mid_call_is_failed_not_resent(db):
    inbox = make_inbox(db, make_tenant(db).id)
    conversation = make_conversation(db, inbox.id)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    stuck = _message(db, conversation, direction=Direction.OUTBOUND, sender_type=SenderType.ATTENDANT,
                     kind=MessageKind.TEXT, body="?", status="sending", created_at=old)
    outbound.sweep_queued_messages()
    db.expire_all()
    row = db.get(Message, stuck.id)
    assert row.status == "failed" and "unknown" in row.error_reason
    assert jobs.job_id("send_outbound_message", stuck.id) not in get_queue("high").get_job_ids()


def test_a_send_claimed_a_moment_ago_is_not_taken_for_a_dead_one_however_old_the_message(db):
    inbox = make_inbox(db, make_tenant(db).id)
    conversation = make_conversation(db, inbox.id)
    now = dt.datetime.now(dt.UTC)
    # written an hour ago, waited in its conversation's line, and claimed just now: its call is in flight
    waited = _message(db, conversation, direction=Direction.OUTBOUND, sender_type=SenderType.BOT,
                      kind=MessageKind.TEXT, body="?", status="sending", created_at=now - dt.timedelta(hours=1),
                      claimed_at=now)
    outbound.sweep_queued_messages()
    db.expire_all()
    assert db.get(Message, waited.id).status == "sending"


def test_the_sweeper_requeues_only_the_first_queued_message_of_each_conversation(db):
    inbox = make_inbox(db, make_tenant(db).id)
    one, two = make_conversation(db, inbox.id), make_conversation(db, inbox.id, wa_id="5511900000009")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    common = dict(direction=Direction.OUTBOUND, sender_type=SenderType.BOT, kind=MessageKind.TEXT, body="?",
                  status="queued", created_at=old)
    first = _message(db, one, **common)
    _message(db, one, **common)  # behind it
    _message(db, two, **common, next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))  # retrying
    assert outbound.sweep_queued_messages() == 1
    # only the first of its conversation: the one behind it is released after it; the other's retry is scheduled
    (job_id,) = get_queue("high").get_job_ids()
    assert job_id.startswith(jobs.job_id("send_outbound_message", first.id, tag="sweep-"))


def test_tenant_admins_cannot_point_an_inbox_at_another_graph_server(db):
    from crm_app.services.channel import numbers

    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    with pytest.raises(ValidationError, match="platform operator"):
        numbers.ensure_inbox(db, actor=admin, tenant_id=tenant.id, name="X", phone_number_id="123456789012",
                             waba_id="223456789012", display_number="+55", access_token="a", app_secret="b",
                             verify_token="c", graph_base_url="http://169.254.169.254/latest")


def test_unfinished_media_downloads_are_swept_until_they_give_up(db):
    inbox = make_inbox(db, make_tenant(db).id)
    conversation = make_conversation(db, inbox.id)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    common = dict(direction=Direction.INBOUND, sender_type=SenderType.CUSTOMER, kind=MessageKind.IMAGE,
                  status="received", created_at=old)
    pending = _message(db, conversation, media_id="m-1", **common)
    refused = _message(db, conversation, media_id="m-2", payload={"media_error": "too big"}, **common)
    _message(db, conversation, media_id="m-3", **{**common, "created_at": old - dt.timedelta(days=8)})
    assert media.sweep_pending_media() == 1
    queue = get_queue("default")
    assert queue.fetch_job(jobs.job_id("download_media", pending.id)) is not None
    assert queue.fetch_job(jobs.job_id("download_media", refused.id)) is None
