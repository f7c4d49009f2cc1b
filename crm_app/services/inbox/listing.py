"""Conversation lists by tab: rows, counts, search, pages, and the header of one conversation.

Reads return frozen DTOs of plain types.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from crm_app.db import UTCDateTime, utcnow
from crm_app.domain import outbound
from crm_app.domain.inbox import (
    SLA_RISK_SHARE,
    Period,
    compute_local_ranges,
    decode_cursor,
    decode_ranked_cursor,
    display_phone,
    encode_cursor,
    encode_ranked_cursor,
    search_pattern,
)
from crm_app.errors import PermissionDenied, ValidationError
from crm_app.models import (
    Contact,
    Conversation,
    ConversationFact,
    ConversationLabel,
    ConversationStatus,
    Label,
    Message,
    Team,
    Tenant,
    User,
)
from crm_app.services.audit import reads
from crm_app.services.conversations import contacts
from crm_app.services.conversations.access import READERS, access_conversation, can_send, reads_all
from crm_app.services.conversations.contacts import ContactView
from crm_app.services.core.actors import Actor, require_role

TABS = ("mine", "unassigned", "bot", "all", "closed")
# recent: newest activity first; window: open windows closing soonest first; due: the SLA deadline soonest first
# (no deadline last); priority: highest first, then as recent.
SORTS = ("recent", "window", "due", "priority")
WINDOW = dt.timedelta(hours=24)

_C, _K = Conversation, Contact
_RECENT_KEY = func.coalesce(_C.last_message_at, _C.created_at)


@dataclass(frozen=True)
class ConversationRow:
    """One conversation as a list row: customer, preview, unread count, owner, team, window, labels, priority
    (0-4, `domain.sla.PRIORITIES`) and the running SLA clock's deadline and start (None when no clock runs)."""

    id: int
    inbox_id: int
    contact_id: int
    contact_name: str
    contact_phone: str
    preview: str
    last_message_at: dt.datetime | None
    unread_count: int
    status: str
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    team_name: str | None
    bot_active: bool
    window_expires_at: dt.datetime | None
    labels: list[str] = field(default_factory=list)
    priority: int = 0
    sla_due_at: dt.datetime | None = None
    sla_started_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConversationPage:
    """One page of a tab; `total` is counted on the first page only."""

    rows: list[ConversationRow]
    next_cursor: str | None
    total: int | None


@dataclass(frozen=True)
class ConversationDetail:
    """The chat header and customer panel, and whether (or why not) the reader may reply."""

    row: ConversationRow
    contact: ContactView
    can_reply: bool
    blocked_reason: str | None
    window_open: bool


def _tab_filter(tab: str, actor: Actor) -> list:
    if tab not in TABS:
        raise ValidationError(f"tab must be one of {', '.join(TABS)}", field="tab")
    if tab == "all" and not reads_all(actor):
        raise PermissionDenied("only supervisors, admins and executives see every conversation")
    not_closed = _C.status != ConversationStatus.CLOSED
    return {
        "mine": [_C.assignee_id == actor.user_id, not_closed],
        "unassigned": [_C.assignee_id.is_(None), _C.bot_active.is_(False), not_closed],
        "bot": [_C.bot_active.is_(True), not_closed],
        "all": [not_closed],
        "closed": [_C.status == ConversationStatus.CLOSED]
        + ([] if reads_all(actor) else [_C.assignee_id == actor.user_id]),
    }[tab]


def _selection_filter(ids: list[int], actor: Actor) -> list:
    conditions = [_C.id.in_(list(ids)[:5000])]
    return conditions if reads_all(actor) else [*conditions, _C.assignee_id == actor.user_id]


_PERIOD_COLUMNS = {"opened": ConversationFact.opened_at, "closed": ConversationFact.closed_at,
                   "first_response": ConversationFact.first_human_at}


def _period_filter(session: Session, period: Period | None, tenant_id: int) -> list:
    """Conversations with a cycle opened, closed or first answered, or a customer message, within the period's
    local days (and weekday and hour), in the tenant's timezone: the same moments the analytics charts count."""
    if period is None:
        return []
    tenant = session.get(Tenant, tenant_id)
    ranges = compute_local_ranges(period, (tenant.timezone if tenant else None) or "America/Sao_Paulo")
    if not ranges:
        return [sa.false()]
    if period.on == "inbound":
        column = Message.created_at
        source = select(Message.conversation_id).where(Message.tenant_id == tenant_id,
                                                       Message.sender_type == "customer")
    else:
        column = _PERIOD_COLUMNS[period.on]
        source = select(ConversationFact.conversation_id).where(ConversationFact.tenant_id == tenant_id)
    within = sa.or_(*[sa.and_(column >= start, column < end) for start, end in ranges])
    return [_C.id.in_(source.where(within))]


