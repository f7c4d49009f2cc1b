"""The DPO's monthly report: a PDF of one month's privacy work, made by the scheduler and kept for download.

What a month holds (in the tenant's time zone): data-subject requests opened and answered, with their times;
consents granted and withdrawn per purpose and source; retention runs and what they removed; incidents; and
every verification of the audit chain. Made once per tenant and month (`dpo_reports` is unique on both), so a
job run twice, or by two workers, keeps one report. The PDF has no personal data: counts, ids and codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import insert_ignoring_conflicts, session_scope, utcnow
from crm_app.errors import NotFound
from crm_app.i18n import catalogue
from crm_app.integrations.storage import get_storage
from crm_app.models import AuditDetail, AuditLog, ConsentEvent, DpoReport, Incident, PrivacyRequest, Tenant
from crm_app.services.audit import reads
from crm_app.services.compliance.consent import PRIVACY_ROLES
from crm_app.services.core.actors import Actor, require_role

REPORT_KEY = "privacy/reports/{tenant_id}/{month}.pdf"


@dataclass
class MonthReport:
    """One month's figures, as the PDF prints them."""

    tenant_name: str
    month: dt.date
    requests: list[dict] = field(default_factory=list)  # id, kind, status, opened, due, answered, days
    consents: dict[tuple[str, bool], int] = field(default_factory=dict)  # (purpose, granted) -> count
    consent_sources: dict[str, int] = field(default_factory=dict)
    retention_runs: list[dict] = field(default_factory=list)  # at, policy, action, removed ({what: count})
    incidents: list[dict] = field(default_factory=list)  # id, detected, categories, affected, status, notified
    verifications: list[dict] = field(default_factory=list)  # at, ok, checked, problem


