"""Every registered webhook event type is raised by a real action of the product, in the action's transaction.

The registry is enumerated: a type registered with nothing that emits it fails here. Later areas add their
action to `ACTIONS` beside their type.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.domain import webhooks as rules
from crm_app.domain.whatsapp import StatusUpdate
from crm_app.models import Conversation, CsatSurvey, Message, WebhookEvent
from crm_app.services import access, channel, conversations, inbox, webhooks
from crm_app.services.channel import outbound
from crm_app.services.routing import teams
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.support.inbox import customer_writes
from tests.support.sandbox import sandbox_in_thread
from tests.support.whatsapp import APP_SECRET, PHONE_NUMBER_ID, WABA_ID


@pytest.fixture(scope="module")
def sandbox():
    with sandbox_in_thread() as base:
        yield base


class Shop:
    """A tenant with a webhook endpoint (so its events are written), an inbox that receives the fixtures'
    webhooks, and one that sends through the sandbox's Graph API."""

    def __init__(self, db, sandbox: str) -> None:
        settings = get_settings()
        self.db, self.sandbox = db, sandbox
        tenant = make_tenant(db)
        self.admin = make_user(db, tenant.id, "admin")
        self.tenant_id = tenant.id
        webhooks.create_endpoint(db, actor=self.admin, url=f"{sandbox}/hooks/all")
        db.commit()
        self.inbound = make_inbox(db, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID,
                                  app_secret=APP_SECRET)
        self.outbound = make_inbox(db, tenant.id, phone_number_id=settings.demo_wa_phone_number_id,
                                   access_token=settings.demo_wa_access_token.get_secret_value(),
                                   graph_base_url=f"{sandbox}/graph/v23.0")
        httpx.delete(f"{sandbox}/sandbox/api/state", timeout=10)
        self.customer: Conversation | None = None

    def emitted(self) -> set[str]:
        self.db.expire_all()
        return set(self.db.exec(select(WebhookEvent.event_type).where(WebhookEvent.tenant_id == self.tenant_id)))

    def conversation(self) -> int:
        return self.db.exec(select(Conversation.id).where(Conversation.tenant_id == self.tenant_id,
                                                          Conversation.inbox_id == self.inbound.id)).first()

    def sent_message(self, body: str) -> Message:
        if self.customer is None:
            self.customer = make_conversation(self.db, self.outbound.id, wa_id="5511977776666")
            self.customer.bot_active, self.customer.last_customer_message_at = False, utcnow()
            self.db.add(self.customer)
            self.db.commit()
            httpx.post(f"{self.sandbox}/sandbox/api/window", timeout=10,
                       json={"wa_id": "5511977776666", "last_customer_message_at": utcnow().isoformat()})
        row = outbound.send_message(self.db, actor=self.admin, conversation_id=self.customer.id,
                                    content={"type": "text", "body": body})
        self.db.commit()
        assert outbound.deliver_message(row.id) == "sent"
        self.db.expire_all()
        return self.db.get(Message, row.id)

    def status(self, message: Message, status: str, **extra) -> None:
        channel.apply_status(self.db, tenant_id=self.tenant_id, update=StatusUpdate(
            phone_number_id=self.outbound.phone_number_id, wa_message_id=message.wa_message_id, status=status,
            at=utcnow() + dt.timedelta(seconds=1), recipient_id="5511977776666", **extra))
        self.db.commit()


def _customer_writes(shop: Shop) -> None:
    customer_writes(body="Quero reservar", wa_id="5511955554444")


def _take_over(shop: Shop) -> None:
    inbox.take_over(shop.db, actor=shop.admin, conversation_id=shop.conversation())
    shop.db.commit()


def _transfer(shop: Shop) -> None:
    team = teams.create_team(shop.db, actor=shop.admin, name="Vendas")
    inbox.transfer(shop.db, actor=shop.admin, conversation_id=shop.conversation(), team_id=team.id)
    shop.db.commit()


def _close(shop: Shop) -> None:
    inbox.close(shop.db, actor=shop.admin, conversation_id=shop.conversation())
    shop.db.commit()


def _reopen(shop: Shop) -> None:
    inbox.reopen(shop.db, actor=shop.admin, conversation_id=shop.conversation())
    shop.db.commit()


