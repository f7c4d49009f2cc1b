"""AI answers over real HTTP to the sandbox's fake OpenAI: grounding, privacy, timeouts, budget, suggest reply."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.errors import PermissionDenied, ValidationError
from crm_app.models import AiUsage, AuditLog, Message, SettingValue
from crm_app.services import settings
from crm_app.services.bot import ai, ai_settings, knowledge
from tests.factories import make_conversation, make_inbox, make_tenant, make_user
from tests.support.sandbox import free_port, sandbox_in_thread

KEY = get_settings().sandbox_openai_key.get_secret_value()
CHECKIN = "O check-in começa às 14h e o check-out vai até as 12h. Early check-in sob consulta."
WIFI = "A rede Wi-Fi é HotelSol e a senha é sol2024. Funciona em todos os andares."
PARKING = "Temos estacionamento coberto com manobrista, R$ 40 por diária. Dúvidas: (11) 3456-7890 ou " \
          "reservas@hotelsol.com.br."


@pytest.fixture(scope="module")
def sandbox_url():
    with sandbox_in_thread() as url:
        yield url


@pytest.fixture
def fake(sandbox_url):
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        client.delete("/sandbox/api/openai/requests")
        yield client


def _settings_values(sandbox_url: str, **overrides) -> dict:
    values = dict(enabled=True, base_url=f"{sandbox_url}/openai/v1", model="gpt-4o-mini", timeout_seconds=5,
                  min_confidence=0.6, input_cost_per_mtok=0.15, output_cost_per_mtok=0.60, monthly_budget_usd=0)
    values.update(overrides)
    return values


@pytest.fixture
def hotel(db, sandbox_url, fake):
    """A tenant with AI on (pointing at the fake), three knowledge entries and an admin."""
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    ai_settings.save_ai_settings(db, actor=admin, api_key=KEY, **_settings_values(sandbox_url))
    ids = {}
    for title, content, tags in (("Horário de check-in e check-out", CHECKIN, ["checkin"]),
                                 ("Wi-Fi", WIFI, ["internet"]),
                                 ("Estacionamento", PARKING, ["garagem", "carro"])):
        ids[title.split()[0]] = knowledge.create_entry(db, actor=admin, title=title, content=content, tags=tags).id
    db.commit()
    return {"tenant": tenant, "admin": admin, "ids": ids}


def _set(db, tenant_id: int, **values) -> None:
    """Change AI settings behind the page's back (the system), as the registry stores them."""
    settings.update(db, actor=None, tenant_id=tenant_id, changes={f"ai.{k}": v for k, v in values.items()})
    db.commit()


def _usage(db, tenant_id: int) -> list[AiUsage]:
    db.expire_all()
    return list(db.exec(select(AiUsage).where(AiUsage.tenant_id == tenant_id).order_by(AiUsage.id)).all())


def test_answer_contains_the_grounded_fact(db, hotel, fake):
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="Que horas é o check-in?")
    assert result.outcome == "ok"
    assert "14h" in result.text
    assert result.sources == [hotel["ids"]["Horário"]] and result.confidence >= 0.6
    sent = fake.get("/sandbox/api/openai/requests").json()
    assert len(sent) == 1
    system = sent[0]["body"]["messages"][0]["content"]
    assert CHECKIN in system and "JSON" in system
    (row,) = _usage(db, hotel["tenant"].id)
    assert row.outcome == "ok" and row.purpose == "answer" and row.prompt_tokens > 0 and row.completion_tokens > 0
    expected = (row.prompt_tokens * 0.15 + row.completion_tokens * 0.60) / 1e6
    assert row.cost_usd == pytest.approx(expected) and row.latency_ms >= 0


def test_only_the_relevant_entries_are_sent(db, hotel, fake):
    ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="qual a senha do wifi?")
    system = fake.get("/sandbox/api/openai/requests").json()[0]["body"]["messages"][0]["content"]
    ids = {int(i) for i in re.findall(r"\[#(\d+)\]", system)}
    assert hotel["ids"]["Wi-Fi"] in ids and hotel["ids"]["Horário"] not in ids


def test_no_relevant_entry_is_low_confidence_without_a_call(db, hotel, fake):
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="Aceitam pets?")
    assert (result.outcome, result.text) == ("low_confidence", None)
    assert fake.get("/sandbox/api/openai/requests").json() == []


