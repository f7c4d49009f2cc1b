"""Bot outcomes for the analytics page: containment, handoff reasons and time to the first human reply."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, func, select

from crm_app.models import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Message,
    Role,
    SenderType,
)
from crm_app.services.core.actors import Actor, require_role


@dataclass(frozen=True)
class BotMetrics:
    """Bot outcomes over a period, for the analytics page."""

    closed_total: int  # conversations closed in the period with a known resolver
    closed_by_bot: int  # of those, resolved without a human ("containment")
    containment_rate: float | None  # closed_by_bot / closed_total; None when nothing closed
    handoffs: int
    handoff_reasons: dict[str, int] = field(default_factory=dict)  # reason -> count, most frequent first
    replied: int = 0  # handoffs that got a human reply
    first_reply_median_seconds: float | None = None
    first_reply_p90_seconds: float | None = None


def bot_metrics(session: Session, *, actor: Actor, since: dt.datetime, until: dt.datetime) -> BotMetrics:
    """Containment, handoff reasons and handoff→first human reply times in [since, until); staff only.

    Args:
        session: The caller's session.
        actor: A supervisor or admin.
        since: The period's start (inclusive).
        until: The period's end (exclusive).

    Returns:
        The metrics of the actor's tenant.
    """
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    tenant_id = actor.tenant_id
    closed = session.exec(select(Conversation.resolved_by, func.count()).where(
        Conversation.tenant_id == tenant_id, Conversation.status == ConversationStatus.CLOSED,
        Conversation.closed_at >= since, Conversation.closed_at < until,
        Conversation.resolved_by.is_not(None)).group_by(Conversation.resolved_by)).all()
    by_resolver = {who: int(n) for who, n in closed}
    total, by_bot = sum(by_resolver.values()), by_resolver.get("bot", 0)
    reasons = _handoff_reasons(session, tenant_id, since, until)
    replied, median, p90 = _first_reply_times(session, tenant_id, since, until)
    return BotMetrics(total, by_bot, (by_bot / total) if total else None, sum(reasons.values()), reasons,
                      replied, median, p90)


def _handoff_reasons(session: Session, tenant_id: int, since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    reason = ConversationEvent.data["reason"].as_string()
    rows = session.exec(select(reason, func.count()).where(
        ConversationEvent.tenant_id == tenant_id, ConversationEvent.kind == ConversationEventKind.BOT_HANDOFF,
        ConversationEvent.created_at >= since, ConversationEvent.created_at < until).group_by(reason)).all()
    return dict(sorted(((r or "handoff", int(n)) for r, n in rows), key=lambda item: (-item[1], item[0])))


def _first_reply_times(session: Session, tenant_id: int, since: dt.datetime,
                       until: dt.datetime) -> tuple[int, float | None, float | None]:
    """Seconds from each handoff in the period to the first attendant message after it: count, median, p90.

    Computed from the messages, not `first_reply_at`, so a reply from before a later handoff never counts.
    """
    first = (select(func.min(Message.created_at)).where(
        Message.conversation_id == Conversation.id, Message.sender_type == SenderType.ATTENDANT,
        Message.created_at >= Conversation.handoff_at).correlate(Conversation).scalar_subquery())
    waits = (select(func.extract("epoch", first - Conversation.handoff_at).label("wait"))
             .where(Conversation.tenant_id == tenant_id, Conversation.handoff_at >= since,
                    Conversation.handoff_at < until).subquery())
    row = session.exec(select(func.count(waits.c.wait),
                              func.percentile_cont(0.5).within_group(waits.c.wait),
                              func.percentile_cont(0.9).within_group(waits.c.wait))).one()
    count, median, p90 = row
    return int(count or 0), (float(median) if median is not None else None), (float(p90) if p90 is not None else None)
