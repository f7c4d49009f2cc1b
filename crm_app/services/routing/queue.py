"""Fair auto-assignment under capacity, and the waiting queue.

A "pool" is the set of people who may get a conversation: the members of its team, or, for a conversation
without a team, every active attendant of the tenant. Only members who are **online** (presence "online",
not "away"), active, and below their `User.capacity` of open/pending conversations are picked.

Concurrency: every pick runs with the pool locked: the team row `FOR UPDATE` (it also holds the round-robin
cursor), and a transaction-level advisory lock per tenant, because one person can sit in several teams and a
count of their load is only true while no one else assigns to them. Two workers therefore never both fill the
last free slot, nor both hand the same round-robin turn out.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm_app.db import after_commit, session_scope, utcnow
from crm_app.models import (
    Conversation,
    ConversationEvent,
    ConversationEventKind,
    ConversationStatus,
    Role,
    Team,
    TeamMember,
    User,
)
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.conversations import log as conversation_log
from crm_app.services.core import jobs
from crm_app.services.routing import presence, telling

log = logging.getLogger(__name__)

MODES = ("round_robin", "least_load")
LOADED = (ConversationStatus.OPEN, ConversationStatus.PENDING)
_LOCK_NAMESPACE = 0x41535347  # "ASSG": keeps our advisory locks apart from anyone else's
QUEUE_LOOKAHEAD = 20


def _online(tenant_id: int) -> set[int]:
    """Users whose presence is "online" (away does not get new conversations). Redis down: nobody."""
    try:
        return {user_id for user_id, status in presence.statuses(tenant_id).items() if status == "online"}
    except Exception as exc:  # a queue is better than a failed handoff
        log.warning("presence unavailable for tenant %s: %s", tenant_id, type(exc).__name__)
        return set()


def lock_pool(session: Session, tenant_id: int, team_id: int | None) -> Team | None:
    """Serialise assignment in the tenant, and lock the team row (the round-robin cursor) when there is one.

    Args:
        session: The caller's session; the locks last until it ends.
        tenant_id: The tenant.
        team_id: The pool's team; None for the tenant-wide pool.

    Returns:
        The locked team, or None (no team, or not one of this tenant).
    """
    if session.get_bind().dialect.name == "postgresql":  # SQLite (the laptop) has one writer at a time anyway
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
    """Open and pending conversations each user owns (snoozed and closed ones do not count).

    Args:
        session: The caller's session.
        tenant_id: The tenant.
        user_ids: The users to count for.

    Returns:
        user id -> number of conversations, 0 included.
    """
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
    """The first candidate after `cursor` in id order, wrapping around.

    Args:
        candidate_ids: Who may get the conversation.
        cursor: The last user given one, or None.

    Returns:
        The chosen id, or None when there is nobody.
    """
    ordered = sorted(candidate_ids)
    if not ordered:
        return None
    if cursor is None:
        return ordered[0]
    return next((user_id for user_id in ordered if user_id > cursor), ordered[0])


def pick_least_load(candidate_ids: list[int], counts: dict[int, int]) -> int | None:
    """The candidate with the fewest open conversations; ties go to the lowest id (stable).

    Args:
        candidate_ids: Who may get the conversation.
        counts: user id -> open conversations.

    Returns:
        The chosen id, or None when there is nobody.
    """
    return min(candidate_ids, key=lambda user_id: (counts.get(user_id, 0), user_id), default=None)


def pick(session: Session, tenant_id: int, team: Team | None, exclude: int | None = None) -> User | None:
    """Choose the next free person of an (already locked) pool, moving the round-robin cursor.

    Args:
        session: The caller's session, holding the pool's locks (`lock_pool`).
        tenant_id: The tenant.
        team: The locked team, or None for the tenant-wide pool.
        exclude: A user who must not get it (who just transferred it away).

    Returns:
        The chosen user, or None when nobody is free.
    """
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


def give(session: Session, conversation: Conversation, user: User, *, via: str) -> None:
    """Assign `conversation` to `user`: the bot goes quiet and the queue forgets it.

    Args:
        session: The caller's session.
        conversation: The conversation, locked by the caller.
        user: Who gets it (from `pick`).
        via: What assigned it ("handoff" or "queue"), kept on the event.
    """
    before = conversation_log.snapshot(conversation)
    previous = conversation.assignee_id
    conversation.assignee_id, conversation.bot_active, conversation.queued_at = user.id, False, None
    if conversation.status == ConversationStatus.PENDING:
        conversation.status = ConversationStatus.OPEN
    conversation_log.record_change(
        session, None, conversation, ConversationEventKind.ASSIGNMENT, action="auto_assign", before=before,
        from_value=previous, to_value=user.id, line="assignment.system.assigned", params={"user": user.name},
        data={"via": via, "team_id": conversation.team_id})
    analytics_facts.note(session, conversation, "assign", user_id=user.id)
    after_change(session, conversation, before)


def _waiting(tenant_id: int, team_id: int | None) -> list:
    """Conditions of the conversations waiting in one pool's queue."""
    team_condition = Conversation.team_id.is_(None) if team_id is None else Conversation.team_id == team_id
    return [Conversation.tenant_id == tenant_id, team_condition, Conversation.queued_at.is_not(None),
            Conversation.assignee_id.is_(None), Conversation.bot_active.is_(False),
            Conversation.status.not_in([ConversationStatus.CLOSED, ConversationStatus.SNOOZED])]


