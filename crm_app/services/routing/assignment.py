"""Handoff from the bot to people, fair auto-assignment under capacity, the waiting queue, and bot metrics.

A "pool" is the set of people who may get a conversation: the members of its team, or, for a conversation
without a team, every active attendant of the tenant. Only members who are **online** (presence "online",
not "away"), active, and below their `User.capacity` of open/pending conversations are picked.

Concurrency: every pick runs with the pool locked: the team row `FOR UPDATE` (it also holds the round-robin
cursor), and a transaction-level advisory lock per tenant, because one person can sit in several teams and a
count of their load is only true while no one else assigns to them. Two workers therefore never both fill the
last free slot, nor both hand the same round-robin turn out.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm_app.db import after_commit, session_scope, utcnow
from crm_app.domain import business_hours
from crm_app.errors import CRMError, NotFound
from crm_app.i18n import translate
from crm_app.models import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Message,
    Role,
    SenderType,
    Team,
    TeamMember,
    Tenant,
    User,
)
from crm_app.services.core import jobs
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)

MODES = ("round_robin", "least_load")
LOADED = (ConversationStatus.OPEN, ConversationStatus.PENDING)
_LOCK_NAMESPACE = 0x41535347  # "ASSG": keeps our advisory locks apart from anyone else's
MAX_REASON = 40


@dataclass(frozen=True)
class HandoffResult:
    """Who got the conversation (None: it waits), its place in the queue (1-based; None when assigned),
    and whether the team was outside business hours (the customer then got the team's out-of-hours text)."""

    assignee_id: int | None
    queue_position: int | None
    out_of_hours: bool = False


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


# ---- business hours --------------------------------------------------------------------------------------

def _tenant_timezone(session: Session, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.timezone if tenant else business_hours.DEFAULT_TIMEZONE


def team_is_open(session: Session, *, tenant_id: int, team_id: int | None, now: dt.datetime | None = None) -> bool:
    """Whether `team_id` is inside its business hours (a missing team, another tenant's, or None: open)."""
    if team_id is None:
        return True
    team = session.get(Team, team_id)
    if team is None or team.tenant_id != tenant_id:
        return True
    tz = team.timezone or _tenant_timezone(session, tenant_id)
    return business_hours.is_open(team.business_hours, team.holidays, tz, now or utcnow())


# ---- picking ---------------------------------------------------------------------------------------------

def _online(tenant_id: int) -> set[int]:
    """Users whose presence is "online" (away does not get new conversations). Redis down: nobody."""
    from crm_app.services.routing import presence

    try:
        return {user_id for user_id, status in presence.statuses(tenant_id).items() if status == "online"}
    except Exception as exc:  # a queue is better than a failed handoff
        log.warning("presence unavailable for tenant %s: %s", tenant_id, type(exc).__name__)
        return set()


def _lock_pool(session: Session, tenant_id: int, team_id: int | None) -> Team | None:
    """Serialise assignment in the tenant, and lock the team row (the round-robin cursor) when there is one."""
    session.exec(sa.select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, tenant_id)))
    if team_id is None:
        return None
    team = session.exec(select(Team).where(Team.id == team_id, Team.tenant_id == tenant_id)
                        .with_for_update()).first()
    if team is not None:
        session.refresh(team)  # the cursor another transaction just committed
    return team


