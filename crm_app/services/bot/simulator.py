"""The flow editor's test chat: a draft replayed against a typed transcript, with nothing sent or stored.

The editor replays the whole transcript on every input, so the AI answers it asks for are kept a few
minutes. It never holds a transaction through an AI call: team hours are read in short sessions of
their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from crm_app.db import session_scope, utcnow
from crm_app.domain import flows
from crm_app.services.bot import ai
from crm_app.services.core.actors import Actor, require_role
from crm_app.services.routing import handoff

_sim_answers: dict[tuple[int, str], tuple[float, Any]] = {}


@dataclass(frozen=True)
class SimLine:
    """One line of a simulated chat: what the customer or the bot said, or what the bot did."""

    kind: str  # customer, bot, handoff, close, set_attribute, label, consent, ai, error
    text: str = ""
    node_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    choices: list[dict[str, str]] = field(default_factory=list)
    button_label: str = ""
    team_id: int | None = None
    reason: str = ""
    attribute: str = ""
    value: str = ""
    label: str = ""


def simulate(session: Session, *, actor: Actor, definition: dict[str, Any],
             transcript: list[dict[str, Any]]) -> list[SimLine]:
    """Replay a transcript against a flow definition; nothing is sent.

    The bot speaks first (as for a new conversation). AI nodes ask the tenant's AI for real.

    Args:
        session: Only checks the actor; no transaction stays open through the AI calls.
        actor: An admin of the tenant.
        definition: The flow (usually the editor's unsaved draft).
        transcript: What the customer typed or tapped: [{"text"}, {"reply_id", "text"}…].

    Returns:
        The chat's lines, in order.
    """
    require_role(actor, "admin")
    ctx = flows.FlowContext(now=utcnow(), is_open=_team_hours(actor.tenant_id))
    lines: list[SimLine] = []
    state = flows.start_session(definition, trigger="new_conversation")
    state = _sim_step(definition, flows.advance(definition, state, text=None, reply_id=None, ctx=ctx), lines, actor,
                      ctx)
    for entry in transcript or []:
        if state.ended:
            break
        text, reply_id = str(entry.get("text") or ""), entry.get("reply_id") or None
        lines.append(SimLine("customer", text, state.node_id, dict(state.attributes)))
        if state.status == "idle" and not flows.keyword_trigger(definition, text):
            continue
        step = flows.advance(definition, state, text=text, reply_id=reply_id, ctx=ctx)
        state = _sim_step(definition, step, lines, actor, ctx)
    return lines


def _team_hours(tenant_id: int) -> Callable[[int | None], bool]:
    """Whether a team is open now, asked in short sessions of its own and cached per team: the caller's
    session never opens a transaction that would sit idle through the AI calls (each up to the tenant's
    timeout)."""
    hours: dict[int | None, bool] = {}

    def is_open(team_id: int | None) -> bool:
        if team_id not in hours:
            with session_scope() as own:
                hours[team_id] = handoff.team_is_open(own, tenant_id=tenant_id, team_id=team_id)
        return hours[team_id]

    return is_open


def _sim_step(definition: dict[str, Any], step: flows.Step, lines: list[SimLine], actor: Actor,
              ctx: flows.FlowContext) -> flows.FlowState:
    state = step.state
    for action in step.actions:
        if isinstance(action, flows.AskAI):
            answer = _sim_ai(actor.tenant_id, action.question)
            ok = answer.outcome == "ok" and bool(answer.text)
            lines.append(SimLine("ai", f"IA: {answer.outcome}", state.node_id, dict(state.attributes)))
            resumed = flows.resume_after_ai(definition, state, ok=ok, text=answer.text if ok else None,
                                            outcome=answer.outcome, ctx=ctx)
            return _sim_step(definition, resumed, lines, actor, ctx)
        lines.append(_sim_line(action, state))
    return state


def _sim_line(action: flows.Action, state: flows.FlowState) -> SimLine:
    base = {"node_id": state.node_id, "variables": dict(state.attributes)}
    if isinstance(action, flows.Send):
        content = action.content
        choices = [{"id": b[0], "label": b[1]} for b in content.get("buttons") or []]
        for section in content.get("sections") or []:
            choices.extend({"id": r["id"], "label": r["title"]} for r in section.get("rows") or [])
        return SimLine("bot", str(content.get("body") or ""), choices=choices,
                       button_label=str(content.get("button_label") or ""), **base)
    if isinstance(action, flows.SetAttribute):
        return SimLine("set_attribute", attribute=action.name, value=str(action.value), **base)
    if isinstance(action, flows.AddLabel):
        return SimLine("label", label=action.label, **base)
    if isinstance(action, flows.RecordConsent):  # the test chat records nothing
        return SimLine("consent", attribute=action.purpose, value="granted" if action.granted else "refused", **base)
    if isinstance(action, flows.Handoff):
        return SimLine("handoff", action.text or "", team_id=action.team_id, reason=action.reason, **base)
    return SimLine("close", getattr(action, "text", None) or "", **base)


def _sim_ai(tenant_id: int, question: str) -> ai.AiAnswer:
    """The tenant's AI for the test chat; answers are kept a few minutes, since the chat is replayed per input."""
    key = (tenant_id, question)
    cached = _sim_answers.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    answer = ai.answer(tenant_id=tenant_id, conversation_id=None, question=question)
    if len(_sim_answers) > 500:
        _sim_answers.clear()
    _sim_answers[key] = (time.monotonic() + 300, answer)
    return answer
