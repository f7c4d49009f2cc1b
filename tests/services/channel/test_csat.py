"""CSAT end to end: a person closes, the survey list goes to the sandbox's Graph API (which validates lists), the
customer taps a row and comments through the real webhook ingest, and a real burst worker delivers our answers.

Also what must NOT happen: a survey with the window closed, for a bot-contained close, twice for one cycle or
within the contact's minimum gap; a rating that reopens the conversation; a customer stuck in the survey.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import session_scope, utcnow
from crm_app.models import (
    ContactInbox,
    Conversation,
    ConversationFact,
    CsatSurvey,
    Email,
    Message,
    SenderType,
    Team,
    TeamMember,
    WebhookEvent,
)
from crm_app.services import inbox, settings, webhooks
from crm_app.services.channel import csat, ingest
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.inbox import no_leftover_jobs  # noqa: F401  (autouse)
from tests.support.sandbox import sandbox_in_thread
from tests.support.whatsapp import APP_SECRET, encode, fixture, run_burst_worker, signed_headers

WA = "5511981234567"


@pytest.fixture(scope="module")
def meta():
    """The sandbox (fake Graph API) in a thread; a client on its control API."""
    with sandbox_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        client.base = url
        yield client


class Shop:
    """A tenant with CSAT on, its number on the sandbox, an attendant, and a supervisor of the attendant's team."""

    def __init__(self, db, meta) -> None:
        config = get_settings()
        self.db, self.meta = db, meta
        tenant = make_tenant(db)
        self.tenant_id = tenant.id
        self.admin = make_user(db, tenant.id, "admin")
        self.attendant = make_user(db, tenant.id, "attendant")
        self.supervisor = make_user(db, tenant.id, "supervisor")
        self.inbox = make_inbox(db, tenant.id, phone_number_id=config.demo_wa_phone_number_id,
                                access_token=config.demo_wa_access_token.get_secret_value(), app_secret=APP_SECRET,
                                graph_base_url=f"{meta.base}/graph/v23.0")
        team = Team(tenant_id=tenant.id, name="Recepção")
        db.add(team)
        db.flush()
        self.team_id = team.id
        db.add_all([TeamMember(tenant_id=tenant.id, team_id=team.id, user_id=self.supervisor.user_id),
                    TeamMember(tenant_id=tenant.id, team_id=team.id, user_id=self.attendant.user_id)])
        settings.update(db, actor=self.admin, tenant_id=tenant.id, changes={"csat.enabled": True})
        db.commit()
        meta.delete("/sandbox/api/state").raise_for_status()
        meta.post("/sandbox/api/faults", json={"status_mode": "none"}).raise_for_status()

    def says(self, message: dict, *, at: dt.datetime | None = None, wamid: str | None = None, wa: str = WA) -> str:
        """One customer message through the signed webhook and the real ingest; the sandbox learns the window."""
        at = at or utcnow()
        payload = fixture("message", "text")
        value = payload["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = self.inbox.phone_number_id
        value["contacts"][0].update({"wa_id": wa, "profile": {"name": "Maria Souza"}})
        wamid = wamid or f"wamid.{uuid.uuid4().hex}"
        value["messages"] = [{**message, "from": wa, "id": wamid, "timestamp": str(int(at.timestamp()))}]
        raw = encode(payload)
        outcome = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
        assert outcome.status == 200, outcome.message
        ingest.process_inbound_event(outcome.event_id)
        self.meta.post("/sandbox/api/window", json={"wa_id": wa, "last_customer_message_at": at.isoformat()})
        return wamid

    def text(self, body: str, **kw) -> str:
        return self.says({"type": "text", "text": {"body": body}}, **kw)

    def tap(self, survey_id: int, rating: int, **kw) -> str:
        row = {"id": csat.row_id(survey_id, rating), "title": f"{rating}"}
        return self.says({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": row}}, **kw)

    def conversation(self, wa: str = WA) -> Conversation:
        with session_scope() as s:
            return s.exec(select(Conversation).join(ContactInbox, ContactInbox.id == Conversation.contact_inbox_id)
                          .where(Conversation.tenant_id == self.tenant_id, ContactInbox.wa_id == wa)).one()

    def handled_and_closed(self, *, by=None, wa: str = WA) -> int:
        """The attendant takes the conversation over (in the team) and closes it."""
        cid = self.conversation(wa).id
        with session_scope() as s:
            s.get(Conversation, cid).team_id = self.team_id
        with session_scope() as s:
            inbox.take_over(s, actor=self.attendant, conversation_id=cid)
        with session_scope() as s:
            inbox.close(s, actor=by or self.attendant, conversation_id=cid)
        return cid

    def surveys(self) -> list[CsatSurvey]:
        with session_scope() as s:
            return list(s.exec(select(CsatSurvey).where(CsatSurvey.tenant_id == self.tenant_id)
                               .order_by(CsatSurvey.id)).all())

    def bot_lines(self) -> list[str]:
        """What we queued to the customer on our own (survey, prompt, thanks), in creation order."""
        with session_scope() as s:
            return list(s.exec(select(Message.body).where(Message.tenant_id == self.tenant_id,
                                                          Message.sender_type == SenderType.BOT)
                               .order_by(Message.id)).all())

    def graph_calls(self) -> list[dict]:
        rows = self.meta.get("/sandbox/api/sent", params={"to": WA, "kind": "message"}).json()
        return sorted(rows, key=lambda r: r["seq"])


@pytest.fixture
def shop(db, meta):
    return Shop(db, meta)


def deliver_all() -> None:
    """A real hot worker delivers every queued send to the sandbox, then exits."""
    result = run_burst_worker("high")
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_tapped_row_and_a_comment_are_stored_without_reopening_and_the_sandbox_accepts_every_message(shop):
    shop.text("Quero reservar um quarto")
    cid = shop.handled_and_closed()
    [survey] = shop.surveys()
    assert (survey.conversation_id, survey.attendant_id, survey.team_id, survey.status) == (
        cid, shop.attendant.user_id, shop.team_id, "sent")
    deliver_all()
    [listed] = shop.graph_calls()
    assert listed["http_status"] == 200, listed["response"]  # the fake checks list rules and title lengths
    rows = listed["body"]["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"] for r in rows] == ["1 Péssimo", "2 Ruim", "3 Regular", "4 Bom", "5 Excelente"]
    assert rows[4]["id"] == csat.row_id(survey.id, 5)

    shop.tap(survey.id, 4)
    shop.text("O café da manhã podia começar mais cedo")
    conversation = shop.conversation()
    assert (conversation.status, conversation.bot_active, conversation.assignee_id) == (
        "closed", False, shop.attendant.user_id)  # never reopened, never given to the bot
    with session_scope() as s:
        assert s.exec(select(ConversationFact.cycle).where(ConversationFact.conversation_id == cid)).all() == [0]
        answers = s.exec(select(Message.body).where(Message.conversation_id == cid,
                                                    Message.sender_type == SenderType.CUSTOMER)
                         .order_by(Message.id)).all()
    assert answers[-2:] == ["4", "O café da manhã podia começar mais cedo"]
    [survey] = shop.surveys()
    assert (survey.rating, survey.comment, survey.status) == (4, "O café da manhã podia começar mais cedo", "done")
    assert survey.rated_at is not None and survey.commented_at is not None
    deliver_all()
    sent = shop.graph_calls()
    assert [c["http_status"] for c in sent] == [200, 200, 200]
    assert [c["body"]["text"]["body"] for c in sent[1:]] == [
        "Obrigado pela nota! Se quiser, conte em uma mensagem o que podemos melhorar.",
        "Obrigado pela sua avaliação!"]


def test_a_redelivered_rating_is_stored_once_and_answered_once(shop, db):
    webhooks.create_endpoint(db, actor=shop.admin, url=f"{shop.meta.base}/hooks/all")
    db.commit()
    shop.text("Oi")
    shop.handled_and_closed()
    [survey] = shop.surveys()
    wamid = shop.tap(survey.id, 1)
    shop.tap(survey.id, 1, wamid=wamid, at=utcnow() + dt.timedelta(seconds=3))  # another body, the same wamid
    [survey] = shop.surveys()
    assert survey.rating == 1 and survey.rating_wa_message_id == wamid
    assert len(shop.bot_lines()) == 2  # the survey and one comment prompt
    assert shop.conversation().status == "closed"
    with session_scope() as s:
        assert len(s.exec(select(Email).where(Email.tenant_id == shop.tenant_id)).all()) == 1
        assert s.exec(select(WebhookEvent.event_type).where(WebhookEvent.tenant_id == shop.tenant_id,
                                                            WebhookEvent.event_type.like("csat.%"))).all() == [
            "csat.received"]


def test_a_free_text_instead_of_a_rating_is_a_normal_message_that_reopens(shop):
    shop.text("Oi")
    cid = shop.handled_and_closed()
    shop.text("Esqueci de perguntar: tem estacionamento?")
    conversation = shop.conversation()
    assert conversation.id == cid and conversation.status == "open" and conversation.bot_active
    [survey] = shop.surveys()
    assert survey.status == "sent" and survey.rating is None
    with session_scope() as s:  # a new cycle, as for any customer message after a close
        assert s.exec(select(ConversationFact.cycle).where(ConversationFact.conversation_id == cid)
                      .order_by(ConversationFact.cycle)).all() == [0, 1]


def test_a_text_after_the_comment_time_limit_reopens_as_a_normal_message(shop):
    shop.text("Oi")
    shop.handled_and_closed()
    [survey] = shop.surveys()
    shop.tap(survey.id, 5)
    with session_scope() as s:
        s.get(CsatSurvey, survey.id).comment_until = utcnow() - dt.timedelta(seconds=1)
    shop.text("Outra coisa: vocês aceitam pets?")
    assert shop.conversation().status == "open"
    [survey] = shop.surveys()
    assert survey.comment is None and survey.status == "rated"


def test_a_rating_tapped_after_the_conversation_reopened_is_a_normal_message(shop):
    shop.text("Oi")
    shop.handled_and_closed()
    [survey] = shop.surveys()
    shop.text("Mais uma pergunta")
    shop.tap(survey.id, 3)
    assert shop.conversation().status == "open"
    assert shop.surveys()[0].rating is None


def test_no_survey_once_the_window_has_closed_and_the_sandbox_gets_nothing(shop):
    shop.text("Oi", at=utcnow() - dt.timedelta(hours=25))
    shop.handled_and_closed()
    assert shop.surveys() == [] and shop.bot_lines() == []
    deliver_all()
    assert shop.graph_calls() == []


def test_no_survey_when_the_bot_contained_the_conversation(shop):
    shop.text("Qual o horário do check-in?")
    with session_scope() as s:  # a supervisor closes it while the bot still owns it: nobody took part
        inbox.close(s, actor=shop.supervisor, conversation_id=shop.conversation().id)
    assert shop.conversation().resolved_by == "bot"
    assert shop.surveys() == [] and shop.bot_lines() == []


def test_no_survey_when_csat_is_off(shop, db):
    settings.update(db, actor=shop.admin, tenant_id=shop.tenant_id, changes={"csat.enabled": False})
    db.commit()
    shop.text("Oi")
    shop.handled_and_closed()
    assert shop.surveys() == []


def test_one_survey_per_cycle_and_none_within_the_contacts_minimum_gap(shop, db):
    shop.text("Oi")
    cid = shop.handled_and_closed()
    with session_scope() as s:  # closing a closed conversation again changes nothing
        inbox.close(s, actor=shop.attendant, conversation_id=cid)
    with session_scope() as s:
        inbox.reopen(s, actor=shop.attendant, conversation_id=cid)
    with session_scope() as s:
        inbox.close(s, actor=shop.attendant, conversation_id=cid)
    assert len(shop.surveys()) == 1  # the second cycle is within the 7-day gap
    settings.update(db, actor=shop.admin, tenant_id=shop.tenant_id, changes={"csat.min_gap_days": 0})
    db.commit()
    with session_scope() as s:
        inbox.reopen(s, actor=shop.attendant, conversation_id=cid)
    with session_scope() as s:
        inbox.close(s, actor=shop.attendant, conversation_id=cid)
    assert [(s.conversation_id, s.cycle) for s in shop.surveys()] == [(cid, 0), (cid, 2)]
    assert len(shop.bot_lines()) == 2


def test_a_low_rating_emails_the_teams_supervisors_and_every_rating_is_a_webhook_event(shop, db):
    webhooks.create_endpoint(db, actor=shop.admin, url=f"{shop.meta.base}/hooks/all")
    db.commit()
    shop.text("Oi")
    cid = shop.handled_and_closed()
    [survey] = shop.surveys()
    shop.tap(survey.id, 2)
    with session_scope() as s:
        mails = s.exec(select(Email).where(Email.tenant_id == shop.tenant_id)).all()
        events = s.exec(select(WebhookEvent).where(WebhookEvent.tenant_id == shop.tenant_id,
                                                   WebhookEvent.event_type == "csat.received")).all()
    supervisor_email = db.execute(text("SELECT email FROM users WHERE id = :id"),
                                  {"id": shop.supervisor.user_id}).scalar()
    assert [m.recipient for m in mails] == [supervisor_email]
    assert "2" in mails[0].subject
    [event] = events
    assert event.payload["data"] | {"rated_at": None} == {
        "survey_id": survey.id, "conversation_id": cid, "contact_id": survey.contact_id,
        "inbox_id": shop.inbox.id, "team_id": shop.team_id, "attendant_id": shop.attendant.user_id, "rating": 2,
        "rated_at": None}


def test_a_good_rating_emails_nobody(shop):
    shop.text("Oi")
    shop.handled_and_closed()
    shop.tap(shop.surveys()[0].id, 5)
    with session_scope() as s:
        assert s.exec(select(Email).where(Email.tenant_id == shop.tenant_id)).all() == []


def test_a_row_of_another_contacts_survey_is_an_ordinary_message(shop):
    other = "5521998887777"
    shop.text("Oi", wa=other)
    shop.handled_and_closed(wa=other)
    shop.text("Oi")
    shop.handled_and_closed()
    theirs = next(s for s in shop.surveys() if s.conversation_id == shop.conversation(other).id)
    shop.tap(theirs.id, 1)  # Maria sends a row id of the other customer's survey
    assert shop.conversation().status == "open"
    assert [s.rating for s in shop.surveys()] == [None, None]
    assert shop.conversation(other).status == "closed"


def test_no_survey_when_the_bot_closes_for_inactivity(shop, db):
    from crm_app.services import bot
    from tests.services.bot.test_bot import hotel

    bot.seed_flow(db, tenant_id=shop.tenant_id, inbox_id=shop.inbox.id, definition=hotel())
    db.commit()
    try:
        shop.text("Oi")
        cid = shop.conversation().id
        bot.run_turn(cid)  # the bot greets and waits: its session expires and it closes the conversation
        bot.expire_bot_sessions(utcnow() + dt.timedelta(minutes=6))
        conversation = shop.conversation()
        assert conversation.status == "closed"
        assert shop.surveys() == []
        assert not any("Avaliar" in str(b) for b in shop.bot_lines())
    finally:
        bot.forget_scheduled_turns()


def test_the_tenants_language_and_own_texts_go_into_the_list_and_the_answers(shop, db):
    settings.update(db, actor=shop.admin, tenant_id=shop.tenant_id, changes={
        "csat.language": "en", "csat.question": "How did we do at the front desk?", "csat.comment_minutes": 0})
    db.commit()
    shop.text("Hi")
    shop.handled_and_closed()
    [survey] = shop.surveys()
    with session_scope() as s:
        content = s.get(Message, survey.message_id).payload["content"]
    assert content["body"] == "How did we do at the front desk?" and content["button_label"] == "Rate us"
    assert [r["title"] for r in content["sections"][0]["rows"]] == [
        "1 Very poor", "2 Poor", "3 Fair", "4 Good", "5 Excellent"]
    shop.tap(survey.id, 3)
    [survey] = shop.surveys()
    assert survey.status == "done" and survey.comment_until is None  # no comment asked for
    assert shop.bot_lines()[-1] == "Thank you for your feedback!"
    shop.text("one more thing")  # no comment window: an ordinary message
    assert shop.conversation().status == "open" and shop.surveys()[0].comment is None