def _members(session: Session, tenant_id: int, team: Team | None) -> list[User]:
    """The pool: a team's active members, or all active attendants of the tenant; by id."""
    query = select(User).where(User.tenant_id == tenant_id, User.is_active.is_(True))
    if team is None:
        query = query.where(User.role == Role.ATTENDANT)
    else:
        query = query.where(User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
    return list(session.exec(query.order_by(User.id)).all())


def loads(session: Session, tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Open and pending conversations each user owns (snoozed and closed ones do not count)."""
    if not user_ids:
        return {}
    rows = session.exec(select(Conversation.assignee_id, func.count()).where(
        Conversation.tenant_id == tenant_id, Conversation.assignee_id.in_(user_ids),
        Conversation.status.in_([s.value for s in LOADED])).group_by(Conversation.assignee_id)).all()
    counts = {user_id: 0 for user_id in user_ids}
    counts.update({user_id: int(n) for user_id, n in rows})
    return counts


def _free(session: Session, tenant_id: int, team: Team | None) -> tuple[list[User], dict[int, int]]:
    """Pool members who are online and under capacity, with their loads."""
    online = _online(tenant_id)
    members = [u for u in _members(session, tenant_id, team) if u.id in online]
    counts = loads(session, tenant_id, [u.id for u in members])
    return [u for u in members if counts[u.id] < u.capacity], counts


def pick_round_robin(candidate_ids: list[int], cursor: int | None) -> int | None:
    """The first candidate after `cursor` in id order, wrapping around; None when there is nobody."""
    ordered = sorted(candidate_ids)
    if not ordered:
        return None
    if cursor is None:
        return ordered[0]
    return next((user_id for user_id in ordered if user_id > cursor), ordered[0])


def pick_least_load(candidate_ids: list[int], counts: dict[int, int]) -> int | None:
    """The candidate with the fewest open conversations; ties go to the lowest id (stable)."""
    return min(candidate_ids, key=lambda user_id: (counts.get(user_id, 0), user_id), default=None)


def _pick(session: Session, tenant_id: int, team: Team | None, exclude: int | None = None) -> User | None:
    """Choose the next person of the (already locked) pool, moving the round-robin cursor."""
    free, counts = _free(session, tenant_id, team)
    by_id = {u.id: u for u in free if u.id != exclude}
    mode = team.assignment_mode if team is not None else "least_load"
    if mode == "least_load":
        chosen = pick_least_load(list(by_id), counts)
    else:
        chosen = pick_round_robin(list(by_id), team.last_assigned_user_id)
    if chosen is None:
        return None
    if team is not None:
        team.last_assigned_user_id = chosen
        session.add(team)
    return by_id[chosen]


def _give(session: Session, conversation: Conversation, user: User, *, via: str) -> None:
    """Assign `conversation` to `user`: the bot goes quiet, the queue forgets it; event, line, audit, live note."""
    from crm_app.services.inbox import actions

    before = actions._state(conversation)
    previous = conversation.assignee_id
    conversation.assignee_id, conversation.bot_active, conversation.queued_at = user.id, False, None
    if conversation.status == ConversationStatus.PENDING:
        conversation.status = ConversationStatus.OPEN
    actions._record(session, None, conversation, before, action="auto_assign", kind=ConversationEventKind.ASSIGNMENT,
                  from_value=previous, to_value=user.id, line="assignment.system.assigned",
                  params={"user": user.name}, data={"via": via, "team_id": conversation.team_id})


# ---- queue -------------------------------------------------------------------------------------------------

def _waiting(tenant_id: int, team_id: int | None):
    """Conditions of the conversations waiting in one pool's queue."""
    team_condition = Conversation.team_id.is_(None) if team_id is None else Conversation.team_id == team_id
    return [Conversation.tenant_id == tenant_id, team_condition, Conversation.queued_at.is_not(None),
            Conversation.assignee_id.is_(None), Conversation.bot_active.is_(False),
            Conversation.status.not_in([ConversationStatus.CLOSED, ConversationStatus.SNOOZED])]


def queue_position(session: Session, conversation: Conversation) -> int | None:
    """1-based place of a waiting conversation in its pool's queue (queued_at, then id); None if not waiting."""
    if conversation.queued_at is None or conversation.assignee_id is not None:
        return None
    session.flush()
    ahead = session.exec(select(func.count()).select_from(Conversation).where(
        *_waiting(conversation.tenant_id, conversation.team_id),
        sa.or_(Conversation.queued_at < conversation.queued_at,
               sa.and_(Conversation.queued_at == conversation.queued_at, Conversation.id < conversation.id)))).one()
    return int(ahead) + 1


def _tell_customer(session: Session, conversation: Conversation, text: str) -> None:
    """Queue a bot text to the customer; a refusal (closed 24 h window, …) is logged, never raised."""
    from crm_app.services.channel import outbound

    try:
        with session.begin_nested():
            outbound.send_message(session, actor=None, tenant_id=conversation.tenant_id,
                                  conversation_id=conversation.id, content={"type": "text", "body": text})
    except CRMError as exc:
        log.info("could not tell conversation %s its queue place: %s", conversation.id, exc)


def _locale(session: Session, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.locale if tenant else "pt-BR"


# ---- handoff -----------------------------------------------------------------------------------------------

def handoff(session: Session, *, tenant_id: int, conversation_id: int, team_id: int | None,
            reason: str) -> HandoffResult:
    """The bot hands the conversation to people, in the caller's transaction.

    The bot goes quiet, the reason and moment are recorded (event, system line, audit, live note), then the
    conversation goes to a free member of the team, or waits in its queue and the customer is told their place
    (or, outside business hours, the team's out-of-hours message). A team of another tenant, or one that no
    longer exists, is treated as no team: the customer must never be left with nobody.
    """
    from crm_app.services.inbox import actions

    conversation = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                                .with_for_update()).first()
    if conversation is None or conversation.tenant_id != tenant_id:
        raise NotFound("conversation not found")
    team = _lock_pool(session, tenant_id, team_id)
    reason = (reason or "handoff").strip()[:MAX_REASON] or "handoff"
    before = actions._state(conversation)
    now = utcnow()
    conversation.bot_active, conversation.handoff_reason, conversation.handoff_at = False, reason, now
    conversation.first_reply_at = None  # `send_message` sets it again on the first human reply after this handoff
    conversation.team_id = team.id if team else None
    if conversation.status == ConversationStatus.CLOSED:
        conversation.status, conversation.closed_at, conversation.resolved_by = ConversationStatus.OPEN, None, None
    actions._record(session, None, conversation, before, action="handoff", kind=ConversationEventKind.BOT_HANDOFF,
                  from_value="bot", to_value=conversation.team_id, line="assignment.system.handoff",
                  params={"team": team.name if team else "-", "reason": reason},
                  data={"reason": reason, "team_id": conversation.team_id})
    if conversation.assignee_id is not None:  # a person already owns it: they keep it
        conversation.queued_at = None
        return HandoffResult(conversation.assignee_id, None)
    user = _pick(session, tenant_id, team)
    if user is not None:
        _give(session, conversation, user, via="handoff")
        return HandoffResult(user.id, None)
    return _enqueue(session, conversation, team, now)


def _enqueue(session: Session, conversation: Conversation, team: Team | None, now: dt.datetime) -> HandoffResult:
    """Nobody is free: the conversation waits; the customer learns their place or that the team is closed."""
    conversation.queued_at = conversation.queued_at or now
    session.add(conversation)
    position = queue_position(session, conversation)
    open_now = team_is_open(session, tenant_id=conversation.tenant_id, team_id=team.id if team else None, now=now)
    if not open_now and team is not None and (team.out_of_hours_message or "").strip():
        _tell_customer(session, conversation, team.out_of_hours_message.strip())
    else:
        lang = _locale(session, conversation.tenant_id)
        _tell_customer(session, conversation, translate(lang, "assignment.queue_position").format(position=position))
    return HandoffResult(None, position, out_of_hours=not open_now)


# ---- the waiting queue -------------------------------------------------------------------------------------

def enqueue_assign_waiting(tenant_id: int) -> None:
    """Ask a worker to run `assign_waiting(tenant_id)`; never raises (the periodic sweep catches up)."""
    try:
        jobs.enqueue("assign_waiting", tenant_id)
    except Exception as exc:
        log.warning("could not queue assign_waiting for tenant %s: %s", tenant_id, type(exc).__name__)


def assign_waiting_after_commit(session: Session, tenant_id: int) -> None:
    """Run the queue for `tenant_id` once `session` commits (capacity was freed or the queue grew); once per
    transaction and tenant, however many conversations changed."""
    run = next((cb for cb in session.info.get("after_commit", ()) if isinstance(cb, _RunQueues)), None)
    if run is None:
        run = _RunQueues()
        after_commit(session, run)
    run.tenant_ids.add(tenant_id)


class _RunQueues:
    """The one after-commit callback of a transaction that queues `assign_waiting` (dropped on rollback)."""

    def __init__(self) -> None:
        self.tenant_ids: set[int] = set()

    def __call__(self) -> None:
        for tenant_id in sorted(self.tenant_ids):
            enqueue_assign_waiting(tenant_id)


def _pools_with_waiting(tenant_id: int) -> list[int | None]:
    with session_scope() as session:
        rows = session.exec(select(Conversation.team_id).where(
            Conversation.tenant_id == tenant_id, Conversation.queued_at.is_not(None),
            Conversation.assignee_id.is_(None), Conversation.bot_active.is_(False),
            Conversation.status != ConversationStatus.CLOSED).distinct()).all()
    return list(rows)


def _assign_next(tenant_id: int, team_id: int | None) -> bool:
    """Give the oldest waiting conversation of one pool to a free person, in one transaction. Whether it did."""
    with session_scope() as session:
        team = _lock_pool(session, tenant_id, team_id)
        if team_id is not None and team is None:
            return _drop_team(session, tenant_id, team_id)
        # The oldest waiting conversation that someone free may take: one that its transferrer may not get back
        # must not hold up the ones behind it.
        waiting = session.exec(select(Conversation).where(*_waiting(tenant_id, team_id))
                               .order_by(Conversation.queued_at, Conversation.id)
                               .limit(QUEUE_LOOKAHEAD).with_for_update(skip_locked=True)).all()
        for conversation in waiting:
            user = _pick(session, tenant_id, team, exclude=_handed_away_by(session, conversation))
            if user is not None:
                _give(session, conversation, user, via="queue")
                return True
    return False


QUEUE_LOOKAHEAD = 20


def _handed_away_by(session: Session, conversation: Conversation) -> int | None:
    """Who transferred this conversation into the queue: it must not come straight back to them."""
    last = session.exec(select(ConversationEvent.kind, ConversationEvent.from_value, ConversationEvent.to_value)
                        .where(ConversationEvent.conversation_id == conversation.id,
                               ConversationEvent.kind.in_([ConversationEventKind.ASSIGNMENT,
                                                           ConversationEventKind.TRANSFER,
                                                           ConversationEventKind.TAKEOVER]))
                        .order_by(ConversationEvent.id.desc()).limit(1)).first()
    if last is None or last[0] != ConversationEventKind.TRANSFER or last[2] is not None:
        return None
    return int(last[1]) if last[1] and str(last[1]).isdigit() else None


def _drop_team(session: Session, tenant_id: int, team_id: int) -> bool:
    """A deleted team's waiting conversations join the tenant-wide queue (keeping their place)."""
    stale = session.exec(select(Conversation).where(*_waiting(tenant_id, team_id))).all()
    for conversation in stale:
        conversation.team_id = None
        session.add(conversation)
    return bool(stale)


def assign_waiting(tenant_id: int) -> int:
    """Assign waiting conversations, oldest first in each pool, while someone is free. Returns how many.

    Idempotent and safe to run concurrently: each assignment is its own transaction with the pool locked and
    the conversation taken with SKIP LOCKED.
    """
    assigned = 0
    for team_id in _pools_with_waiting(tenant_id):
        while _assign_next(tenant_id, team_id):
            assigned += 1
    return assigned


def assign_waiting_all() -> int:
    """The periodic sweep: run the queue of every tenant that has conversations waiting."""
    with session_scope() as session:
        tenants = session.exec(select(Conversation.tenant_id).where(
            Conversation.queued_at.is_not(None), Conversation.assignee_id.is_(None),
            Conversation.status != ConversationStatus.CLOSED).distinct()).all()
    return sum(assign_waiting(tenant_id) for tenant_id in tenants)


def after_change(session: Session, conversation: Conversation, before: dict) -> None:
    """Keep the queue right after a person acted on a conversation (called by inbox actions).

    Owned → not waiting. Left unassigned by a person with the bot off (transfer to a team, unassign) → waits.
    Capacity freed (closed, snoozed, reassigned away) or a new waiting one → run the queue after commit.
    """
    owned = conversation.assignee_id is not None
    live = conversation.status not in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED)
    if owned or not live:
        conversation.queued_at = None
    elif not conversation.bot_active and conversation.queued_at is None:
        conversation.queued_at = utcnow()
    freed = before.get("assignee_id") is not None and (
        before.get("assignee_id") != conversation.assignee_id
        or str(conversation.status) in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED))
    if freed or conversation.queued_at is not None:
        assign_waiting_after_commit(session, conversation.tenant_id)