@dataclass(frozen=True)
class ReportRow:
    """A kept report, for the overview's list."""

    id: int
    month: dt.date
    size: int
    created_at: dt.datetime


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _bounds(month: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(month, dt.time(), zone)
    end = dt.datetime.combine(next_month(month), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def gather(session: Session, tenant_id: int, month: dt.date) -> MonthReport:
    """The month's figures for one tenant."""
    tenant = session.get(Tenant, tenant_id)
    zone = ZoneInfo(tenant.timezone)
    start, end = _bounds(month, tenant.timezone)
    report = MonthReport(tenant.name, month)

    def local(at: dt.datetime) -> str:
        return at.astimezone(zone).strftime("%d/%m/%Y %H:%M")

    opened_or_closed = sa.or_(PrivacyRequest.created_at.between(start, end),
                              PrivacyRequest.completed_at.between(start, end))
    for r in session.exec(select(PrivacyRequest).where(PrivacyRequest.tenant_id == tenant_id, opened_or_closed)
                          .order_by(PrivacyRequest.id)).all():
        days = (r.completed_at - r.created_at).total_seconds() / 86400 if r.completed_at else None
        report.requests.append({"id": r.id, "kind": r.kind, "status": r.status, "opened": local(r.created_at),
                                "due": r.due_on.strftime("%d/%m/%Y"),
                                "answered": local(r.completed_at) if r.completed_at else "—",
                                "days": f"{days:.1f}" if days is not None else "—"})
    for purpose, granted, source, count in session.exec(
            select(ConsentEvent.purpose, ConsentEvent.granted, ConsentEvent.source, sa.func.count())
            .where(ConsentEvent.tenant_id == tenant_id, ConsentEvent.created_at >= start,
                   ConsentEvent.created_at < end)
            .group_by(ConsentEvent.purpose, ConsentEvent.granted, ConsentEvent.source)).all():
        report.consents[(purpose, granted)] = report.consents.get((purpose, granted), 0) + count
        report.consent_sources[source] = report.consent_sources.get(source, 0) + count
    for at, action, target_id, after in _entries(session, tenant_id, start, end,
                                                 ("privacy.retention.run", "audit.verify")):
        if action == "privacy.retention.run":
            report.retention_runs.append({"at": local(at), "policy": target_id or "—",
                                          "action": after.get("action") or "—",
                                          "removed": dict(after.get("removed") or {})})
        else:
            report.verifications.append({"at": local(at), "ok": bool(after.get("ok")),
                                         "checked": after.get("checked") or 0, "problem": after.get("problem") or ""})
    for i in session.exec(select(Incident).where(Incident.tenant_id == tenant_id, Incident.detected_at >= start,
                                                 Incident.detected_at < end).order_by(Incident.id)).all():
        report.incidents.append({"id": i.id, "detected": local(i.detected_at), "status": i.status,
                                 "categories": list(i.data_categories or []),
                                 "affected": i.affected_count,
                                 "notified": local(i.anpd_notified_at) if i.anpd_notified_at else "—"})
    return report


def _entries(session: Session, tenant_id: int, start: dt.datetime, end: dt.datetime,
             actions: tuple[str, ...]) -> list[tuple[dt.datetime, str, str | None, dict]]:
    rows = session.exec(select(AuditLog.created_at, AuditLog.action, AuditLog.target_id, AuditDetail.after)
                        .join(AuditDetail, AuditDetail.digest == AuditLog.digest, isouter=True)
                        .where(AuditLog.tenant_id == tenant_id, AuditLog.action.in_(actions),
                               AuditLog.created_at >= start, AuditLog.created_at < end)
                        .order_by(AuditLog.id)).all()
    return [(at, action, target_id, after or {}) for at, action, target_id, after in rows]


def render_pdf(report: MonthReport, lang: str = "pt-BR") -> bytes:
    """The report as an A4 PDF (text left uncompressed, so what it says can be searched and checked)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    t = catalogue(lang)
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    month = report.month.strftime("%m/%Y")
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=t["dpo_report.title"].format(month=month),
                            author="Atende CRM", pageCompression=0, invariant=1)

    def table(header: list[str], rows: list[list]) -> Table | Paragraph:
        if not rows:
            return Paragraph(t["dpo_report.none"], styles["BodyText"])
        grid = Table([header] + [[str(c) for c in row] for row in rows], repeatRows=1, hAlign="LEFT")
        grid.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0d9488")),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white), ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd5e1")),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f5f9")])]))
        return grid

    def section(key: str) -> Paragraph:
        return Paragraph(t[key], styles["Heading2"])

    answered = [r for r in report.requests if r["days"] != "—"]
    average = (sum(float(r["days"]) for r in answered) / len(answered)) if answered else None
    comma = lang == "pt-BR"  # 2,3 dias in Portuguese, 2.3 days in English
    summary = t["dpo_report.summary"].format(
        requests=len(report.requests), answered=len(answered),
        average=_decimal(average, comma) if average is not None else "—",
        granted=sum(c for (_, g), c in report.consents.items() if g),
        withdrawn=sum(c for (_, g), c in report.consents.items() if not g),
        incidents=len(report.incidents), checks=len(report.verifications),
        broken=sum(not v["ok"] for v in report.verifications))
    story = [
        Paragraph(t["dpo_report.title"].format(month=month), styles["Title"]),
        Paragraph(report.tenant_name, styles["Heading3"]),
        Paragraph(summary, styles["BodyText"]), Spacer(1, 4 * mm),
        section("dpo_report.requests"),
        table([t[f"dpo_report.col.{c}"] for c in ("id", "kind", "status", "opened", "due", "answered", "days")],
              [[r["id"], t.get(f"compliance.kind.{r['kind']}", r["kind"]),
                t.get(f"compliance.status.{r['status']}", r["status"]), r["opened"], r["due"], r["answered"],
                _decimal(float(r["days"]), comma) if r["days"] != "—" else "—"] for r in report.requests]),
        section("dpo_report.consents"),
        table([t["dpo_report.col.purpose"], t["dpo_report.col.granted"], t["dpo_report.col.withdrawn"]],
              [[t.get(f"compliance.purpose.{p}", p), report.consents.get((p, True), 0),
                report.consents.get((p, False), 0)] for p in sorted({p for p, _ in report.consents})]),
        Spacer(1, 3 * mm),
        table([t["dpo_report.col.source"], t["dpo_report.col.count"]],
              [[t.get(f"compliance.source.{s}", s), n] for s, n in sorted(report.consent_sources.items())])
        if report.consent_sources else Spacer(1, 1),
        section("dpo_report.retention"),
        table([t["dpo_report.col.at"], t["dpo_report.col.policy"], t["dpo_report.col.action"],
               t["dpo_report.col.removed"]],
              [[r["at"], r["policy"], t.get(f"compliance.action.{r['action']}", r["action"]),
                ", ".join(f"{n} {t.get('compliance.report.' + k, k)}" for k, n in sorted(r["removed"].items())) or "0"]
               for r in report.retention_runs]),
        section("dpo_report.incidents"),
        table([t[f"dpo_report.col.{c}"] for c in ("id", "detected", "categories", "affected", "status", "notified")],
              [[i["id"], i["detected"], ", ".join(t.get(f"incidents.cat.{c}", c) for c in i["categories"]) or "—",
                i["affected"], t.get(f"incidents.status.{i['status']}", i["status"]), i["notified"]]
               for i in report.incidents]),
        section("dpo_report.verifications"),
        table([t["dpo_report.col.at"], t["dpo_report.col.result"], t["dpo_report.col.checked"]],
              [[v["at"], t["dpo_report.ok"] if v["ok"] else t["dpo_report.broken"].format(problem=v["problem"]),
                v["checked"]] for v in report.verifications]),
    ]
    doc.build(story)
    return buffer.getvalue()


def _decimal(value: float, comma: bool) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if comma else text


def generate(tenant_id: int, month: dt.date) -> int:
    """Make the tenant's report for `month` unless it exists; returns its id. Idempotent: the row is unique on
    (tenant, month) and its file has a fixed key, so a second run (or a second worker) keeps the first."""
    month = month_start(month)
    with session_scope() as session:
        existing = session.exec(select(DpoReport.id).where(DpoReport.tenant_id == tenant_id,
                                                           DpoReport.month == month)).first()
        if existing is not None:
            return existing
        tenant = session.get(Tenant, tenant_id)
        data = render_pdf(gather(session, tenant_id, month), tenant.locale if tenant.locale in ("pt-BR", "en")
                          else "pt-BR")
    key = REPORT_KEY.format(tenant_id=tenant_id, month=month.strftime("%Y-%m"))
    get_storage().put(key, data)
    with session_scope() as session:
        insert_ignoring_conflicts(session, DpoReport, {
            "tenant_id": tenant_id, "month": month, "storage_key": key, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data), "created_at": utcnow()}, ["tenant_id", "month"])
        return session.exec(select(DpoReport.id).where(DpoReport.tenant_id == tenant_id,
                                                       DpoReport.month == month)).one()


def generate_due_reports(now: dt.datetime | None = None) -> int:
    """Job: last month's report for every tenant that existed then and has none yet. Returns how many it made."""
    now = now or utcnow()
    with session_scope() as session:
        tenants = session.exec(select(Tenant.id, Tenant.timezone, Tenant.created_at)).all()
        done = set(session.exec(select(DpoReport.tenant_id, DpoReport.month)).all())
    made = 0
    for tenant_id, timezone, created_at in tenants:
        this_month = month_start(now.astimezone(ZoneInfo(timezone)).date())
        last_month = month_start(this_month - dt.timedelta(days=1))
        if (tenant_id, last_month) in done or created_at >= _bounds(this_month, timezone)[0]:
            continue
        generate(tenant_id, last_month)
        made += 1
    return made


def list_reports(session: Session, *, actor: Actor) -> list[ReportRow]:
    """The tenant's kept reports, newest month first."""
    require_role(actor, *PRIVACY_ROLES)
    rows = session.exec(select(DpoReport).where(DpoReport.tenant_id == actor.tenant_id)
                        .order_by(DpoReport.month.desc())).all()
    return [ReportRow(r.id, r.month, r.size, r.created_at) for r in rows]


def read_report(session: Session, *, actor: Actor, report_id: int) -> tuple[bytes, str]:
    """The PDF and its file name, for an admin or the DPO of its tenant; the download is recorded."""
    require_role(actor, *PRIVACY_ROLES)
    row = session.get(DpoReport, report_id)
    if row is None or row.tenant_id != actor.tenant_id:
        raise NotFound("report not found")
    data = get_storage().read(row.storage_key)
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise NotFound("the report's file does not match the one that was made; ask an operator to check the storage")
    reads.record_read(session, actor=actor, action="privacy.dpo_report.download", target_type="dpo_report",
                      target_id=row.id, details={"kind": "dpo_report", "month": row.month.strftime("%Y-%m")})
    return data, f"relatorio-dpo-{row.month.strftime('%Y-%m')}.pdf"
