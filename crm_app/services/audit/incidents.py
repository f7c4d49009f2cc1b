"""The incident register: record an incident, see its ANPD (3 business days) and GDPR (72 h) clocks, draft the
notice in pt-BR and mark it notified. Admins (and the DPO once that role exists)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.domain.incidents import CATEGORIES, deadlines, draft_notice_pt
from crm_app.domain.timefmt import format_local
from crm_app.errors import NotFound, ValidationError
from crm_app.models import Incident, IncidentStatus, Tenant
from crm_app.services.audit.roles import READERS
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role
from crm_app.services.settings.calendar import tenant_calendar


@dataclass(frozen=True)
class IncidentInput:
    """What the form sends."""

    title: str
    detected_at: dt.datetime
    data_categories: list[str]
    affected_count: int
    description: str = ""
    measures: str = ""
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class IncidentRow:
    """One incident with its clocks at `now`."""

    id: int
    title: str
    status: str
    detected_at: dt.datetime
    occurred_at: dt.datetime | None
    data_categories: list[str]
    affected_count: int
    anpd_due: dt.datetime
    gdpr_due: dt.datetime
    anpd_left_hours: float
    gdpr_left_hours: float
    notified_at: dt.datetime | None
    notice: str
    timezone: str = "America/Sao_Paulo"  # the tenant's: the page shows the times in it


def _check(data: IncidentInput, now: dt.datetime) -> IncidentInput:
    title = (data.title or "").strip()
    if not 3 <= len(title) <= 200:
        raise ValidationError("the title needs 3 to 200 characters", field="title")
    if data.detected_at.tzinfo is None or data.detected_at > now + dt.timedelta(minutes=5):
        raise ValidationError("the detection time cannot be in the future", field="detected_at")
    if data.occurred_at is not None and data.occurred_at > data.detected_at:
        raise ValidationError("the incident cannot occur after it was detected", field="occurred_at")
    unknown = [c for c in data.data_categories if c not in CATEGORIES]
    if unknown or not data.data_categories:
        raise ValidationError("choose at least one known data category", field="data_categories")
    if not 0 <= int(data.affected_count) <= 10**9:
        raise ValidationError("the affected count must be 0 or more", field="affected_count")
    if len(data.description) > 4000 or len(data.measures) > 4000:
        raise ValidationError("the texts are limited to 4000 characters", field="description")
    return IncidentInput(title, data.detected_at, sorted(set(data.data_categories)), int(data.affected_count),
                         data.description.strip(), data.measures.strip(), data.occurred_at)


def record_incident(session: Session, *, actor: Actor, data: IncidentInput, now: dt.datetime) -> IncidentRow:
    """Register an incident; audited as `incident.create` (codes and counts only, no description)."""
    require_role(actor, *READERS)
    data = _check(data, now)
    row = Incident(tenant_id=actor.tenant_id, title=data.title, description=data.description,
                   occurred_at=data.occurred_at, detected_at=data.detected_at, data_categories=data.data_categories,
                   affected_count=data.affected_count, measures=data.measures, created_by_user_id=actor.user_id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="incident.create", target_type="incident",
                 target_id=row.id, after={"categories": data.data_categories, "affected": data.affected_count})
    return _row(session, actor, row, now)


def mark_notified(session: Session, *, actor: Actor, incident_id: int, now: dt.datetime) -> IncidentRow:
    """The notice went to the ANPD; idempotent. Audited as `incident.update`."""
    require_role(actor, *READERS)
    row = session.get(Incident, incident_id)
    if row is None or row.tenant_id != actor.tenant_id:
        raise NotFound("incident not found")
    if row.status == IncidentStatus.OPEN.value:
        row.status, row.anpd_notified_at, row.updated_at = IncidentStatus.NOTIFIED.value, now, now
        session.add(row)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="incident.update",
                     target_type="incident", target_id=row.id, before={"status": "open"},
                     after={"status": "notified"})
    return _row(session, actor, row, now)


def list_incidents(session: Session, *, actor: Actor, now: dt.datetime) -> list[IncidentRow]:
    """The tenant's incidents, newest detection first, with their clocks."""
    require_role(actor, *READERS)
    rows = session.exec(select(Incident).where(Incident.tenant_id == actor.tenant_id)
                        .order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(200)).all()
    return [_row(session, actor, r, now) for r in rows]


def _row(session: Session, actor: Actor, row: Incident, now: dt.datetime) -> IncidentRow:
    # The deadlines are the tenant's (its business days, its midnight), whoever looks at them and from where.
    tenant = session.get(Tenant, row.tenant_id)
    tz = (tenant.timezone if tenant else None) or "America/Sao_Paulo"
    clocks = deadlines(row.detected_at, timezone=tz, calendar=tenant_calendar(row.tenant_id, session=session),
                       now=now)
    notice = draft_notice_pt(
        tenant=tenant.name if tenant else "", title=row.title, description=row.description,
        occurred=format_local(row.occurred_at, tz) if row.occurred_at else "",
        detected=format_local(row.detected_at, tz),
        categories=list(row.data_categories or []), affected=row.affected_count, measures=row.measures,
        anpd_due=format_local(clocks.anpd_due, tz))
    return IncidentRow(row.id, row.title, row.status, row.detected_at, row.occurred_at,
                       list(row.data_categories or []), row.affected_count, clocks.anpd_due, clocks.gdpr_due,
                       clocks.anpd_left.total_seconds() / 3600, clocks.gdpr_left.total_seconds() / 3600,
                       row.anpd_notified_at, notice, tz)
