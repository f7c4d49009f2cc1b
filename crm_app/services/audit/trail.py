"""The readable trail: search by actor, action, object, period and IP (keyset by id), sentences, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.errors import ValidationError
from crm_app.i18n import catalogue
from crm_app.models import AuditDetail, AuditLog, Contact, Conversation, Team, User
from crm_app.services.audit import reads
from crm_app.services.audit.roles import READERS
from crm_app.services.core.actors import Actor, require_role

MAX_PAGE = 100
CSV_MAX_ROWS = 100_000


@dataclass(frozen=True)
class TrailFilter:
    """What to look for; every field is optional. `action` ending in "." is a family; `until` is exclusive."""

    actor_user_id: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    ip: str | None = None


@dataclass(frozen=True)
class TrailRow:
    """One entry as people read it; `erased` when its personal values were deleted."""

    id: int
    created_at: dt.datetime
    actor_user_id: int | None
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    object_name: str
    ip: str | None
    sealed: bool
    erased: bool
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrailPage:
    """Newest first; `next_before_id` asks for the next (older) page, None at the end."""

    rows: list[TrailRow]
    next_before_id: int | None


def check_filter(f: TrailFilter) -> TrailFilter:
    """The filter with its IP normalised; ValidationError for a bad IP or object id."""
    ip = f.ip.strip() if f.ip else None
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise ValidationError("invalid IP address", field="ip", key="audit.error.ip") from None
    target_id = f.target_id.strip() if f.target_id else None
    if target_id and len(target_id) > 64:
        raise ValidationError("invalid object id", field="target_id", key="audit.error.id")
    return TrailFilter(f.actor_user_id, f.action or None, f.target_type or None, target_id or None, f.since,
                       f.until, ip or None)


# How many entries at each end of a date range are read to find its ids (see `_id_range`).
RANGE_PROBE = 1000


def _id_range(session: Session, tenant_id: int, f: TrailFilter) -> tuple[int | None, int | None] | None:
    """A date range as ids: (lowest, highest) id to walk, None when no entry falls in it.

    Ids grow with `created_at`: the database stamps both in the same INSERT (`clock_timestamp()`), so only
    entries inserted at the same instant by concurrent writers can swap, never more of them than there are
    connections. The smallest id among the first RANGE_PROBE entries from `since` by time, and the largest among
    the last RANGE_PROBE before `until`, therefore bound every entry of the range. Both probes read the
    (tenant_id, created_at) index; the page then walks (tenant_id, id) inside the bounds instead of from the
    newest entry down to the range (a day in the middle of ten million entries: a second, before).
    """
    low = high = None
    if f.since is not None:
        first = select(AuditLog.id).where(AuditLog.tenant_id == tenant_id, AuditLog.created_at >= f.since)
        if f.until is not None:
            first = first.where(AuditLog.created_at < f.until)
        low = session.exec(select(sa.func.min(first.order_by(AuditLog.created_at).limit(RANGE_PROBE)
                                              .subquery().c.id))).one()
        if low is None:
            return None
    if f.until is not None:
        last = select(AuditLog.id).where(AuditLog.tenant_id == tenant_id, AuditLog.created_at < f.until)
        if f.since is not None:
            last = last.where(AuditLog.created_at >= f.since)
        high = session.exec(select(sa.func.max(last.order_by(AuditLog.created_at.desc()).limit(RANGE_PROBE)
                                               .subquery().c.id))).one()
        if high is None:
            return None
    return low, high


def _query(tenant_id: int, f: TrailFilter, before_id: int | None, ids: tuple[int | None, int | None] = (None, None)):
    query = select(AuditLog).where(AuditLog.tenant_id == tenant_id)
    if ids[0] is not None:
        query = query.where(AuditLog.id >= ids[0])
    if ids[1] is not None:
        query = query.where(AuditLog.id <= ids[1])
    if f.action:
        query = query.where(AuditLog.action.startswith(f.action, autoescape=True) if f.action.endswith(".")
                            else AuditLog.action == f.action)
    if f.actor_user_id is not None:
        query = query.where(AuditLog.actor_user_id == f.actor_user_id)
    if f.target_type:
        query = query.where(AuditLog.target_type == f.target_type)
    if f.target_id:
        query = query.where(AuditLog.target_id == f.target_id)
    if f.ip:
        query = query.where(AuditLog.ip == f.ip)
    if f.since is not None:
        query = query.where(AuditLog.created_at >= f.since)
    if f.until is not None:
        query = query.where(AuditLog.created_at < f.until)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    return query.order_by(AuditLog.id.desc())


def search(session: Session, *, actor: Actor, filters: TrailFilter, before_id: int | None = None,
           limit: int = 50) -> TrailPage:
    """One page of the actor's tenant's trail, newest first, by keyset on the id; admins (and the DPO).

    Args:
        session: The caller's session.
        actor: Who reads; the trail of their own tenant only.
        filters: What to look for.
        before_id: The last id of the previous page.
        limit: The page size, at most 100.

    Returns:
        The rows and the cursor of the next page.
    """
    require_role(actor, *READERS)
    filters, limit = check_filter(filters), max(1, min(int(limit), MAX_PAGE))
    ids = _id_range(session, actor.tenant_id, filters)
    if ids is None:
        return TrailPage([], None)
    rows = session.exec(_query(actor.tenant_id, filters, before_id, ids).limit(limit + 1)).all()
    shown = _rows(session, actor.tenant_id, rows[:limit])
    return TrailPage(shown, shown[-1].id if len(rows) > limit else None)


def _names(session: Session, tenant_id: int, rows: list[AuditLog]) -> dict[tuple[str, str], str]:
    """Readable names of the users, contacts, conversations' contacts and teams the rows mention."""
    ids: dict[str, set[int]] = {"user": set(), "contact": set(), "conversation": set(), "team": set()}
    for r in rows:
        if r.actor_user_id:
            ids["user"].add(r.actor_user_id)
        if r.target_type in ids and r.target_id and r.target_id.isdigit():
            ids[r.target_type].add(int(r.target_id))
    names: dict[tuple[str, str], str] = {}
    for model, kind in ((User, "user"), (Contact, "contact"), (Team, "team")):
        if ids[kind]:
            for row in session.exec(select(model).where(model.tenant_id == tenant_id, model.id.in_(ids[kind]))):
                names[(kind, str(row.id))] = row.name or getattr(row, "phone_e164", "") or f"#{row.id}"
    if ids["conversation"]:
        pairs = session.exec(select(Conversation.id, Contact.name, Contact.phone_e164).join(
            Contact, Contact.id == Conversation.contact_id).where(Conversation.tenant_id == tenant_id,
                                                                  Conversation.id.in_(ids["conversation"])))
        for conv_id, name, phone in pairs:
            names[("conversation", str(conv_id))] = name or phone
    return names