def resolved_by(session: Session, conversation: Conversation) -> str:
    """"human" if a person ever owned or answered the conversation, else "bot" (the containment metric)."""
    if conversation.assignee_id is not None:
        return "human"
    # A reopened conversation starts a new episode: only what happened since the last reopening counts.
    since = session.exec(select(func.max(ConversationEvent.created_at)).where(
        ConversationEvent.conversation_id == conversation.id, ConversationEvent.kind == ConversationEventKind.STATUS,
        ConversationEvent.from_value == ConversationStatus.CLOSED.value, ConversationEvent.to_value == "open")).one()
    since = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    owned = session.exec(select(ConversationEvent.id).where(
        ConversationEvent.conversation_id == conversation.id, ConversationEvent.created_at >= since,
        ConversationEvent.kind.in_([ConversationEventKind.ASSIGNMENT, ConversationEventKind.TAKEOVER,
                                    ConversationEventKind.TRANSFER]),
        ConversationEvent.to_value.is_not(None)).limit(1)).first()
    if owned is not None:
        return "human"
    answered = session.exec(select(Message.id).where(Message.conversation_id == conversation.id,
                                                     Message.created_at >= since,
                                                     Message.sender_type == SenderType.ATTENDANT).limit(1)).first()
    return "human" if answered is not None else "bot"


# ---- metrics -----------------------------------------------------------------------------------------------

def bot_metrics(session: Session, *, actor: Actor, since: dt.datetime, until: dt.datetime) -> BotMetrics:
    """Containment, handoff reasons and handoff→first human reply times in [since, until); staff only."""
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
