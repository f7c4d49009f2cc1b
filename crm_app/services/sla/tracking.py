"""Each conversation's SLA clocks, kept as its milestones happen, and the warnings and escalations they call for.

- `milestones.noted` runs in the transaction of every milestone and keeps it on the conversation's row, which it
  marks due; it queues `evaluate_sla` after commit.
- `evaluate` (the job) matches the policy, computes every clock (`domain.sla.evaluate`), stores them in
  `sla_clocks`, carries out the warnings and escalation steps that are due and not yet done, shows the next
  deadline on the conversation (the inbox's countdown) and sets when to look again (`wake_at`).
- `sweep` (every 10 s: `sweep_sla` in the job registry) evaluates only the rows whose `wake_at` has come, by its
  partial index, so the cost follows the deadlines that fall due, not the number of open conversations. It is also
  what catches up after a lost job, a dead worker or a missed run.

Exactly once: an action is recorded in `sla_actions` under its stable key (`domain.sla.Action.key`) in the same
transaction as its effects (events, lines, audit rows, e-mails queued, reassignment). A worker killed midway rolls
all of it back and the next run does it once; a second run finds the key and does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain import sla as rules
from crm_app.domain.timefmt import format_local
from crm_app.i18n import translate
from crm_app.models import (
    Contact,
    Conversation,
    ConversationEventKind,
    ConversationSla,
    ConversationStatus,
    Role,
    SlaAction,
    SlaClock,
    SlaPolicy,
    TeamMember,
    Tenant,
    User,
)
from crm_app.services.conversations import facts, milestones
from crm_app.services.core import outbox
from crm_app.services.sla import policies, priority

log = logging.getLogger(__name__)

BATCH = 500  # rows a sweep evaluates at most; the next sweep takes the rest
MISSED = "missed"  # the `sla_actions` kind that records a breach told to the webhooks (`sla.missed`)
_REPEATS = frozenset({"customer", "bot", "human"})  # a second one in a row changes no clock: kept once


def evaluate(conversation_id: int, now: dt.datetime | None = None) -> str:
    """The job: bring one conversation's clocks, deadline and actions up to `now` (idempotent).

    Returns:
        "gone" (no such conversation or no SLA row), "busy" (another run holds it; that run does the work),
        "none" (no policy applies) or "ok".
    """
    with session_scope() as session:
        conversation = session.exec(select(Conversation).where(Conversation.id == conversation_id)
                                    .with_for_update(skip_locked=True)).first()
        if conversation is None:
            exists = session.get(Conversation, conversation_id) is not None
            return "busy" if exists else "gone"
        row = session.exec(select(ConversationSla).where(ConversationSla.conversation_id == conversation_id)
                           .with_for_update()).first()
        if row is None:
            return "gone"
        return _evaluate(session, conversation, row, now or utcnow())


def sweep(now: dt.datetime | None = None) -> int:
    """The periodic job: evaluate the conversations whose `wake_at` has come (at most `BATCH`, earliest first),
    each in its own transaction. Returns how many were evaluated."""
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(select(ConversationSla.conversation_id).where(ConversationSla.wake_at.is_not(None),
                                                                         ConversationSla.wake_at <= now)
                           .order_by(ConversationSla.wake_at).limit(BATCH)).all()
    done = 0
    for conversation_id in due:
        try:
            done += evaluate(conversation_id, now) in ("ok", "none")
        except Exception:  # one broken conversation must not stop the others; it stays due and is logged
            log.exception("SLA evaluation of conversation %s failed", conversation_id)
    return done


def _evaluate(session: Session, conversation: Conversation, row: ConversationSla, now: dt.datetime) -> str:
    policy = policies.policy_for(session, conversation)
    targets = _targets(policy)
    if policy is None or targets == rules.Targets():
        row.policy_id, row.wake_at, row.evaluated_at = None, None, now
        session.add(row)
        _show(session, conversation, None)
        return "none"
    evaluation = rules.evaluate(targets, milestones.events_of(row), _clock(session, conversation, policy), now)
    _store_clocks(session, conversation, policy, evaluation, now)
    warn_before = dt.timedelta(minutes=policy.warn_before_minutes) if policy.warn_before_minutes else None
    actions = rules.plan_actions(evaluation, warn_before=warn_before, escalation=policy.escalation or [])
    done = set(session.exec(select(SlaAction.key).where(SlaAction.conversation_id == conversation.id)).all())
    for action in rules.due_actions(actions, done, now):
        _perform(session, conversation, action)
        session.add(SlaAction(tenant_id=conversation.tenant_id, conversation_id=conversation.id, key=action.key,
                              kind=action.kind, action=action.action, done_at=now))
        done.add(action.key)
    for miss in evaluation.misses:  # each breach told once to the webhooks, recorded like an action
        key = f"{MISSED}:{miss.key}"
        if key not in done:
            outbox.emit(session, conversation.tenant_id, "sla.missed", {
                "conversation_id": conversation.id, "inbox_id": conversation.inbox_id,
                "team_id": conversation.team_id, "assignee_id": conversation.assignee_id, "target": miss.target,
                "started_at": miss.started_at.isoformat(), "due_at": miss.due_at.isoformat()})
            session.add(SlaAction(tenant_id=conversation.tenant_id, conversation_id=conversation.id, key=key,
                                  kind=MISSED, done_at=now))
            done.add(key)
    running = [c for c in evaluation.clocks if c.done_at is None and c.due_at is not None]
    _show(session, conversation, min(running, key=lambda c: c.due_at, default=None))
    row.policy_id, row.evaluated_at = policy.id, now
    row.wake_at = rules.next_wake_at(actions, done, evaluation)
    session.add(row)
    return "ok"


def _targets(policy: SlaPolicy | None) -> rules.Targets:
    if policy is None:
        return rules.Targets()

    def seconds(minutes: int | None) -> float | None:
        return None if minutes is None else minutes * 60.0

    return rules.Targets(seconds(policy.first_response_minutes), seconds(policy.next_response_minutes),
                         seconds(policy.resolution_minutes))


def _clock(session: Session, conversation: Conversation, policy: SlaPolicy) -> rules.Clock:
    """The team's weekly hours, its and the tenant's closed days and its zone; the wall clock when the policy says
    so. No team: always open, closed days aside (as the analytics' business time)."""
    if not policy.business_hours_only:
        return rules.WALL
    hours, holidays, tz = facts.team_hours(session, conversation.tenant_id, conversation.team_id)
    return rules.Clock(hours=hours, holidays=holidays, tz=tz)


def _store_clocks(session: Session, conversation: Conversation, policy: SlaPolicy, evaluation: rules.Evaluation,
                  now: dt.datetime) -> None:
    """Every clock as a row. A clock that is still active takes the conversation's current team, attendant and
    number; a finished one keeps those it finished with. A row the milestones no longer make goes (a first response
    clock started by the customer's message is withdrawn when the bot answers it: it waits for the handoff)."""
    table = SlaClock.__table__
    current = [(c.target, c.started_at) for c in evaluation.clocks]
    stale = sa.delete(table).where(table.c.conversation_id == conversation.id)
    session.execute(stale.where(sa.tuple_(table.c.target, table.c.started_at).not_in(current)) if current else stale)
    if not evaluation.clocks:
        return
    rows = [{"tenant_id": conversation.tenant_id, "conversation_id": conversation.id, "policy_id": policy.id,
             "target": c.target, "status": c.status, "started_at": c.started_at, "due_at": c.due_at,
             "done_at": c.done_at, "inbox_id": conversation.inbox_id, "team_id": conversation.team_id,
             "assignee_id": conversation.assignee_id, "updated_at": now} for c in evaluation.clocks]
    insert = milestones.insert_for(session)(SlaClock).values(rows)
    new = insert.excluded
    running = SlaClock.__table__.c.status == rules.ACTIVE
    keep = {name: sa.case((running, getattr(new, name)), else_=getattr(SlaClock.__table__.c, name))
            for name in ("inbox_id", "team_id", "assignee_id", "policy_id")}
    changed = sa.or_(*(SlaClock.__table__.c[name].is_distinct_from(getattr(new, name))
                       for name in ("status", "due_at", "done_at")), running)
    session.execute(insert.on_conflict_do_update(
        index_elements=["conversation_id", "target", "started_at"],
        set_={"status": new.status, "due_at": new.due_at, "done_at": new.done_at, "updated_at": new.updated_at,
              **keep}, where=changed))


def _show(session: Session, conversation: Conversation, clock: rules.TargetState | None) -> None:
    """The inbox's countdown: the earliest deadline of a clock still waiting (red once missed), while the
    conversation is open; a change reaches the open tabs like any other."""
    from crm_app.services.core import realtime

    if conversation.status not in (ConversationStatus.OPEN, ConversationStatus.PENDING):
        clock = None
    due, started = (clock.due_at, clock.started_at) if clock else (None, None)
    if (conversation.sla_due_at, conversation.sla_started_at) == (due, started):
        return
    conversation.sla_due_at, conversation.sla_started_at = due, started
    session.add(conversation)
    realtime.publish_after_commit(session, conversation.tenant_id, "conversation.updated",
                                  conversation_id=conversation.id, data={"action": "sla"})


def _perform(session: Session, conversation: Conversation, action: rules.Action) -> None:
    """One warning or escalation step: its effect, a conversation event, a system line and an audit row."""
    from crm_app.services.conversations import log as conversation_log
    from crm_app.services.routing import queue

    data = {"sla": action.kind, "deadline": action.target, "key": action.key,
            **({"step": action.action} if action.action else {})}
    before = conversation_log.snapshot(conversation)
    if action.kind == rules.WARN:
        due = action.due_at or action.at
        _mail(session, conversation, _warned(session, conversation), "warning", action, due)
        _line(session, conversation, before, "inbox.system.sla_warning",
              {"deadline": action.target, "until": milestones.iso(due)}, data)
    elif action.action == "notify_supervisor":
        _mail(session, conversation, _supervisors(session, conversation), "breach", action,
              action.due_at or action.at)
        _line(session, conversation, before, "inbox.system.sla_supervisor", {"deadline": action.target}, data)
    elif action.action == "reassign_team":
        if conversation.assignee_id is not None:
            conversation.assignee_id = None
            _line(session, conversation, before, "inbox.system.sla_reassigned", {"deadline": action.target}, data,
                  kind=ConversationEventKind.ASSIGNMENT)
            queue.after_change(session, conversation, before)
            facts.note(session, conversation, "assign", user_id=None)
    elif action.action == "reassign_user":
        user = session.get(User, action.user_id) if action.user_id else None
        if user is not None and user.tenant_id == conversation.tenant_id and user.is_active \
                and conversation.assignee_id != user.id:
            conversation.assignee_id, conversation.bot_active = user.id, False
            _line(session, conversation, before, "inbox.system.sla_reassigned_user",
                  {"deadline": action.target, "user": user.name}, data, kind=ConversationEventKind.ASSIGNMENT)
            queue.after_change(session, conversation, before)
            facts.note(session, conversation, "assign", user_id=user.id)
    elif action.action == "raise_priority":
        level = min(conversation.priority + 1, len(rules.PRIORITIES) - 1)
        priority.change(session, None, conversation, level, reason=action.key)


def _line(session: Session, conversation: Conversation, before: dict, line: str, params: dict, data: dict, *,
          kind: ConversationEventKind = ConversationEventKind.SLA) -> None:
    from crm_app.services.conversations import log as conversation_log

    conversation_log.record_change(session, None, conversation, kind, action="sla", before=before,
                                   from_value=data["deadline"], to_value=data.get("step") or data["sla"],
                                   line=line, params=params, data=data)


def _warned(session: Session, conversation: Conversation) -> list[User]:
    """Who a warning goes to: the assignee and the supervisors of the conversation's team; with neither, every
    supervisor of the tenant (`_supervisors`)."""
    user = session.get(User, conversation.assignee_id) if conversation.assignee_id else None
    people = [user] if user is not None and user.is_active else []
    if conversation.team_id is not None:
        people += _team_supervisors(session, conversation)
    return sorted({u.id: u for u in people}.values(), key=lambda u: u.id) or _supervisors(session, conversation)


def _team_supervisors(session: Session, conversation: Conversation) -> list[User]:
    return list(session.exec(select(User).join(TeamMember, TeamMember.user_id == User.id).where(
        User.tenant_id == conversation.tenant_id, User.is_active.is_(True), User.role == Role.SUPERVISOR,
        TeamMember.team_id == conversation.team_id)))


def _supervisors(session: Session, conversation: Conversation) -> list[User]:
    """The active supervisors of the conversation's team (every supervisor of the tenant when it has no team, or
    its team has none); the admins when the tenant has no supervisor at all."""
    base = select(User).where(User.tenant_id == conversation.tenant_id, User.is_active.is_(True))
    found = _team_supervisors(session, conversation) if conversation.team_id is not None else []
    if not found:
        found = list(session.exec(base.where(User.role == Role.SUPERVISOR)))
    if not found:
        found = list(session.exec(base.where(User.role == Role.ADMIN)))
    return sorted(found, key=lambda u: u.id)


def _mail(session: Session, conversation: Conversation, people: list[User], what: str, action: rules.Action,
          due: dt.datetime) -> None:
    from crm_app.services import mail

    contact = session.get(Contact, conversation.contact_id)
    who = (contact.name or contact.phone_e164) if contact else f"#{conversation.id}"
    tenant = session.get(Tenant, conversation.tenant_id)
    until = format_local(due, (tenant.timezone if tenant else None) or "America/Sao_Paulo")
    for user in people:
        locale = user.locale or "pt-BR"
        deadline = translate(locale, f"sla.deadline.{action.target}")
        mail.queue_notification(session, tenant_id=conversation.tenant_id, to=user.email, locale=locale,
                                user_id=user.id, title=translate(locale, f"sla.mail.{what}_title"),
                                body=translate(locale, f"sla.mail.{what}_body").format(
                                    contact=who, deadline=deadline, until=until))
