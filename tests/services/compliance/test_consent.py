"""The consent ledger: opt-out words from WhatsApp (pt-BR and es), Meta's 131050, may_send, roles and tenants."""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import select

from crm_app.db import session_scope, utcnow
from crm_app.domain.whatsapp import StatusUpdate
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import ConsentEvent, Conversation, Direction, Message, SenderType
from crm_app.queue import get_queue
from crm_app.services import bot
from crm_app.services.channel import inbound, marketing, outbound
from crm_app.services.compliance import consent
from crm_app.services.core import jobs
from tests.factories import make_tenant, make_user
from tests.services.bot.test_bot import hotel
from tests.support.inbox import customer_writes, fresh_tenant
from tests.support.whatsapp import PHONE_NUMBER_ID, run_burst_worker

WA = "5548999990001"


@pytest.fixture
def world(db):
    tenant, box = fresh_tenant(db)
    yield {"tenant": tenant, "inbox": box, "admin": make_user(db, tenant.id, "admin"),
           "dpo": make_user(db, tenant.id, "dpo")}
    bot.forget_scheduled_turns()


def _message(wamid: str) -> Message:
    with session_scope() as s:
        return s.exec(select(Message).where(Message.wa_message_id == wamid)).one()


def _ledger() -> list[ConsentEvent]:
    with session_scope() as s:
        return list(s.exec(select(ConsentEvent).order_by(ConsentEvent.id)).all())


def _confirmations(conversation_id: int) -> list[str]:
    with session_scope() as s:
        return list(s.exec(select(Message.body).where(Message.conversation_id == conversation_id,
                                                      Message.direction == Direction.OUTBOUND)).all())


@pytest.mark.parametrize("word", ["SAIR", "parar", "Baja!", "stop"])
def test_an_opt_out_word_withdraws_marketing_once_and_is_confirmed(world, word):
    wamid = customer_writes(body=word, wa_id=WA)
    message = _message(wamid)
    # queued after the commit, by name, on the hot queue
    assert jobs.job_id("apply_opt_out", message.id) in get_queue("high").job_ids
    result = run_burst_worker("high")
    assert result.returncode == 0, result.stderr[-2000:]
    assert consent.apply_opt_out(message.id) == "done"  # a second run records and sends nothing more
    [event] = _ledger()
    assert (event.purpose, event.granted, event.source, event.proof) == ("marketing", False, "opt_out_keyword", wamid)
    assert event.policy_version == "v1" and event.legal_basis == "consent"
    assert len(_confirmations(message.conversation_id)) == 1
    assert "marketing" in _confirmations(message.conversation_id)[0]
    with session_scope() as s:
        contact_id = s.get(Conversation, message.conversation_id).contact_id
        assert consent.may_send(s, contact_id, "marketing") is False


def test_a_sentence_with_the_word_inside_is_an_ordinary_message(world):
    wamid = customer_writes(body="quero cancelar minha reserva", wa_id=WA)
    assert jobs.job_id("apply_opt_out", _message(wamid).id) not in get_queue("high").job_ids
    assert _ledger() == []


def test_an_opt_out_word_is_never_a_menu_answer(db, world):
    bot.seed_flow(db, tenant_id=world["tenant"].id, inbox_id=world["inbox"].id, definition=hotel())
    db.commit()
    first = _message(customer_writes(body="Oi", wa_id=WA))
    assert bot.run_turn(first.conversation_id, first.id).startswith("turn 1")
    out = _message(customer_writes(body="CANCELAR", wa_id=WA))
    assert bot.run_turn(out.conversation_id, out.id) == "opt-out"
    with session_scope() as s:
        bot_texts = s.exec(select(Message.payload).where(Message.conversation_id == out.conversation_id,
                                                         Message.sender_type == SenderType.BOT)).all()
    assert len(bot_texts) == 1  # no "Não entendi." retry, no second menu


def test_meta_131050_on_a_status_withdraws_marketing(db, world):
    wamid = customer_writes(body="Oi", wa_id=WA)
    conversation_id = _message(wamid).conversation_id
    with session_scope() as s:
        sent = Message(tenant_id=world["tenant"].id, conversation_id=conversation_id, direction=Direction.OUTBOUND,
                       sender_type=SenderType.SYSTEM, kind="template", body="Promoção", status="sent",
                       wa_message_id="wamid.out-131050")
        s.add(sent)
    with session_scope() as s:
        update = StatusUpdate(PHONE_NUMBER_ID, "wamid.out-131050", "failed", dt.datetime.now(dt.UTC), WA,
                              error_code=131050, error_reason="user stopped marketing")
        assert inbound.apply_status(s, tenant_id=world["tenant"].id, update=update)
    result = run_burst_worker("high")
    assert result.returncode == 0, result.stderr[-2000:]
    [event] = _ledger()
    assert (event.purpose, event.granted, event.source) == ("marketing", False, "meta_131050")