def _search_filter(query: str | None, tenant_id: int) -> list:
    pattern = search_pattern(query)
    if not pattern:
        return []
    # IN, not a correlated EXISTS: under OR, PostgreSQL runs it once as a hashed subplan over the trigram index.
    in_messages = _C.id.in_(select(Message.conversation_id).where(Message.tenant_id == tenant_id,
                                                                  Message.search_text.like(pattern, escape="\\")))
    return [sa.or_(_K.search_text.like(pattern, escape="\\"), in_messages)]


def _row_statement():
    assignee = aliased(User)
    return (select(_C.id, _C.inbox_id, _C.contact_id, _K.name.label("contact_name"), _K.phone_e164,
                   _C.last_message_preview, _C.last_message_at, _C.unread_count, _C.status, _C.assignee_id,
                   assignee.name.label("assignee_name"), _C.team_id, Team.name.label("team_name"), _C.bot_active,
                   _C.last_customer_message_at, _RECENT_KEY.label("recent_key"), _C.priority, _C.sla_due_at,
                   _C.sla_started_at)
            .join(_K, _K.id == _C.contact_id)
            .outerjoin(assignee, assignee.id == _C.assignee_id)
            .outerjoin(Team, Team.id == _C.team_id))


def _rows(session: Session, records: list) -> list[ConversationRow]:
    """DTOs for fetched rows, with their labels in one more query."""
    ids = [r.id for r in records]
    labels: dict[int, list[str]] = {}
    if ids:
        for conversation_id, name in session.exec(
                select(ConversationLabel.conversation_id, Label.name)
                .join(Label, Label.id == ConversationLabel.label_id)
                .where(ConversationLabel.conversation_id.in_(ids)).order_by(Label.name)):
            labels.setdefault(conversation_id, []).append(name)
    return [ConversationRow(
        r.id, r.inbox_id, r.contact_id, r.contact_name or display_phone(r.phone_e164), r.phone_e164,
        r.last_message_preview or "", r.last_message_at, r.unread_count, str(r.status), r.assignee_id,
        r.assignee_name, r.team_id, r.team_name, r.bot_active,
        r.last_customer_message_at + WINDOW if r.last_customer_message_at else None, labels.get(r.id, []),
        priority=r.priority or 0, sla_due_at=r.sla_due_at, sla_started_at=r.sla_started_at,
    ) for r in records]


def conversation_row(session: Session, conversation_id: int, *, tenant_id: int | None = None) -> ConversationRow:
    """The list row of one conversation, already authorized.

    Args:
        session: The caller's session (flushed first, so the row shows pending changes).
        conversation_id: The conversation.
        tenant_id: When given, only a conversation of this tenant is found.

    Returns:
        The row.
    """
    session.flush()
    statement = _row_statement().where(_C.id == conversation_id)
    if tenant_id is not None:
        statement = statement.where(_C.tenant_id == tenant_id)
    return _rows(session, [session.exec(statement).one()])[0]


def find_conversation_row(session: Session, conversation_id: int, *, tenant_id: int) -> ConversationRow | None:
    """The list row of one conversation of the tenant, already authorized; None when it is gone.

    Args:
        session: The caller's session.
        conversation_id: The conversation.
        tenant_id: Only a conversation of this tenant is found.

    Returns:
        The row, or None.
    """
    record = session.exec(_row_statement().where(_C.id == conversation_id, _C.tenant_id == tenant_id)).first()
    return None if record is None else _rows(session, [record])[0]