def test_confidence_under_the_minimum_is_low_confidence(db, hotel):
    _set(db, hotel["tenant"].id, min_confidence=0.95)
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="horário do check-in")
    assert result.outcome == "low_confidence" and result.text is None and result.confidence == 0.9
    assert [u.outcome for u in _usage(db, hotel["tenant"].id)] == ["low_confidence"]


def test_inactive_and_other_tenants_entries_are_never_used(db, hotel, fake):
    other = make_tenant(db)
    other_admin = make_user(db, other.id, "admin")
    knowledge.create_entry(db, actor=other_admin, title="Piscina", content="A piscina abre às 8h.")
    knowledge.update_entry(db, actor=hotel["admin"], entry_id=hotel["ids"]["Wi-Fi"], title="Wi-Fi", content=WIFI,
                           tags=[], is_active=False)
    db.commit()
    assert knowledge.retrieve(db, tenant_id=hotel["tenant"].id, question="piscina wifi senha") == []
    hits = knowledge.retrieve(db, tenant_id=other.id, question="a piscina abre que horas?")
    assert [h.title for h in hits] == ["Piscina"]


@pytest.mark.parametrize("mode", ["error", "rate_limit", "bad_json"])
def test_ai_down_is_an_error_outcome(db, hotel, fake, mode):
    fake.post("/sandbox/api/openai/fault", json={"mode": mode})
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="check-in")
    assert (result.outcome, result.text) == ("error", None)
    assert [u.outcome for u in _usage(db, hotel["tenant"].id)] == ["error"]


def test_unreachable_server_and_wrong_key_are_errors(db, hotel):
    _set(db, hotel["tenant"].id, api_key="sk-not-the-right-one")
    assert ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="check-in").outcome == "error"
    _set(db, hotel["tenant"].id, api_key=KEY, base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="check-in").outcome == "error"


def test_slow_ai_times_out_within_the_tenants_timeout(db, hotel, fake):
    _set(db, hotel["tenant"].id, timeout_seconds=1.0)
    fake.post("/sandbox/api/openai/fault", json={"mode": "slow", "delay_seconds": 4})
    started = time.monotonic()
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="check-in")
    assert result.outcome == "timeout" and time.monotonic() - started < 3
    (row,) = _usage(db, hotel["tenant"].id)
    assert row.outcome == "timeout" and row.latency_ms >= 900


def test_budget_cap_refuses_without_calling(db, hotel, fake):
    tenant_id = hotel["tenant"].id
    _set(db, tenant_id, monthly_budget_usd=0.01)
    last_month = ai.month_start("America/Sao_Paulo") - dt.timedelta(days=3)
    db.add(AiUsage(tenant_id=tenant_id, purpose="answer", model="m", cost_usd=5.0, outcome="ok",
                   created_at=last_month))
    db.commit()
    assert ai.answer(tenant_id=tenant_id, conversation_id=None, question="check-in").outcome == "ok"  # last month
    db.add(AiUsage(tenant_id=tenant_id, purpose="answer", model="m", cost_usd=0.02, outcome="ok"))
    db.commit()
    calls_before = len(fake.get("/sandbox/api/openai/requests").json())
    result = ai.answer(tenant_id=tenant_id, conversation_id=None, question="check-in")
    assert (result.outcome, result.text) == ("budget", None)
    assert len(fake.get("/sandbox/api/openai/requests").json()) == calls_before
    assert _usage(db, tenant_id)[-1].outcome == "budget"
    summary = ai.month_usage(db, actor=hotel["admin"])
    assert summary.refused_budget == 1 and summary.budget_usd == 0.01 and summary.cost_usd >= 0.02


def test_month_starts_in_the_tenants_timezone():
    now = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)  # still February in São Paulo (UTC-3)
    assert ai.month_start("America/Sao_Paulo", now) == dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC)
    assert ai.month_start("UTC", now) == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_disabled_ai_makes_no_call(db, hotel, fake):
    _set(db, hotel["tenant"].id, enabled=False)
    assert ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question="check-in").outcome == "disabled"
    assert fake.get("/sandbox/api/openai/requests").json() == []
    assert ai.answer(tenant_id=make_tenant(db).id, conversation_id=None, question="check-in").outcome == "disabled"