def test_may_send_needs_a_grant_for_marketing_and_only_no_withdrawal_for_service(db, world):
    customer_writes(body="Oi", wa_id=WA)
    contact_id = db.exec(select(Conversation.contact_id)).one()
    assert consent.may_send(db, contact_id, "marketing") is False
    assert consent.may_send(db, contact_id, "atendimento") is True
    consent.set_consent(db, actor=world["dpo"], contact_id=contact_id, purpose="marketing", granted=True)
    db.commit()
    assert consent.may_send(db, contact_id, "marketing") is True
    assert [r.granted for r in consent.list_consents(db, actor=world["admin"], contact_id=contact_id)] == [True]
    assert consent.counts_by_purpose(db, actor=world["dpo"])["marketing"] == {"granted": 1, "withdrawn": 0}


def test_consent_checks_role_tenant_and_values(db, world):
    customer_writes(body="Oi", wa_id=WA)
    contact_id = db.exec(select(Conversation.contact_id)).one()
    with pytest.raises(PermissionDenied):
        consent.set_consent(db, actor=make_user(db, world["tenant"].id, "attendant"), contact_id=contact_id,
                            purpose="marketing", granted=True)
    other = make_user(db, make_tenant(db).id, "dpo")
    with pytest.raises(NotFound):
        consent.set_consent(db, actor=other, contact_id=contact_id, purpose="marketing", granted=True)
    with pytest.raises(NotFound):
        consent.list_consents(db, actor=other, contact_id=contact_id)
    with pytest.raises(ValidationError):
        consent.set_consent(db, actor=world["dpo"], contact_id=contact_id, purpose="spam", granted=True)


def test_the_bot_consent_step_records_the_answer_with_its_message_as_proof(db, world):
    definition = {
        "start": "ask",
        "nodes": {"ask": {"type": "consent", "purpose": "marketing", "text": "Podemos enviar ofertas?",
                          "granted": "thanks", "refused": "bye"},
                  "thanks": {"type": "handoff", "text": "Obrigado! Já chamamos alguém."},
                  "bye": {"type": "close", "text": "Tudo bem."}},
        "settings": {"debounce_seconds": 1},
    }
    bot.seed_flow(db, tenant_id=world["tenant"].id, inbox_id=world["inbox"].id, definition=definition)
    db.commit()
    first = _message(customer_writes(body="Oi", wa_id=WA))
    assert bot.run_turn(first.conversation_id, first.id).startswith("turn 1")
    assert _ledger() == []  # asking records nothing
    vague = _message(customer_writes(body="talvez depois", wa_id=WA))
    bot.run_turn(vague.conversation_id, vague.id)
    assert _ledger() == []  # an unclear answer is asked again, never taken as consent
    answer_wamid = customer_writes(body="Sim", wa_id=WA)
    answer = _message(answer_wamid)
    assert bot.run_turn(answer.conversation_id, answer.id).startswith("turn 3")
    assert bot.run_turn(answer.conversation_id, answer.id) == "silent"  # a second run records nothing
    [event] = _ledger()
    assert (event.purpose, event.granted, event.source, event.proof, event.contact_id) == (
        "marketing", True, "bot_step", answer_wamid, _contact_of(answer.conversation_id))
    with session_scope() as s:
        assert consent.may_send(s, event.contact_id, "marketing")
        assert s.get(Conversation, answer.conversation_id).bot_active is False  # granted led to the handoff


def _contact_of(conversation_id: int) -> int:
    with session_scope() as s:
        return s.get(Conversation, conversation_id).contact_id


def test_the_sweep_records_an_opt_out_and_a_131050_whose_job_was_lost(db, world):
    word = _message(customer_writes(body="Parar.", wa_id=WA))
    customer_writes(body="quero parar de receber, mas me mande a fatura", wa_id=WA)  # a sentence: never an opt-out
    with session_scope() as s:
        refused = Message(tenant_id=world["tenant"].id, conversation_id=word.conversation_id,
                          direction=Direction.OUTBOUND, sender_type=SenderType.SYSTEM, kind="template", body="Promo",
                          status="failed", error_code=131050, wa_message_id="wamid.out-lost")
        s.add(refused)
        s.flush()
        refused_id = refused.id
    get_queue("high").empty()  # Redis lost the jobs the commits queued
    assert consent.sweep_opt_outs() == 2
    assert consent.sweep_opt_outs() == 0  # nothing twice
    assert sorted((e.source, e.proof) for e in _ledger()) == [
        ("meta_131050", f"message:{refused_id}"), ("opt_out_keyword", word.wa_message_id)]
    assert len(_confirmations(word.conversation_id)) == 2  # the template and one confirmation
    old = consent.SWEEP_WINDOW + dt.timedelta(minutes=1)
    with session_scope() as s:  # an opt-out older than the window is left to people (the sweep stays cheap)
        s.exec(sa.delete(ConsentEvent))
    assert consent.sweep_opt_outs(now=utcnow() + old) == 0