def _rows(session: Session, tenant_id: int, rows: list[AuditLog]) -> list[TrailRow]:
    names = _names(session, tenant_id, rows)
    details = {d.digest: d for d in session.exec(select(AuditDetail).where(
        AuditDetail.digest.in_([r.digest for r in rows])))} if rows else {}
    out = []
    for r in rows:
        d = details.get(r.digest)
        actor_name = names.get(("user", str(r.actor_user_id))) or (d.actor_label if d else "") or ""
        out.append(TrailRow(
            id=r.id, created_at=r.created_at, actor_user_id=r.actor_user_id,
            actor_name="" if actor_name == "system" else actor_name, action=r.action, target_type=r.target_type,
            target_id=r.target_id, object_name=names.get((r.target_type, r.target_id or ""), ""), ip=r.ip,
            sealed=r.hash is not None, erased=d is None, before=dict(d.before or {}) if d else {},
            after=dict(d.after or {}) if d else {}))
    return out


def sentence(locale: str, row: TrailRow) -> str:
    """The entry as one sentence ("Ana encerrou a conversa com Maria Souza") in `locale`."""
    t = catalogue(locale)
    actor = row.actor_name or t["audit.system"]
    if row.object_name:
        obj = row.object_name
    elif row.target_type in ("conversation", "contact") and row.erased:
        obj = t["audit.erased"]
    elif row.target_id:
        obj = t["audit.object.any"].format(id=row.target_id)
    else:
        obj = t["audit.object.none"]
    template = t.get(f"audit.sentence.{row.action}") or t["audit.sentence.unknown"]
    return template.format(actor=actor, object=obj, code=row.action)