PII = {
    "cpf": ["529.982.247-25", "52998224725"],
    "phone": ["(11) 98123-4567", "+55 21 99876-5432", "11981234567", "3456-7890"],
    "email": ["maria.souza@gmail.com", "reservas@hotelsol.com.br"],
    "card": ["4111 1111 1111 1111", "5555-5555-5555-4444"],
    "cnpj": ["11.222.333/0001-81"],
}


def test_the_fake_only_ever_receives_redacted_text(db, hotel, fake):
    question = ("Oi, sou Maria, CPF 529.982.247-25, cel (11) 98123-4567, e-mail maria.souza@gmail.com. "
                "Tem estacionamento? Pago no cartão 4111 1111 1111 1111 ou CNPJ 11.222.333/0001-81.")
    history = [("customer", "Meu outro número é +55 21 99876-5432 e meu CPF sem pontos 52998224725"),
               ("bot", "Obrigado! Confirmo o cartão 5555-5555-5555-4444?"), ("customer", "liga no 11981234567")]
    result = ai.answer(tenant_id=hotel["tenant"].id, conversation_id=None, question=question, history=history)
    assert result.outcome == "ok"
    assert "[TELEFONE]" in result.text  # the grounded entry's own phone was redacted before it left too
    recorded = fake.get("/sandbox/api/openai/requests").json()
    raw = " ".join(r["raw"] for r in recorded)
    sent = " ".join(m["content"] for r in recorded for m in r["body"]["messages"])
    assert len(recorded) == 1 and "estacionamento" in sent
    for values in PII.values():
        for value in values:
            assert value not in sent and value not in raw, value
    runs = [re.sub(r"\D", "", run) for run in re.findall(r"\d[\d .()/+-]*\d", sent)]
    for needle in ("52998224725", "981234567", "998765432", "4111111111111111", "5555555555554444",
                   "11222333000181", "34567890"):
        assert all(needle not in run for run in runs), needle
    for placeholder in ("[CPF]", "[TELEFONE]", "[EMAIL]", "[CARTAO]", "[CNPJ]"):
        assert placeholder in sent


def _conversation(db, tenant_id: int, assignee_id: int | None, bot_active: bool = False):
    inbox = make_inbox(db, tenant_id)
    conversation = make_conversation(db, inbox.id, wa_id=f"55119{uuid.uuid4().int % 10**8:08d}")
    conversation.assignee_id, conversation.bot_active = assignee_id, bot_active
    db.add(conversation)
    for sender, body in (("customer", "Olá, boa tarde"), ("attendant", "Olá! Como posso ajudar?"),
                         ("customer", "Meu CPF é 529.982.247-25."), ("customer", "Vocês têm estacionamento?")):
        db.add(Message(tenant_id=tenant_id, conversation_id=conversation.id, sender_type=sender,
                       direction="inbound" if sender == "customer" else "outbound", kind="text", body=body,
                       status="received" if sender == "customer" else "sent"))
    db.commit()
    return conversation


def test_suggest_reply_drafts_from_the_last_customer_messages(db, hotel, fake):
    attendant = make_user(db, hotel["tenant"].id, "attendant")
    conversation = _conversation(db, hotel["tenant"].id, attendant.user_id)
    draft = ai.suggest_reply(db, actor=attendant, conversation_id=conversation.id)
    assert "estacionamento coberto" in draft
    body = fake.get("/sandbox/api/openai/requests").json()[-1]["body"]
    assert body["messages"][-1]["content"] == "Meu CPF é [CPF].\nVocês têm estacionamento?"
    assert body["messages"][-2] == {"role": "assistant", "content": "Olá! Como posso ajudar?"}
    usage = _usage(db, hotel["tenant"].id)[-1]
    assert (usage.purpose, usage.user_id, usage.conversation_id) == ("suggest", attendant.user_id,
                                                                      conversation.id)