def _promo_conversation(db, category: str):
    """A conversation with the bot off on a number that has a `promo` template of `category`; (admin, it)."""
    from crm_app.models import MessageTemplate
    from tests.factories import make_conversation, make_inbox

    tenant = make_tenant(db)
    admin, box = make_user(db, tenant.id, "admin"), make_inbox(db, tenant.id)
    conversation = make_conversation(db, box.id, wa_id=WA)
    conversation.bot_active = False
    db.add(conversation)
    db.add(MessageTemplate(tenant_id=tenant.id, inbox_id=box.id, wa_template_id="1", name="promo", language="pt_BR",
                           category=category, status="APPROVED"))
    db.commit()
    return admin, conversation


def test_a_marketing_template_goes_only_to_a_consenting_contact_and_a_resend_asks_again(db):
    from crm_app.state.errors import crm_error_text

    admin, conversation = _promo_conversation(db, "MARKETING")
    promo = {"type": "template", "name": "promo", "language": "pt_BR"}
    with pytest.raises(marketing.MarketingConsentRequired) as refused:
        outbound.send_message(db, actor=admin, conversation_id=conversation.id, content=promo)
    db.rollback()
    assert refused.value.status == 409
    assert "marketing" in crm_error_text("pt-BR", refused.value) and "marketing" in crm_error_text("en",
                                                                                                  refused.value)
    consent.set_consent(db, actor=admin, contact_id=conversation.contact_id, purpose="marketing", granted=True)
    row = outbound.send_message(db, actor=admin, conversation_id=conversation.id, content=promo)
    db.commit()
    message = db.get(Message, row.id)
    message.status = "failed"
    db.add(message)
    consent.set_consent(db, actor=admin, contact_id=conversation.contact_id, purpose="marketing", granted=False)
    db.commit()
    with pytest.raises(marketing.MarketingConsentRequired):  # withdrawn since: "Reenviar" is refused too
        outbound.resend_failed(db, actor=admin, message_id=row.id)
    db.rollback()
    assert db.get(Message, row.id).status == "failed"


def test_a_template_of_unknown_category_is_gated_like_marketing(db):
    from crm_app.models import MessageTemplate

    admin, conversation = _promo_conversation(db, "")  # synced, but Meta gave no category
    for name, category in (("aviso", "UTILITY"), ("codigo", "authentication")):
        db.add(MessageTemplate(tenant_id=conversation.tenant_id, inbox_id=conversation.inbox_id, wa_template_id=name,
                               name=name, language="pt_BR", category=category, status="APPROVED"))
    db.commit()
    for name in ("promo", "nunca_sincronizado"):  # no category known, and a template the number never synced
        with pytest.raises(marketing.MarketingConsentRequired) as refused:
            outbound.send_message(db, actor=admin, conversation_id=conversation.id,
                                  content={"type": "template", "name": name, "language": "pt_BR"})
        db.rollback()
        assert refused.value.status == 409
    for name in ("aviso", "codigo"):  # known not to be marketing: no consent needed
        outbound.send_message(db, actor=admin, conversation_id=conversation.id,
                              content={"type": "template", "name": name, "language": "pt_BR"})
    db.commit()
    consent.set_consent(db, actor=admin, contact_id=conversation.contact_id, purpose="marketing", granted=True)
    outbound.send_message(db, actor=admin, conversation_id=conversation.id,
                          content={"type": "template", "name": "nunca_sincronizado", "language": "pt_BR"})
    db.commit()


def test_a_marketing_template_queued_before_a_withdrawal_is_not_sent(db):
    admin, conversation = _promo_conversation(db, "marketing")  # the category as Meta may spell it
    consent.set_consent(db, actor=admin, contact_id=conversation.contact_id, purpose="marketing", granted=True)
    row = outbound.send_message(db, actor=admin, conversation_id=conversation.id,
                                content={"type": "template", "name": "promo", "language": "pt_BR"})
    db.commit()
    consent.set_consent(db, actor=admin, contact_id=conversation.contact_id, purpose="marketing", granted=False)
    db.commit()  # the customer said SAIR while the campaign was still in the queue
    assert outbound.deliver_message(row.id) == "no-consent"  # refused before any Graph call (none is reachable)
    db.expire_all()
    message = db.get(Message, row.id)
    assert message.status == "failed" and "consent" in message.error_reason and message.wa_message_id is None
