"""AI answers grounded on the tenant's knowledge entries, for the bot and for attendants' drafts.

The path of one question:
1. The tenant's AI settings (`ai.*` in the settings registry) must be enabled, and this month's spend (in
   the tenant's timezone) under its budget; otherwise no call is made.
2. Retrieval picks the relevant active entries (`services.knowledge.retrieve`); none means no call.
3. The question, the history and the entries are redacted (`domain.redaction`) before they are put in
   the prompt: nothing that leaves carries a CPF, phone, e-mail or card number.
4. One bounded call through `integrations.openai_client`; the model must answer JSON
   `{"answer", "confidence", "sources"}` from the entries only.
5. Every call is written to `AiUsage` (tokens, cost, outcome, latency), whatever happened.

`answer` never raises for outside failures: the bot turns an outcome other than "ok" into a handoff.
It opens its own short transactions, so callers must not hold one while it waits for the model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import zoneinfo
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain.redaction import redact
from crm_app.errors import CRMError, PermissionDenied, ValidationError
from crm_app.integrations.errors import ExternalServiceError
from crm_app.integrations.openai_client import AiTimeout, ChatConfig, Completion, complete
from crm_app.models import AiUsage, Message, Tenant
from crm_app.services import settings as registry
from crm_app.services import transaction
from crm_app.services.bot import knowledge
from crm_app.services.bot.knowledge import KnowledgeHit
from crm_app.services.conversations import access as conversation_access
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "low_confidence", "error", "timeout", "budget", "disabled")
CONTEXT_ENTRIES = 3
# The settings a call reads (crm_app/services/settings, category "ai").
AI_KEYS = ("ai.base_url", "ai.model", "ai.api_key", "ai.timeout_seconds", "ai.min_confidence",
           "ai.input_cost_per_mtok", "ai.output_cost_per_mtok", "ai.monthly_budget_usd", "ai.system_prompt")
HISTORY_TURNS = 8
SUGGEST_MESSAGES = 12
MAX_QUESTION = 2000
SYSTEM_PROMPT = (
    "Você é o assistente de atendimento de uma empresa no WhatsApp. Responda SOMENTE com base nas entradas "
    "da base de conhecimento abaixo; nunca invente preços, horários, políticas ou dados. Se a resposta não "
    "estiver nas entradas, responda com confidence 0. Dados pessoais aparecem como [CPF], [CNPJ], [TELEFONE], "
    "[EMAIL] ou [CARTAO]: não tente adivinhá-los nem pedi-los de volta. Responda no idioma do cliente, em "
    "poucas frases, com cordialidade. Devolva apenas um objeto JSON: "
    '{"answer": "texto da resposta", "confidence": número de 0 a 1, "sources": [ids das entradas usadas]}.'
)


@dataclass(frozen=True)
class AiAnswer:
    """What the AI said. Only the outcome "ok" carries text; `sources` are knowledge entry ids."""

    text: str | None
    outcome: str
    confidence: float = 0.0
    sources: list[int] = field(default_factory=list)


class AiFailed(CRMError):
    """No AI draft: the code says why (`ai_disabled`, `ai_budget`, `ai_timeout`…), for a clear toast."""

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the AI could not answer ({outcome})")
        self.outcome = outcome
        self.code = f"ai_{outcome}"


@dataclass(frozen=True)
class _Ready:
    """Everything the call needs, copied out of the session before the (slow) call starts."""

    config: ChatConfig
    min_confidence: float
    input_cost: float
    output_cost: float
    system_prompt: str | None
    hits: list[KnowledgeHit]


@dataclass(frozen=True)
class UsageSummary:
    """This month's calls and spend, in the tenant's timezone."""

    calls: int
    answered: int
    refused_budget: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    budget_usd: float


def answer(*, tenant_id: int, conversation_id: int | None, question: str,
           history: list[tuple[str, str]] | tuple = ()) -> AiAnswer:
    """The bot's AI answer to `question`; never raises for outside failures.

    Args:
        tenant_id: Whose settings, budget and knowledge to use.
        conversation_id: Recorded on the usage row.
        question: The customer's message (redacted here before it leaves).
        history: Earlier turns as (who, text); "customer"/"user" are the customer, anything else us.
    """
    return _ask(tenant_id=tenant_id, conversation_id=conversation_id, user_id=None, purpose="answer",
                question=question, history=list(history))


def _ask(*, tenant_id: int, conversation_id: int | None, user_id: int | None, purpose: str, question: str,
         history: list[tuple[str, str]]) -> AiAnswer:
    try:
        with transaction() as session:
            ready = _prepare(session, tenant_id, question)
            if isinstance(ready, AiAnswer):
                if ready.outcome == "budget":
                    _record(session, tenant_id, conversation_id, user_id, purpose, "", None, "budget", 0, 0.0)
                return ready
        started = time.monotonic()
        result, completion = _call(ready, question, history)
        latency_ms = int((time.monotonic() - started) * 1000)
    except Exception:
        log.exception("AI answer failed for tenant %s", tenant_id)
        return AiAnswer(None, "error")
    cost = _cost(ready, completion)
    try:
        with transaction() as session:
            _record(session, tenant_id, conversation_id, user_id, purpose, ready.config.model, completion,
                    result.outcome, latency_ms, cost)
    except Exception:
        log.exception("could not record AI usage for tenant %s", tenant_id)
    return result


def _prepare(session: Session, tenant_id: int, question: str) -> _Ready | AiAnswer:
    """Settings, budget and retrieval; an AiAnswer when no call should be made."""
    if not registry.value(session, "ai.enabled", tenant_id=tenant_id):
        return AiAnswer(None, "disabled")
    settings = registry.values(session, AI_KEYS, tenant_id=tenant_id)  # the settings cache: no query when warm
    budget = settings["ai.monthly_budget_usd"]
    if budget > 0:
        spent = month_spend(session, tenant_id=tenant_id, since=month_start(_tenant_tz(session, tenant_id)))
        if spent >= budget:
            return AiAnswer(None, "budget")
    hits = knowledge.retrieve(session, tenant_id=tenant_id, question=question[:MAX_QUESTION],
                              limit=CONTEXT_ENTRIES)
    if not hits:
        return AiAnswer(None, "low_confidence")
    config = ChatConfig(base_url=settings["ai.base_url"], model=settings["ai.model"],
                        api_key=settings["ai.api_key"] or "", timeout_seconds=float(settings["ai.timeout_seconds"]))
    return _Ready(config, settings["ai.min_confidence"], settings["ai.input_cost_per_mtok"],
                  settings["ai.output_cost_per_mtok"], settings["ai.system_prompt"] or None, hits)


def _heading(hit: KnowledgeHit) -> str:
    """An entry's title line; its tags ride along, since they are words customers use."""
    return f"{hit.title} — {', '.join(hit.tags)}" if hit.tags else hit.title


