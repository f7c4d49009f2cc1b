"""Exports as people and the API ask for them: request one, list them, read one, download its file.

Who may export: executives and admins (the tenant), supervisors (their teams); attendants may not (their own
figures are on /analytics/me). Who sees an export: the person who asked for it, and the tenant's executives and
admins; anyone else gets the same NotFound as for a missing export. A file is downloadable for `KEEP_HOURS`
after it is done, and every download is written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import BinaryIO

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain import exports as rules
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import Export, ExportStatus
from crm_app.services.analytics import criteria
from crm_app.services.core import audit, jobs
from crm_app.services.core.actors import Actor, require_role

EXPORTERS = ("admin", "executive", "supervisor")
WHOLE_TENANT = ("admin", "executive")
JOB = "run_export"
KEEP_HOURS = 24
LIST_LIMIT = 50
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ExportNotReady(CRMError):
    """The export is still running, or it failed: there is no file to download."""

    code = "export_not_ready"
    status = 409


class ExportExpired(CRMError):
    """The download link is older than `KEEP_HOURS`: the file is gone or about to be."""

    code = "export_expired"
    status = 410


@dataclass(frozen=True)
class ExportRow:
    """One export as the page and the API show it."""

    id: int
    kind: str
    format: str
    status: str
    filters: dict
    rows_done: int
    rows_total: int
    size: int
    error: str | None
    requested_by_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    expires_at: dt.datetime | None
    downloadable: bool


def _row(export: Export, now: dt.datetime) -> ExportRow:
    ready = export.status == ExportStatus.DONE and export.expires_at is not None and export.expires_at > now
    return ExportRow(export.id, export.kind, export.format, export.status, dict(export.filters), export.rows_done,
                     export.rows_total, export.size, export.error, export.requested_by_id, export.created_at,
                     export.done_at, export.expires_at, ready)


def filters_of(values: dict) -> criteria.Filters:
    """The analytics filters an export stored."""
    return criteria.Filters(dt.date.fromisoformat(values["since"]), dt.date.fromisoformat(values["until"]),
                           team_id=values.get("team_id"), inbox_id=values.get("inbox_id"),
                           label_id=values.get("label_id"), attendant_id=values.get("attendant_id"))


def create_export(session: Session, *, actor: Actor, kind: str, format: str, filters: criteria.Filters,
                  lang: str | None = None) -> ExportRow:
    """Record an export and queue its job (on `bulk`, after commit).

    Raises:
        PermissionDenied: An attendant (or any role that may not export).
        ValidationError: An unknown kind or format.
        NotFound: A filter naming another tenant's team, number, label or attendant.
    """
    require_role(actor, *EXPORTERS)
    if kind not in rules.KINDS:
        raise ValidationError("kind must be conversations or daily", field="kind")
    if format not in rules.FORMATS:
        raise ValidationError("format must be csv or xlsx", field="format")
    if filters.until < filters.since or (filters.until - filters.since).days >= criteria.MAX_DAYS:
        raise ValidationError(f"the range must run forward and cover at most {criteria.MAX_DAYS} days", field="until")
    criteria.check_filters(session, actor, filters)
    stored = {"since": filters.since.isoformat(), "until": filters.until.isoformat(), "team_id": filters.team_id,
              "inbox_id": filters.inbox_id, "label_id": filters.label_id, "attendant_id": filters.attendant_id}
    export = Export(tenant_id=actor.tenant_id, requested_by_id=actor.user_id, kind=kind, format=format,
                    lang="en" if (lang or actor.locale) == "en" else "pt-BR", filters=stored)
    session.add(export)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="export.create", target_type="export",
                 target_id=export.id, after={"kind": kind, "format": format, **stored})
    jobs.enqueue_after_commit(session, JOB, export.id)
    return _row(export, utcnow())


def _owned(session: Session, actor: Actor, export_id: int) -> Export:
    """The export if the actor may see it; the same NotFound for missing, another tenant's or someone else's."""
    require_role(actor, *EXPORTERS)
    export = session.get(Export, export_id)
    if (export is None or export.tenant_id != actor.tenant_id
            or (actor.role not in WHOLE_TENANT and export.requested_by_id != actor.user_id)):
        raise NotFound("export not found")
    return export


def get_export(session: Session, *, actor: Actor, export_id: int) -> ExportRow:
    """One export the actor may see."""
    return _row(_owned(session, actor, export_id), utcnow())


def list_exports(session: Session, *, actor: Actor) -> list[ExportRow]:
    """The newest exports the actor may see (theirs; the tenant's for executives and admins)."""
    require_role(actor, *EXPORTERS)
    query = select(Export).where(Export.tenant_id == actor.tenant_id)
    if actor.role not in WHOLE_TENANT:
        query = query.where(Export.requested_by_id == actor.user_id)
    now = utcnow()
    return [_row(e, now) for e in session.exec(query.order_by(Export.id.desc()).limit(LIST_LIMIT)).all()]


def open_download(session: Session, *, actor: Actor, export_id: int,
                  now: dt.datetime | None = None) -> tuple[BinaryIO, int, str, str]:
    """The file of a done export, open for streaming, and an audit entry for the download.

    Returns:
        (file, size, media type, file name); the caller closes the file.

    Raises:
        NotFound: Not the actor's to see.
        ExportNotReady: Not done yet, or failed (409).
        ExportExpired: Done more than `KEEP_HOURS` ago (410).
    """
    from crm_app.integrations.storage import get_storage

    export = _owned(session, actor, export_id)
    now = now or utcnow()
    if export.status != ExportStatus.DONE or export.file_key is None:
        raise ExportNotReady("the export is not ready" if export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
                       else "the export has no file: it failed or expired")
    if export.expires_at is None or export.expires_at <= now:
        raise ExportExpired("the export's link expired: exports are kept 24 hours, ask for a new one")
    try:
        handle = get_storage().reader(export.file_key)
    except FileNotFoundError as exc:
        raise ExportNotReady("the export has no file: it failed or expired") from exc
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="export.download", target_type="export",
                 target_id=export.id, after={"kind": export.kind, "format": export.format})
    name = f"{export.kind}-{export.filters['since']}-{export.filters['until']}-{export.id}.{export.format}"
    return handle, export.size, MEDIA_TYPES[export.format], name