def test_suggest_reply_needs_the_right_to_reply(db, hotel, fake):
    owner = make_user(db, hotel["tenant"].id, "attendant")
    other = make_user(db, hotel["tenant"].id, "attendant")
    conversation = _conversation(db, hotel["tenant"].id, owner.user_id)
    with pytest.raises(PermissionDenied):
        ai.suggest_reply(db, actor=other, conversation_id=conversation.id)
    bot_owned = _conversation(db, hotel["tenant"].id, None, bot_active=True)
    with pytest.raises(PermissionDenied):
        ai.suggest_reply(db, actor=hotel["admin"], conversation_id=bot_owned.id)
    stranger = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(Exception) as caught:
        ai.suggest_reply(db, actor=stranger, conversation_id=conversation.id)
    assert caught.value.code == "not_found"
    assert fake.get("/sandbox/api/openai/requests").json() == []


def test_suggest_reply_failure_has_a_message_key(db, hotel, fake):
    attendant = make_user(db, hotel["tenant"].id, "attendant")
    conversation = _conversation(db, hotel["tenant"].id, attendant.user_id)
    fake.post("/sandbox/api/openai/fault", json={"mode": "error"})
    with pytest.raises(ai.AiFailed) as caught:
        ai.suggest_reply(db, actor=attendant, conversation_id=conversation.id)
    assert caught.value.code == "ai_error"
    from crm_app.i18n import EN, PT_BR

    for outcome in ("error", "timeout", "budget", "disabled", "low_confidence", "nothing_to_answer"):
        assert f"error.ai_{outcome}" in PT_BR and f"error.ai_{outcome}" in EN


def test_settings_keep_the_key_secret(db, hotel, sandbox_url):
    admin, tenant_id = hotel["admin"], hotel["tenant"].id
    view = ai_settings.get_ai_settings(db, actor=admin)
    assert view.key_set and not hasattr(view, "api_key")
    stored = db.exec(text("SELECT secret_value FROM setting_values WHERE tenant_id = :t AND key = 'ai.api_key'"),
                     params={"t": tenant_id}).one()[0]
    assert KEY not in stored and stored.startswith("v1:")  # encrypted at rest
    history = settings.history(db, actor=admin, tenant_id=tenant_id, key="ai.api_key")
    assert [c.new_display for c in history] == [settings.MASK]  # the history masks it
    ai_settings.save_ai_settings(db, actor=admin, **_settings_values(sandbox_url, model="gpt-4o"))  # key kept
    assert ai_settings.get_ai_settings(db, actor=admin).key_set
    ai_settings.save_ai_settings(db, actor=admin, clear_key=True, **_settings_values(sandbox_url))
    db.commit()
    assert not ai_settings.get_ai_settings(db, actor=admin).key_set
    trail = db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant_id,
                                           AuditLog.action == "ai_settings.update")).all()
    assert len(trail) == 3 and all(KEY not in str(r.before) + str(r.after) for r in trail)
    assert [r.after["key"] for r in trail] == ["replaced", "kept", "cleared"]


def test_settings_are_admin_only_and_validated(db, hotel, sandbox_url):
    supervisor = make_user(db, hotel["tenant"].id, "supervisor")
    with pytest.raises(PermissionDenied):
        ai_settings.get_ai_settings(db, actor=supervisor)
    with pytest.raises(PermissionDenied):
        ai_settings.save_ai_settings(db, actor=supervisor, **_settings_values(sandbox_url))
    for bad in ({"base_url": "ftp://x"}, {"model": ""}, {"timeout_seconds": 0}, {"min_confidence": 2},
                {"monthly_budget_usd": -1}, {"input_cost_per_mtok": "abc"}):
        with pytest.raises(ValidationError):
            ai_settings.save_ai_settings(db, actor=hotel["admin"], **_settings_values(sandbox_url, **bad))


def test_try_question_is_the_admins_test_box(db, hotel):
    result = ai.try_question(actor=hotel["admin"], question="a senha do wifi")
    assert result.outcome == "ok" and "sol2024" in result.text
    with pytest.raises(PermissionDenied):
        ai.try_question(actor=make_user(db, hotel["tenant"].id, "attendant"), question="wifi")