def build_messages(hits: list[KnowledgeHit], question: str, history: list[tuple[str, str]],
                   extra_prompt: str | None = None) -> list[dict[str, str]]:
    """The chat messages: instructions and the entries, the recent turns, then the question; all redacted."""
    context = "\n\n".join(f"[#{h.id}] {redact(_heading(h))}\n{redact(h.content)}" for h in hits)
    system = SYSTEM_PROMPT + (f"\n\n{redact(extra_prompt)}" if extra_prompt else "")
    messages = [{"role": "system", "content": f"{system}\n\nBase de conhecimento:\n\n{context}"}]
    for who, text in history[-HISTORY_TURNS:]:
        if text and text.strip():
            role = "user" if who in ("customer", "user") else "assistant"
            messages.append({"role": role, "content": redact(text.strip()[:MAX_QUESTION])})
    messages.append({"role": "user", "content": redact(question.strip()[:MAX_QUESTION])})
    return messages


def _call(ready: _Ready, question: str, history: list[tuple[str, str]]) -> tuple[AiAnswer, Completion | None]:
    messages = build_messages(ready.hits, question, history, ready.system_prompt)
    try:
        completion = complete(ready.config, messages)
    except AiTimeout:
        log.warning("AI call timed out after %ss (%s)", ready.config.timeout_seconds, ready.config.base_url)
        return AiAnswer(None, "timeout"), None
    except ExternalServiceError as exc:
        log.warning("AI call failed: %s (HTTP %s, %s)", exc.message, exc.http_status, exc.details)
        return AiAnswer(None, "error"), None
    return judge(completion.content, {h.id for h in ready.hits}, ready.min_confidence), completion


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def judge(content: str, allowed_sources: set[int], min_confidence: float) -> AiAnswer:
    """Read the model's JSON reply; low confidence or an empty answer means "low_confidence"."""
    found = _JSON_OBJECT.search(content or "")
    try:
        data = json.loads(found.group(0)) if found else None
        text = str(data.get("answer") or "").strip()
        confidence = min(1.0, max(0.0, float(data.get("confidence") or 0)))
        sources = [int(str(s).lstrip("#")) for s in (data.get("sources") or []) if str(s).lstrip("#").isdigit()]
    except (ValueError, TypeError, AttributeError):
        log.warning("AI reply was not the JSON asked for")
        return AiAnswer(None, "error")
    sources = [s for s in dict.fromkeys(sources) if s in allowed_sources]
    if not text or confidence < min_confidence:
        return AiAnswer(None, "low_confidence", confidence, sources)
    return AiAnswer(text, "ok", confidence, sources)


def _cost(ready: _Ready, completion: Completion | None) -> float:
    if completion is None:
        return 0.0
    return (completion.prompt_tokens * ready.input_cost + completion.completion_tokens * ready.output_cost) / 1e6


