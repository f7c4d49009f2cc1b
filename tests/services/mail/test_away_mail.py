"""The "assigned to you while you were away" e-mail: opt-in per user, only when they are not online in the inbox,
never for assigning oneself; sent through the sandbox's SMTP server in the user's language."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_app.models import Email, User
from crm_app.services import access, settings
from crm_app.services.inbox import actions
from crm_app.services.mail import outbox
from crm_app.services.routing import presence
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.support.mail import smtp_sandbox


@pytest.fixture(scope="module")
def sandbox():
    with smtp_sandbox() as box:
        yield box


@pytest.fixture
def world(db, sandbox, redis_client):
    sandbox.reset()
    settings.update(db, actor=None, changes=sandbox.global_settings(), tenant_id=None)
    db.commit()
    tenant = make_tenant(db)
    supervisor, attendant = make_user(db, tenant.id, "supervisor"), make_user(db, tenant.id, "attendant")
    conversation = make_conversation(db, make_inbox(db, tenant.id).id)
    db.commit()
    redis_client.delete(f"crm:presence:{tenant.id}", f"crm:presence:status:{tenant.id}")
    return supervisor, attendant, conversation


def _emails(db) -> list[Email]:
    db.expire_all()
    return db.exec(select(Email).where(Email.template == "assigned")).all()


def test_an_opted_in_user_who_is_away_gets_the_email_in_their_language(db, world, sandbox):
    supervisor, attendant, conversation = world
    assert access.set_email_assigned_while_away(db, actor=attendant, enabled=True) is True
    db.get(User, attendant.user_id).locale = "en"
    db.commit()
    presence.heartbeat(attendant.tenant_id, attendant.user_id, "away")
    actions.assign(db, actor=supervisor, conversation_id=conversation.id, user_id=attendant.user_id)
    db.commit()
    [email] = _emails(db)
    assert (email.recipient, email.locale) == (attendant.email, "en")
    assert outbox.deliver_email(email.id) == "sent"
    [message] = sandbox.messages(to=attendant.email)
    assert message["subject"] == "Conversation with Cliente assigned to you"
    assert "While you were away" in message["text"] and "/inbox" in message["text"]


def test_no_email_when_online_opted_out_or_assigning_oneself(db, world):
    supervisor, attendant, conversation = world
    presence.heartbeat(attendant.tenant_id, attendant.user_id, "online")
    access.set_email_assigned_while_away(db, actor=attendant, enabled=True)
    db.commit()
    actions.assign(db, actor=supervisor, conversation_id=conversation.id, user_id=attendant.user_id)
    db.commit()
    assert _emails(db) == []  # online
    presence.set_offline(attendant.tenant_id, attendant.user_id)
    access.set_email_assigned_while_away(db, actor=attendant, enabled=False)
    actions.assign(db, actor=supervisor, conversation_id=conversation.id, user_id=None)
    actions.assign(db, actor=supervisor, conversation_id=conversation.id, user_id=attendant.user_id)
    db.commit()
    assert _emails(db) == []  # opted out (off by default too)
    access.set_email_assigned_while_away(db, actor=supervisor, enabled=True)
    actions.assign(db, actor=supervisor, conversation_id=conversation.id, user_id=supervisor.user_id)
    db.commit()
    assert _emails(db) == []  # took it themselves


def test_a_transfer_to_an_away_user_emails_them(db, world):
    supervisor, attendant, conversation = world
    access.set_email_assigned_while_away(db, actor=attendant, enabled=True)
    db.commit()
    actions.transfer(db, actor=supervisor, conversation_id=conversation.id, user_id=attendant.user_id)
    db.commit()
    assert [e.recipient for e in _emails(db)] == [attendant.email]


def test_the_preference_is_off_by_default_and_shown_on_the_account(db, world):
    _, attendant, _ = world
    assert access.account_info(db, actor=attendant).email_assigned_while_away is False
    access.set_email_assigned_while_away(db, actor=attendant, enabled=True)
    db.commit()
    assert access.account_info(db, actor=attendant).email_assigned_while_away is True