def test_knowledge_crud_is_admin_only_validated_and_audited(db, hotel):
    admin = hotel["admin"]
    row = knowledge.create_entry(db, actor=admin, title="Formas de pagamento",
                                 content="Aceitamos Pix, cartões de crédito e débito.", tags="pagamento, pix")
    assert row.tags == ["pagamento", "pix"]
    assert [r.title for r in knowledge.list_entries(db, actor=admin, query="PIX")] == ["Formas de pagamento"]
    with pytest.raises(ValidationError):
        knowledge.create_entry(db, actor=admin, title="", content="x")
    with pytest.raises(PermissionDenied):
        knowledge.list_entries(db, actor=make_user(db, hotel["tenant"].id, "supervisor"))
    stranger = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(Exception) as caught:
        knowledge.delete_entry(db, actor=stranger, entry_id=row.id)
    assert caught.value.code == "not_found"
    knowledge.delete_entry(db, actor=admin, entry_id=row.id)
    db.commit()
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_type == "knowledge_entry",
                                                    AuditLog.target_id == str(row.id))).all()
    assert sorted(actions) == ["knowledge.create", "knowledge.delete"]


def test_retrieval_ranks_the_best_entry_first(db, hotel):
    hits = knowledge.retrieve(db, tenant_id=hotel["tenant"].id, question="Onde deixo o carro? Tem garagem?")
    assert hits[0].title == "Estacionamento"
    assert knowledge.retrieve(db, tenant_id=hotel["tenant"].id, question="oi, bom dia") == []


def test_demo_tenant_has_ai_and_a_hotel_faq(db, sandbox_url, fake):
    from crm_app.models import KnowledgeEntry
    from crm_app.services import demo

    demo.seed_demo(db)
    demo.seed_demo(db)
    db.commit()
    tenant_id = db.exec(text("SELECT id FROM tenants WHERE slug = 'demo'")).one()[0]
    ai_values = settings.values(db, ["ai.enabled", "ai.api_key", "ai.base_url"], tenant_id=tenant_id)
    assert ai_values["ai.enabled"] and ai_values["ai.api_key"] == KEY
    assert ai_values["ai.base_url"].endswith("/openai/v1")
    assert db.exec(select(SettingValue).where(SettingValue.tenant_id == tenant_id,
                                              SettingValue.key == "ai.enabled")).one().value is True
    titles = db.exec(select(KnowledgeEntry.title).where(KnowledgeEntry.tenant_id == tenant_id)).all()
    assert len(titles) == len(ai_settings.DEMO_KNOWLEDGE) == len(set(titles))
    _set(db, tenant_id, base_url=f"{sandbox_url}/openai/v1")
    for question, fact in (("Que horas é o check-in?", "14h"), ("Qual a senha do wi-fi?", "praia2025"),
                           ("Tem estacionamento? Quanto custa?", "R$ 45"), ("Aceitam pix?", "Pix"),
                           ("Posso levar meu cachorro?", "pequeno porte")):
        result = ai.answer(tenant_id=tenant_id, conversation_id=None, question=question)
        assert result.outcome == "ok" and fact in result.text, (question, result)


def test_judge_reads_the_models_json_defensively():
    ok = ai.judge('Claro! {"answer": "Às 14h.", "confidence": 0.8, "sources": [3, "#4", 99]} ', {3, 4}, 0.6)
    assert (ok.outcome, ok.text, ok.sources) == ("ok", "Às 14h.", [3, 4])
    assert ai.judge('{"answer": "", "confidence": 0.9}', {1}, 0.6).outcome == "low_confidence"
    assert ai.judge('{"answer": "x", "confidence": "alta"}', {1}, 0.6).outcome == "error"
    assert ai.judge("sem json", {1}, 0.6).outcome == "error"
    assert ai.judge('{"answer": "x", "confidence": 7}', {1}, 0.6).confidence == 1.0


def test_build_messages_redacts_entries_history_and_question():
    hit = knowledge.KnowledgeHit(5, "Contato", "Ligue (11) 3456-7890", 1.0, ["fone"])
    messages = ai.build_messages([hit], "meu email é a@b.com", [("customer", "cpf 52998224725"), ("bot", "ok")],
                                 extra_prompt="Assine como Hotel Sol, fone 11 98123-4567")
    dumped = str(messages)
    assert "3456-7890" not in dumped and "a@b.com" not in dumped and "52998224725" not in dumped
    assert "98123-4567" not in dumped and "[#5] Contato — fone" in messages[0]["content"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