def _record(session: Session, tenant_id: int, conversation_id: int | None, user_id: int | None, purpose: str,
            model: str, completion: Completion | None, outcome: str, latency_ms: int, cost: float) -> None:
    session.add(AiUsage(tenant_id=tenant_id, conversation_id=conversation_id, user_id=user_id, purpose=purpose,
                        model=(completion.model if completion else model)[:120],
                        prompt_tokens=completion.prompt_tokens if completion else 0,
                        completion_tokens=completion.completion_tokens if completion else 0,
                        cost_usd=cost, outcome=outcome, latency_ms=latency_ms))


def _tenant_tz(session: Session, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return (tenant.timezone if tenant else None) or "America/Sao_Paulo"


def month_start(tz: str, now: dt.datetime | None = None) -> dt.datetime:
    """The first instant of the current month in timezone `tz`, in UTC."""
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("America/Sao_Paulo")
    local = (now or utcnow()).astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def month_spend(session: Session, *, tenant_id: int, since: dt.datetime) -> float:
    """USD spent by the tenant since `since`."""
    total = session.exec(select(func.coalesce(func.sum(AiUsage.cost_usd), 0.0))
                         .where(AiUsage.tenant_id == tenant_id, AiUsage.created_at >= since)).one()
    return float(total or 0.0)


def month_usage(session: Session, *, actor: Actor) -> UsageSummary:
    """This month's usage and spend, for the knowledge page; admins only."""
    require_role(actor, "admin")
    since = month_start(_tenant_tz(session, actor.tenant_id))
    rows = session.exec(select(AiUsage.outcome, func.count(), func.sum(AiUsage.prompt_tokens),
                               func.sum(AiUsage.completion_tokens), func.sum(AiUsage.cost_usd))
                        .where(AiUsage.tenant_id == actor.tenant_id, AiUsage.created_at >= since)
                        .group_by(AiUsage.outcome)).all()
    by = {outcome: (int(n), int(p or 0), int(c or 0), float(cost or 0)) for outcome, n, p, c, cost in rows}
    budget = registry.value(session, "ai.monthly_budget_usd", tenant_id=actor.tenant_id)
    calls = sum(v[0] for k, v in by.items() if k != "budget")
    return UsageSummary(calls=calls, answered=by.get("ok", (0,))[0], refused_budget=by.get("budget", (0,))[0],
                        prompt_tokens=sum(v[1] for v in by.values()),
                        completion_tokens=sum(v[2] for v in by.values()),
                        cost_usd=round(sum(v[3] for v in by.values()), 6),
                        budget_usd=budget)


def suggest_reply(session: Session, *, actor: Actor, conversation_id: int) -> str:
    """A draft reply to the conversation's last customer messages, for the attendant to edit.

    Only someone allowed to reply in the conversation may ask. Reads with `session`, then calls the
    model outside of it. Raises `AiFailed` (code `ai_<outcome>`) when there is no usable draft.
    """
    conversation = conversation_access.access_conversation(session, actor=actor, conversation_id=conversation_id)
    if not conversation_access.can_send(conversation, actor):
        raise PermissionDenied("take the conversation over before replying")
    question, history = _recent_turns(session, conversation_id)
    if not question:
        raise AiFailed("nothing_to_answer")
    # End the read transaction before the model call (up to the tenant's timeout): no pooled connection sits
    # "idle in transaction" meanwhile. Only reads happened above, so this commits nothing.
    session.commit()
    result = _ask(tenant_id=actor.tenant_id, conversation_id=conversation_id, user_id=actor.user_id,
                  purpose="suggest", question=question, history=history)
    if result.outcome != "ok" or not result.text:
        raise AiFailed(result.outcome)
    return result.text


def _recent_turns(session: Session, conversation_id: int) -> tuple[str, list[tuple[str, str]]]:
    """The trailing customer messages (the question) and the turns before them, oldest first."""
    rows = session.exec(select(Message.sender_type, Message.body).where(
        Message.conversation_id == conversation_id, Message.body.is_not(None),
        Message.sender_type.in_(("customer", "bot", "attendant")),
    ).order_by(Message.id.desc()).limit(SUGGEST_MESSAGES)).all()
    turns = [("customer" if str(who) == "customer" else "agent", body) for who, body in reversed(rows) if body]
    tail: list[str] = []
    while turns and turns[-1][0] == "customer":
        tail.insert(0, turns.pop()[1])
    return "\n".join(tail), turns


def try_question(*, actor: Actor, question: str) -> AiAnswer:
    """The knowledge page's "Testar" box: the same path the bot takes, for an admin's question."""
    require_role(actor, "admin")
    if not (question or "").strip():
        raise ValidationError("type a question", field="question")
    return _ask(tenant_id=actor.tenant_id, conversation_id=None, user_id=actor.user_id, purpose="test",
                question=question, history=[])