def queue_position(session: Session, conversation: Conversation) -> int | None:
    """The place of a waiting conversation in its pool's queue (by queued_at, then id).

    Args:
        session: The caller's session.
        conversation: The conversation.

    Returns:
        Its 1-based place, or None when it is not waiting.
    """
    if conversation.queued_at is None or conversation.assignee_id is not None:
        return None
    session.flush()
    ahead = session.exec(select(func.count()).select_from(Conversation).where(
        *_waiting(conversation.tenant_id, conversation.team_id),
        sa.or_(Conversation.queued_at < conversation.queued_at,
               sa.and_(Conversation.queued_at == conversation.queued_at, Conversation.id < conversation.id)))).one()
    return int(ahead) + 1


def enqueue_assign_waiting(tenant_id: int) -> None:
    """Ask a worker to run `assign_waiting(tenant_id)`; never raises (the periodic sweep catches up).

    Args:
        tenant_id: The tenant whose queue should run.
    """
    try:
        jobs.enqueue("assign_waiting", tenant_id)
    except Exception as exc:
        log.warning("could not queue assign_waiting for tenant %s: %s", tenant_id, type(exc).__name__)


def assign_waiting_after_commit(session: Session, tenant_id: int) -> None:
    """Run the queue for `tenant_id` once `session` commits (capacity was freed or the queue grew).

    Once per transaction and tenant, however many conversations changed.

    Args:
        session: The caller's session.
        tenant_id: The tenant whose queue should run.
    """
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
        team = lock_pool(session, tenant_id, team_id)
        if team_id is not None and team is None:
            return _drop_team(session, tenant_id, team_id)
        # The oldest waiting conversation that someone free may take: one that its transferrer may not get back
        # must not hold up the ones behind it.
        waiting = session.exec(select(Conversation).where(*_waiting(tenant_id, team_id))
                               .order_by(Conversation.queued_at, Conversation.id)
                               .limit(QUEUE_LOOKAHEAD).with_for_update(skip_locked=True)).all()
        for conversation in waiting:
            user = pick(session, tenant_id, team, exclude=_handed_away_by(session, conversation))
            if user is not None:
                give(session, conversation, user, via="queue")
                # The customer heard their place in the line; now they hear who took it (the team's text).
                telling.tell_customer(session, conversation, telling.assigned_text(session, tenant_id, team, user.name))
                return True
    return False


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
    """Assign waiting conversations, oldest first in each pool, while someone is free.

    Idempotent and safe to run concurrently: each assignment is its own transaction with the pool locked and
    the conversation taken with SKIP LOCKED.

    Args:
        tenant_id: The tenant.

    Returns:
        How many conversations were assigned.
    """
    assigned = 0
    for team_id in _pools_with_waiting(tenant_id):
        while _assign_next(tenant_id, team_id):
            assigned += 1
    return assigned


def assign_waiting_all() -> int:
    """The periodic sweep: run the queue of every tenant that has conversations waiting.

    Returns:
        How many conversations were assigned, over all tenants.
    """
    with session_scope() as session:
        tenants = session.exec(select(Conversation.tenant_id).where(
            Conversation.queued_at.is_not(None), Conversation.assignee_id.is_(None),
            Conversation.status != ConversationStatus.CLOSED).distinct()).all()
    return sum(assign_waiting(tenant_id) for tenant_id in tenants)


def after_change(session: Session, conversation: Conversation, before: dict) -> None:
    """Keep the queue right after a conversation changed; call it after `conversations.log.record_change`.

    Owned → not waiting. Left unassigned with the bot off (transfer to a team, unassign, handoff) → waits.
    Capacity freed (closed, snoozed, reassigned away) or a new waiting one → run the queue after commit.

    Args:
        session: The caller's session.
        conversation: The changed conversation.
        before: `conversations.log.snapshot` of it before the change.
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
