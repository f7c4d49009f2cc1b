"""What the customer hears when the bot hands off: who was called, or their place in the queue, in that order.

Real workers and the sandbox playing Meta; we assert on the Graph bodies the sandbox recorded, in the order it
received them, and on the order the messages were created.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.models import Conversation, Message, SenderType, Team, TeamMember, User
from crm_app.queue import get_redis
from crm_app.services.routing import presence
from tests.channel import test_bot_flows as flows
from tests.channel.conftest import scalar, wait_for
from tests.channel.test_bot_flows import QUEUE, menu_body, tap, text_body, wait_sent
from tests.factories import make_user

debounce, hotel = flows.debounce, flows.hotel  # the demo flow published on the channel's inbox
TO_FRONT = "Certo! Vou chamar alguém da recepção para falar com você. 🛎️"


@pytest.fixture(autouse=True)
def _quiet_afterwards(hotel):
    """Stop the sandbox's pending status webhooks and let the workers finish: nothing may still write while
    the next test empties the tables."""
    yield
    hotel.sandbox("DELETE", "/state")
    wait_for(flows.settled)
    # ids restart with the tables: nobody may still look online to the next test's users
    get_redis().delete(f"crm:presence:{hotel.tenant_id}", f"crm:presence:status:{hotel.tenant_id}")


def _attendant_online(channel, db, name: str = "Ana Paula Souza") -> int:
    """An attendant of the front desk, online now; their id."""
    actor = make_user(db, channel.tenant_id, "attendant")
    with session_scope() as session:
        user = session.get(User, actor.user_id)
        user.name = name
        session.add(TeamMember(tenant_id=channel.tenant_id, team_id=channel.front_id, user_id=user.id))
    presence.heartbeat(channel.tenant_id, actor.user_id, "online")
    return actor.user_id


def _bot_lines_in_creation_order() -> list[str]:
    with session_scope() as session:
        return list(session.exec(select(Message.body).where(Message.sender_type == SenderType.BOT)
                                 .order_by(Message.id)).all())


def _conversation(db) -> Conversation:
    row = db.exec(select(Conversation)).one()
    db.refresh(row)
    return row


def test_atendente_as_first_word_tells_the_customer_who_was_called(hotel, db):
    ana = _attendant_online(hotel, db)
    hotel.customer_says("atendente")
    assert wait_sent(hotel, 1) == [text_body("Já chamei Ana, que vai te responder em instantes.")]
    row = _conversation(db)
    assert row.assignee_id == ana and not row.bot_active and row.handoff_reason == "exit_keyword"


def test_the_teams_own_text_names_the_attendant(hotel, db):
    _attendant_online(hotel, db)
    with session_scope() as session:
        session.get(Team, hotel.front_id).assigned_message = "Já chamei a {nome}, ela vai te responder em instantes"
    hotel.customer_says("atendente")
    assert wait_sent(hotel, 1) == [text_body("Já chamei a Ana, ela vai te responder em instantes")]


def test_the_flows_handoff_text_comes_before_who_was_called(hotel, db):
    _attendant_online(hotel, db, name="Bruno")
    hotel.customer_says("Olá")
    assert wait_sent(hotel, 1) == [menu_body()]
    tap(hotel, "list_reply", "menu:atendente", "Falar com a recepção")
    expected = [TO_FRONT, "Já chamei Bruno, que vai te responder em instantes."]
    assert wait_sent(hotel, 3)[1:] == [text_body(t) for t in expected]
    assert _bot_lines_in_creation_order()[1:] == expected


def test_atendente_with_nobody_free_hears_the_queue_position(hotel, db):
    hotel.customer_says("atendente")
    assert wait_sent(hotel, 1) == [text_body(QUEUE)]
    row = _conversation(db)
    assert row.assignee_id is None and row.queued_at is not None


def test_with_nobody_free_the_handoff_text_comes_before_the_queue_position(hotel, db):
    hotel.customer_says("Olá")
    wait_sent(hotel, 1)
    tap(hotel, "list_reply", "menu:atendente", "Falar com a recepção")
    assert wait_sent(hotel, 3)[1:] == [text_body(TO_FRONT), text_body(QUEUE)]
    assert _bot_lines_in_creation_order()[1:] == [TO_FRONT, QUEUE]
    assert scalar("SELECT count(*) FROM conversations WHERE queued_at IS NOT NULL") == 1
