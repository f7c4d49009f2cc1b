"""Each conversation's SLA milestones, kept as they happen, in the caller's transaction (here, below the services
that cause them; the clocks themselves are `services.sla.tracking`'s).

`noted` is called by every milestone (`conversations.facts.note` for messages, handoffs, assignments, transfers,
closes and reopens; the inbox's snooze and wake). It appends the milestone to the conversation's
`conversation_sla` row (a second customer, bot or human message in a row changes no clock and is kept once), marks
the row due now (the sweep's safety net) and queues `evaluate_sla` after commit (`sla.tracking`). A tenant with no
enabled policy pays one indexed query and keeps no rows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain import sla as rules
from crm_app.models import Conversation, ConversationSla, SlaPolicy

_REPEATS = frozenset({"customer", "bot", "human"})  # a second one in a row changes no clock: kept once


def noted(session: Session, conversation: Conversation, kind: str, at: dt.datetime | None = None,
          until: dt.datetime | None = None) -> None:
    """Keep one milestone for the conversation's SLA clocks, in the caller's transaction.

    Args:
        session: The caller's session; nothing is committed here.
        conversation: The conversation (flushed: it has an id).
        kind: One of `domain.sla.EVENTS`.
        at: When it happened (default: now).
        until: A snooze's planned end.
    """
    if kind not in rules.EVENTS:
        raise ValueError(f"unknown SLA event {kind!r}")
    if not _tenant_has_policies(session, conversation.tenant_id):
        return
    from crm_app.services.core import jobs

    at = at or utcnow()
    row = _locked_row(session, conversation)
    events = list(row.events or [])
    if not (kind in _REPEATS and events and events[-1][1] == kind):
        events.append([iso(at), kind, iso(until) if until else None])
        row.events = events
    row.wake_at = utcnow()  # the sweep's safety net if the job below is lost
    session.add(row)
    jobs.enqueue_after_commit(session, "evaluate_sla", conversation.id)


def _tenant_has_policies(session: Session, tenant_id: int) -> bool:
    return session.exec(select(SlaPolicy.id).where(SlaPolicy.tenant_id == tenant_id, SlaPolicy.enabled)
                        .limit(1)).first() is not None


def insert_for(session: Session):
    """The dialect's INSERT (ON CONFLICT on PostgreSQL and SQLite alike)."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def _locked_row(session: Session, conversation: Conversation) -> ConversationSla:
    """The conversation's row, created if missing (two first milestones at once make one row), locked."""
    session.execute(insert_for(session)(ConversationSla).values(conversation_id=conversation.id,
                                                                tenant_id=conversation.tenant_id, events=[])
                    .on_conflict_do_nothing(index_elements=["conversation_id"]))
    return session.exec(select(ConversationSla).where(ConversationSla.conversation_id == conversation.id)
                        .with_for_update().execution_options(populate_existing=True)).one()


def iso(moment: dt.datetime) -> str:
    """An instant as stored in the milestones: ISO 8601 in UTC (a naive one is UTC already)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


def events_of(row: ConversationSla) -> list[rules.Event]:
    """The stored milestones as the domain's events."""
    return [rules.Event(dt.datetime.fromisoformat(at), kind, dt.datetime.fromisoformat(until) if until else None)
            for at, kind, until in row.events or []]
