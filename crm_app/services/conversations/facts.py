"""Keep each conversation's facts as its milestones happen, in the caller's transaction.

The services that cause a milestone call `note(...)` in one line (handoff in routing; assignment, transfer,
close and reopen in the inbox and the bot; the first human message and every other in the outbound send path;
customer messages in the channel ingest). Nothing here replays message history: a report reads the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain import analytics as rules
from crm_app.domain import business_hours
from crm_app.models import Conversation, ConversationFact, ConversationResponse, Team, Tenant
from crm_app.services.settings.calendar import tenant_calendar

EVENTS = ("customer", "bot", "human", "handoff", "assign", "transfer", "close", "reopen")
# Events that start a new cycle when the last one is closed (a bot's goodbye after a close does not).
_OPENING = frozenset({"customer", "human", "handoff", "assign", "transfer", "reopen"})
# Events that may give the cycle (and the conversation) another team or attendant.
_OWNERSHIP = frozenset({"handoff", "assign", "transfer"})


def note(session: Session, conversation: Conversation | int, event: str, *, at: dt.datetime | None = None,
         user_id: int | None = None, team_id: int | None = None, reason: str | None = None,
         by: str | None = None) -> None:
    """Record one milestone of a conversation on its current cycle's facts.

    Args:
        session: The caller's session; nothing is committed here.
        conversation: The conversation, or its id.
        event: One of `EVENTS`.
        at: When it happened (default: now).
        user_id: The person assigned (assign, transfer) or writing (human).
        team_id: The team handed or transferred to.
        reason: Why the bot handed over.
        by: Who closed it: "bot", "human", "inactivity" or "system".
    """
    if event not in EVENTS:
        raise ValueError(f"unknown analytics event {event!r}")
    if isinstance(conversation, int):
        conversation = session.get(Conversation, conversation)
    at = at or utcnow()
    fact = _cycle(session, conversation, at, opening=event in _OPENING)
    owner = (fact.team_id, fact.assignee_id)
    responses = _apply(session, fact, event, at, user_id=user_id, team_id=team_id, reason=reason, by=by)
    session.add(fact)
    if event in _OWNERSHIP and (owner != (fact.team_id, fact.assignee_id) or event == "transfer"):
        restate_later(session, conversation)
    if responses:
        session.flush()
        session.add_all(ConversationResponse(tenant_id=fact.tenant_id, fact_id=fact.id, kind=r.kind, at=r.at,
                                             seconds=r.seconds, business_seconds=r.business_seconds,
                                             user_id=r.user_id) for r in responses)
    from crm_app.services.conversations import milestones  # the SLA clocks read the same milestones

    milestones.noted(session, conversation, event, at=at)


def _apply(session: Session, fact: ConversationFact, event: str, at: dt.datetime, **kw) -> list[rules.Response]:
    if event == "customer":
        return rules.customer_message(fact, at)
    if event == "bot":
        return rules.bot_message(fact, at)
    if event == "reopen":
        return []
    clock = business_clock(session, fact.tenant_id, kw["team_id"] if event in ("handoff", "transfer")
                           and kw["team_id"] is not None else fact.team_id)
    if event == "human":
        return rules.human_message(fact, at, clock, user_id=kw["user_id"])
    if event == "handoff":
        return rules.handoff(fact, at, clock, reason=kw["reason"], team_id=kw["team_id"])
    if event == "assign":
        return rules.assign(fact, at, clock, user_id=kw["user_id"])
    if event == "transfer":
        return rules.transfer(fact, at, clock, user_id=kw["user_id"], team_id=kw["team_id"])
    return rules.close(fact, at, clock, by=kw["by"] or "system")


def restate_later(session: Session, conversation: Conversation) -> None:
    """Queue the rebuild of the conversation's stored days: it changed hands (the figures of its earlier local days
    follow its new team and attendant: the cycle's owner, the messages' conversation), a reopen took a
    first-contact resolution back from the day its last cycle closed, or a label went on or off it (the per-label
    rollups): a job rebuilds the stored rollups of those days after
    commit (`analytics.rollups.restate_conversation`, queued by name). A conversation that started today has no
    stored day (today is always read raw), and the laptop's SQLite keeps none."""
    from crm_app.services.core import jobs

    if session.get_bind().dialect.name != "postgresql":
        return
    tenant = session.get(Tenant, conversation.tenant_id)
    zone = ZoneInfo((tenant.timezone if tenant else None) or "America/Sao_Paulo")
    started = conversation.created_at
    started = started.replace(tzinfo=dt.UTC) if started.tzinfo is None else started
    today = dt.datetime.combine(utcnow().astimezone(zone).date(), dt.time(), zone)
    if started < today:
        jobs.enqueue_after_commit(session, "restate_analytics", conversation.id)


def _cycle(session: Session, conversation: Conversation, at: dt.datetime, *, opening: bool) -> ConversationFact:
    """The conversation's current cycle; the first one starts with the conversation, a reopen starts the next."""
    latest = session.exec(select(ConversationFact).where(ConversationFact.conversation_id == conversation.id)
                          .order_by(ConversationFact.cycle.desc()).limit(1)).first()
    if latest is not None and (latest.closed_at is None or not opening):
        return latest
    fact = ConversationFact(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, inbox_id=conversation.inbox_id,
        cycle=0 if latest is None else latest.cycle + 1, team_id=conversation.team_id,
        assignee_id=conversation.assignee_id if latest is not None else None,
        opened_at=conversation.created_at if latest is None else at)
    if latest is not None:
        if rules.reopen(latest, fact, at):  # its close day no longer counts a first-contact resolution
            restate_later(session, conversation)
        session.add(latest)
    session.add(fact)
    return fact


def team_hours(session: Session, tenant_id: int, team_id: int | None) -> tuple[dict, object, str | None]:
    """The team's weekly hours ({} without a team: always open), its and the tenant's closed days, and its
    timezone (else the tenant's); a team of another tenant counts as no team."""
    team = session.get(Team, team_id) if team_id is not None else None
    if team is not None and team.tenant_id != tenant_id:
        team = None
    tenant = session.get(Tenant, tenant_id)
    tz = (team.timezone if team and team.timezone else None) or (tenant.timezone if tenant else None)
    return dict(team.business_hours or {}) if team else {}, tenant_calendar(tenant_id, team=team, session=session), tz


def business_clock(session: Session, tenant_id: int, team_id: int | None) -> Callable[[dt.datetime, dt.datetime],
                                                                                     float]:
    """Seconds of [start, end) inside the team's weekly hours, skipping the tenant's and the team's holidays,
    in the team's timezone (else the tenant's). No team: always open, holidays aside.

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        team_id: The conversation's team, or None.

    Returns:
        A function of (start, end).
    """
    hours, calendar, tz = team_hours(session, tenant_id, team_id)

    def clock(start: dt.datetime, end: dt.datetime) -> float:
        return business_hours.business_seconds(hours, calendar, tz or business_hours.DEFAULT_TIMEZONE, start, end)

    return clock