def list_conversations(session: Session, *, actor: Actor, tab: str = "mine", query: str | None = None,
                       team_id: int | None = None, label_id: int | None = None, status: str | None = None,
                       inbox_id: int | None = None, sort: str = "recent", cursor: str | None = None,
                       limit: int = 50, conversation_ids: list[int] | None = None,
                       period: Period | None = None, at_risk: bool = False) -> ConversationPage:
    """One page of a tab in the order of `sort` (`SORTS`), newest activity first by default.

    Args:
        session: The caller's session.
        actor: The acting user; attendants have no "all" tab; executives read (and only read) every tab.
        tab: One of `TABS`.
        query: Matches the contact's name, phone or e-mail, or any message text, ignoring accents and case.
        team_id: Only this team's conversations.
        label_id: Only conversations with this label.
        status: Only conversations in this status.
        inbox_id: Only this WhatsApp number's conversations.
        sort: One of `SORTS`.
        cursor: The previous page's `next_cursor`.
        limit: Rows per page (1 to 200).
        conversation_ids: Only these conversations, whatever their status (an analytics selection); the tab
            is then ignored, except that attendants still see only their own.
        period: Only conversations with that moment (`Period.on`) in those local days and hours.
        at_risk: Only conversations whose SLA deadline passed or is in the last 20 % of its clock's window.

    Returns:
        The page; `total` is counted on the first page only.
    """
    require_role(actor, *READERS)
    if sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}", field="sort")
    limit = max(1, min(limit, 200))
    if cursor is None:  # a search by phone is a read of personal data; the pages after it are the same read
        reads.record_phone_search(session, actor=actor, query=query)
    scope = _tab_filter(tab, actor) if conversation_ids is None else _selection_filter(conversation_ids, actor)
    conditions = [_C.tenant_id == actor.tenant_id, *scope, *_search_filter(query, actor.tenant_id),
                  *_narrowing(team_id, label_id, status, inbox_id), *_period_filter(session, period, actor.tenant_id)]
    if sort == "window":
        conditions.append(_C.last_customer_message_at > utcnow() - WINDOW)
    if at_risk:
        conditions.extend(_at_risk(session, utcnow()))
    total = None
    if cursor is None:
        total = session.exec(select(func.count()).select_from(_C).join(_K, _K.id == _C.contact_id)
                             .where(*conditions)).one()
    statement = _row_statement().where(*conditions)
    if cursor is not None:
        statement = statement.where(_after(sort, cursor))
    records = session.exec(statement.order_by(*_ORDERS[sort]).limit(limit + 1)).all()
    page = records[:limit]
    next_cursor = _cursor_of(sort, page[-1]) if len(records) > limit else None
    return ConversationPage(_rows(session, page), next_cursor, total)


_ORDERS = {
    "recent": (_RECENT_KEY.desc(), _C.id.desc()),
    "window": (_C.last_customer_message_at.asc(), _C.id.asc()),
    # ASC NULLS LAST is the btree's own order: ix_conversations_tenant_sla_due serves it.
    "due": (_C.sla_due_at.asc().nulls_last(), _C.id.asc()),
    "priority": (_C.priority.desc(), _RECENT_KEY.desc(), _C.id.desc()),
}


def _cursor_of(sort: str, last) -> str:
    """The keyset cursor after the page's last row, in the sort's own key."""
    if sort == "priority":
        return encode_ranked_cursor(last.priority or 0, last.recent_key, last.id)
    moment = {"window": last.last_customer_message_at, "due": last.sla_due_at}.get(sort, last.recent_key)
    return encode_cursor(moment, last.id)


def _at_risk(session: Session, now: dt.datetime) -> list:
    """A deadline that passed, or whose remaining time is at most `SLA_RISK_SHARE` of its clock's window."""
    due, started, at = _C.sla_due_at, _C.sla_started_at, sa.literal(now, UTCDateTime)
    if session.get_bind().dialect.name == "postgresql":
        near = (due - at) <= (due - started) * SLA_RISK_SHARE
    else:  # the embedded SQLite default has no interval arithmetic: compare in days
        near = (func.julianday(due) - func.julianday(at)) <= (
            func.julianday(due) - func.julianday(started)) * SLA_RISK_SHARE
    return [due.is_not(None), sa.or_(due <= at, sa.and_(started.is_not(None), near))]


def _narrowing(team_id: int | None, label_id: int | None, status: str | None, inbox_id: int | None) -> list:
    """The optional filters of a list: team, label, status, inbox."""
    conditions = []
    if team_id is not None:
        conditions.append(_C.team_id == team_id)
    if inbox_id is not None:
        conditions.append(_C.inbox_id == inbox_id)
    if status is not None:
        conditions.append(_C.status == status)
    if label_id is not None:
        conditions.append(_C.id.in_(select(ConversationLabel.conversation_id)
                                    .where(ConversationLabel.label_id == label_id)))
    return conditions