def _edit_contact(shop: Shop) -> None:
    contact_id = shop.db.get(Conversation, shop.conversation()).contact_id
    conversations.update_contact(shop.db, actor=shop.admin, contact_id=contact_id, name="Maria Souza")
    shop.db.commit()


def _send_and_hear_back(shop: Shop) -> None:
    first = shop.sent_message("Olá!")
    shop.status(first, "delivered")
    shop.status(first, "read")
    second = shop.sent_message("Tudo bem?")
    shop.status(second, "failed", error_code=131026, error_reason="Message undeliverable")


def _add_and_deactivate_user(shop: Shop) -> None:
    row, _ = access.create_user(shop.db, actor=shop.admin, email="nova@example.com", name="Nova", role="attendant",
                                password="Correct-Horse-Battery-9")
    access.set_active(shop.db, actor=shop.admin, user_id=row.id, active=False)
    shop.db.commit()


def _csat_rating(shop: Shop) -> None:
    from crm_app.services import settings
    from crm_app.services.channel import csat

    settings.update(shop.db, actor=shop.admin, tenant_id=shop.tenant_id, changes={"csat.enabled": True})
    inbox.take_over(shop.db, actor=shop.admin, conversation_id=shop.conversation())
    inbox.close(shop.db, actor=shop.admin, conversation_id=shop.conversation())
    shop.db.commit()
    survey_id = shop.db.exec(select(CsatSurvey.id).where(CsatSurvey.tenant_id == shop.tenant_id)).one()
    row = {"id": csat.row_id(survey_id, 5), "title": "5 Excelente"}
    customer_writes({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": row}},
                    wa_id="5511955554444")


def _sla_missed(shop: Shop) -> None:
    import datetime as dt

    from crm_app.db import utcnow
    from crm_app.services import sla
    from crm_app.services.conversations import facts
    from crm_app.services.sla import tracking

    sla.create_policy(shop.db, actor=shop.admin, name="Rápida", is_default=True, first_response_minutes=1,
                      business_hours_only=False)
    conversation = shop.db.get(Conversation, shop.conversation())
    facts.note(shop.db, conversation, "handoff", at=utcnow() - dt.timedelta(minutes=2), reason="menu")
    shop.db.commit()
    tracking.evaluate(conversation.id)
    tracking.evaluate(conversation.id)  # the breach is told once
    told = shop.db.exec(select(WebhookEvent).where(WebhookEvent.event_type == "sla.missed")).all()
    assert [e.payload["data"]["target"] for e in told] == ["first_response"]


# Each real action, and the types it must raise. Later areas add theirs (dsr.completed, ...).
ACTIONS = [
    (_customer_writes, {"contact.created", "conversation.created", "message.received"}),
    (_take_over, {"conversation.assigned"}),
    (_transfer, {"conversation.transferred"}),
    (_close, {"conversation.closed"}),
    (_reopen, {"conversation.reopened"}),
    (_edit_contact, {"contact.updated"}),
    (_send_and_hear_back, {"message.sent", "message.delivered", "message.read", "message.failed"}),
    (_add_and_deactivate_user, {"user.created", "user.deactivated"}),
    (_csat_rating, {"csat.received"}),
    (_sla_missed, {"sla.missed"}),
]


def test_every_registered_event_type_is_emitted_by_a_real_action(db, sandbox):
    shop = Shop(db, sandbox)
    seen: set[str] = set()
    for action, expected in ACTIONS:
        before = shop.emitted()
        action(shop)
        new = shop.emitted() - before
        assert expected <= new | (seen & expected), f"{action.__name__} raised {sorted(new)}, not {sorted(expected)}"
        seen |= new
    missing = set(rules.EVENT_TYPES) - seen
    assert not missing, f"registered webhook event types that no action emits: {sorted(missing)}"


def test_every_payload_matches_its_registered_fields(db, sandbox):
    shop = Shop(db, sandbox)
    for action, _ in ACTIONS:
        action(shop)
    for event in db.exec(select(WebhookEvent).where(WebhookEvent.tenant_id == shop.tenant_id)):
        registered = rules.EVENT_TYPES[event.event_type]
        assert event.payload["type"] == event.event_type and event.msg_id.startswith("msg_")
        assert set(event.payload["data"]) == set(registered.fields), event.event_type


def test_an_unregistered_type_is_refused(db):
    from crm_app.services.core import outbox

    with pytest.raises(ValueError, match="register it"):
        outbox.emit(db, 1, "invoice.paid", {})