CSV_COLUMNS = ("id", "created_at", "actor_user_id", "actor", "action", "sentence", "target_type", "target_id",
               "ip", "sealed")


def csv_lines(session: Session, *, actor: Actor, filters: TrailFilter, locale: str) -> Iterator[str]:
    """The filtered trail as CSV, newest first, a page at a time (up to 100 000 rows); admins (and the DPO).

    The export itself is recorded (`export.download`, its kind and filters) by `export_csv`, which serves it.
    """
    require_role(actor, *READERS)
    filters = check_filter(filters)
    buffer, writer = io.StringIO(), None
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before_id, sent = None, 0
    ids = _id_range(session, actor.tenant_id, filters) or (0, 0)  # (0, 0): nothing in the range
    while sent < CSV_MAX_ROWS:
        rows = session.exec(_query(actor.tenant_id, filters, before_id, ids).limit(1000)).all()
        if not rows:
            break
        for row in _rows(session, actor.tenant_id, rows):
            writer.writerow([row.id, row.created_at.isoformat(), row.actor_user_id or "", _cell(row.actor_name),
                             row.action, _cell(sentence(locale, row)), row.target_type, _cell(row.target_id or ""),
                             row.ip or "", "yes" if row.sealed else "no"])
        sent += len(rows)
        before_id = rows[-1].id
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _cell(value: str) -> str:
    """No spreadsheet formula from a value someone typed (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


OBJECT_TYPES = ("ai_settings", "api_token", "audit", "canned_response", "contact", "conversation", "dpo_report",
                "email", "export", "inbound_event", "inbox", "incident", "knowledge_entry", "message",
                "privacy_request", "retention_policy", "search", "session", "settings", "sso_config", "team",
                "tenant", "user", "webhook_delivery", "webhook_endpoint")


def filter_choices(locale: str) -> tuple[list[str], list[str]]:
    """(action codes, object types) for the filters: the codes that have a sentence, never a DISTINCT over
    millions of rows."""
    prefix = "audit.sentence."
    codes = sorted(k[len(prefix):] for k in catalogue(locale) if k.startswith(prefix) and k != prefix + "unknown")
    return codes, list(OBJECT_TYPES)


@dataclass(frozen=True)
class TrailOverview:
    """What /compliance/audit shows when it (re)loads: the filter choices and the first page."""

    users: list[tuple[int, str]]
    actions: list[str]
    object_types: list[str]
    page: TrailPage


def trail_overview(session: Session, *, actor: Actor, filters: TrailFilter, locale: str,
                   limit: int = 50) -> TrailOverview:
    """The filter choices and the newest page for `filters`; admins (and the DPO)."""
    page = search(session, actor=actor, filters=filters, limit=limit)
    users = [(u.id, f"{u.name} · {u.email}") for u in session.exec(
        select(User).where(User.tenant_id == actor.tenant_id).order_by(User.name, User.id))]
    codes, types = filter_choices(locale)
    return TrailOverview(users, codes, types, page)


def export_csv(session: Session, *, actor: Actor, filters: TrailFilter, locale: str) -> str:
    """The filtered trail as one CSV text (up to 100 000 rows); the download is itself recorded."""
    text = "".join(csv_lines(session, actor=actor, filters=filters, locale=locale))
    reads.record_export(session, actor=actor, kind="audit_csv", filters=export_filters(check_filter(filters)))
    return text


def export_filters(f: TrailFilter) -> dict[str, Any]:
    """The filters as the export's read entry keeps them: codes, ids and instants; the IP (personal) only as a
    flag that one was given."""
    return {"actor_user_id": f.actor_user_id, "action": f.action, "target_type": f.target_type,
            "target_id": f.target_id, "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None, "ip": "given" if f.ip else None}