def _after(sort: str, cursor: str):
    """The rows after a cursor of `sort` (a cursor of another sort, or none of ours, is a ValidationError)."""
    try:
        if sort == "priority":
            rank, moment, last_id = decode_ranked_cursor(cursor)
        else:
            rank, (moment, last_id) = None, decode_cursor(cursor)
    except ValueError as exc:
        raise ValidationError("invalid cursor", field="cursor") from exc
    if sort == "due":
        if moment is None:  # already among the conversations without a deadline
            return sa.and_(_C.sla_due_at.is_(None), _C.id > last_id)
        return sa.or_(_beyond(_C.sla_due_at, moment, last_id, ascending=True), _C.sla_due_at.is_(None))
    if moment is None:
        raise ValidationError("invalid cursor", field="cursor")
    if sort == "window":
        return _beyond(_C.last_customer_message_at, moment, last_id, ascending=True)
    after = _beyond(_RECENT_KEY, moment, last_id, ascending=False)
    return after if rank is None else sa.or_(_C.priority < rank, sa.and_(_C.priority == rank, after))


def _beyond(key, moment: dt.datetime, last_id: int, *, ascending: bool):
    at = sa.literal(moment, UTCDateTime)
    if ascending:
        return sa.or_(key > at, sa.and_(key == at, _C.id > last_id))
    return sa.or_(key < at, sa.and_(key == at, _C.id < last_id))


def tab_counts(session: Session, *, actor: Actor) -> dict[str, int]:
    """How many conversations each tab the actor may open holds (attendants get no "all").

    Args:
        session: The caller's session.
        actor: The acting user.

    Returns:
        tab -> count.
    """
    require_role(actor, *READERS)
    tabs = [t for t in TABS if t != "all" or reads_all(actor)]
    columns = [func.count().filter(sa.and_(*_tab_filter(t, actor))).label(t) for t in tabs]
    row = session.exec(select(*columns).select_from(_C).where(_C.tenant_id == actor.tenant_id)).one()
    return {t: int(row[i] or 0) for i, t in enumerate(tabs)}


def unread_total(session: Session, *, actor: Actor) -> int:
    """Unread customer messages in the actor's own open conversations (the browser tab's title).

    Args:
        session: The caller's session.
        actor: The acting user.

    Returns:
        The number of unread messages.
    """
    require_role(actor, *READERS)
    total = session.exec(select(func.coalesce(func.sum(_C.unread_count), 0)).where(
        _C.tenant_id == actor.tenant_id, _C.assignee_id == actor.user_id,
        _C.status != ConversationStatus.CLOSED)).one()
    return int(total or 0)


def _blocked_reason(conversation: Conversation, actor: Actor) -> str | None:
    if actor.role == "executive":
        return "inbox.blocked.read_only"
    if conversation.status == ConversationStatus.CLOSED:
        return "inbox.blocked.closed"
    if can_send(conversation, actor):
        return None
    if conversation.bot_active:
        return "inbox.blocked.bot"
    if conversation.assignee_id is None:
        return "inbox.blocked.unassigned"
    return "inbox.blocked.other_assignee"


def get_conversation(session: Session, *, actor: Actor, conversation_id: int) -> ConversationDetail:
    """The chat header and customer panel of one conversation, and whether the actor may reply.

    Args:
        session: The caller's session.
        actor: The acting user.
        conversation_id: The conversation.

    Returns:
        The detail; `blocked_reason` is a catalogue key when the actor may not reply.
    """
    conversation = access_conversation(session, actor=actor, conversation_id=conversation_id, read_only=True)
    contact = contacts.view_of(session, session.get(Contact, conversation.contact_id), actor)
    reason = _blocked_reason(conversation, actor)
    window_open = outbound.is_window_open(conversation.last_customer_message_at, utcnow())
    return ConversationDetail(conversation_row(session, conversation.id), contact, reason is None, reason,
                              window_open)


@dataclass(frozen=True)
class InboxSummary:
    """The numbers around the list: conversations per tab and the actor's unread messages."""

    counts: dict[str, int]
    unread_total: int


def summarize(session: Session, *, actor: Actor) -> InboxSummary:
    """The tab counts and the unread total of the actor, read together.

    Args:
        session: The caller's session.
        actor: The acting user.

    Returns:
        The summary.
    """
    return InboxSummary(tab_counts(session, actor=actor), unread_total(session, actor=actor))
