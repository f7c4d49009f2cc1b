"""A conversation's SLA as a reader sees it: the policy that applies, each target's latest clock, every breach and
the warnings and escalation steps done (what `sla.tracking` stored; nothing is computed here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm_app.domain.sla import PRIORITIES, TARGETS
from crm_app.models import ConversationSla, SlaAction, SlaClock, SlaPolicy
from crm_app.services.conversations.access import access_conversation
from crm_app.services.core.actors import Actor


@dataclass(frozen=True)
class ClockView:
    """One clock: a target's wait from `started_at`, due at `due_at` (None while paused with no known end)."""

    target: str
    status: str  # active, hit, missed
    started_at: dt.datetime
    due_at: dt.datetime | None
    done_at: dt.datetime | None


@dataclass(frozen=True)
class ActionView:
    """A warning or escalation step carried out."""

    kind: str  # warn, escalate
    action: str | None  # the escalation step (notify_supervisor, reassign_team, reassign_user, raise_priority)
    target: str
    done_at: dt.datetime


@dataclass(frozen=True)
class ConversationSlaView:
    """The conversation's SLA: `state` holds each target's latest clock, `breaches` every missed one."""

    conversation_id: int
    policy_id: int | None
    policy_name: str | None
    priority: str
    next_due_at: dt.datetime | None
    state: dict[str, ClockView] = field(default_factory=dict)
    breaches: list[ClockView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)


def conversation_sla(session: Session, *, actor: Actor, conversation_id: int) -> ConversationSlaView:
    """The SLA of a conversation the actor may read (attendants their own; executives read only).

    Raises:
        NotFound: No such conversation in the actor's tenant, or not one the actor may read.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, read_only=True)
    row = session.get(ConversationSla, conversation.id)
    policy = session.get(SlaPolicy, row.policy_id) if row and row.policy_id else None
    clocks = [ClockView(c.target, c.status, c.started_at, c.due_at, c.done_at)
              for c in session.exec(select(SlaClock).where(SlaClock.conversation_id == conversation.id)
                                    .order_by(SlaClock.started_at, SlaClock.id))]
    state = {c.target: c for c in clocks}  # the latest per target (ordered by start)
    actions = [ActionView(a.kind, a.action, a.key.split(":")[1], a.done_at)
               for a in session.exec(select(SlaAction).where(SlaAction.conversation_id == conversation.id,
                                                             SlaAction.kind.in_(("warn", "escalate")))
                                     .order_by(SlaAction.id))]
    return ConversationSlaView(conversation.id, policy.id if policy else None, policy.name if policy else None,
                               PRIORITIES[conversation.priority], conversation.sla_due_at,
                               {t: state[t] for t in TARGETS if t in state},
                               [c for c in clocks if c.status == "missed"], actions)
