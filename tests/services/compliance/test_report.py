"""The DPO's monthly report: the month's figures, a real PDF kept once per tenant and month, made by the job for
last month, downloaded only by the tenant's admins and DPO (and the download recorded)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crm_app.db import utcnow
from crm_app.errors import NotFound, PermissionDenied
from crm_app.integrations.storage import get_storage
from crm_app.models import AuditLog, DpoReport
from crm_app.services.audit import incidents, verify
from crm_app.services.compliance import consent, create_request, report, retention
from crm_app.services.compliance.requests import complete
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


def _this_month() -> dt.date:
    return utcnow().astimezone(ZoneInfo("America/Sao_Paulo")).date().replace(day=1)


@pytest.fixture
def world(db):
    tenant = make_tenant(db)
    dpo, admin = make_user(db, tenant.id, "dpo"), make_user(db, tenant.id, "admin")
    box = make_inbox(db, tenant.id)
    first, second = (make_conversation(db, box.id, wa_id=w) for w in ("5511900000001", "5511900000002"))
    db.commit()
    consent.set_consent(db, actor=dpo, contact_id=first.contact_id, purpose="marketing", granted=True)
    consent.set_consent(db, actor=dpo, contact_id=second.contact_id, purpose="marketing", granted=False)
    consent.set_consent(db, actor=dpo, contact_id=second.contact_id, purpose="pesquisa", granted=True)
    request = create_request(db, actor=dpo, contact_id=first.contact_id, kind="correction")
    db.commit()
    complete(db, actor=dpo, request_id=request.id)
    incidents.record_incident(db, actor=admin, now=utcnow(), data=incidents.IncidentInput(
        title="Notebook perdido", detected_at=utcnow(), data_categories=["contact"], affected_count=12))
    policy = retention.create_policy(db, actor=dpo, action="message_bodies", days=365)
    db.commit()
    retention.apply_policy(policy.id)
    verify.verify_for_actor(db, actor=admin, now=utcnow())
    return {"tenant": tenant, "dpo": dpo, "admin": admin, "request": request.id, "policy": policy.id}


def test_the_month_is_gathered_and_printed_without_personal_data(db, world):
    month = _this_month()
    figures = report.gather(db, world["tenant"].id, month)
    assert [(r["id"], r["kind"], r["status"]) for r in figures.requests] == [(world["request"], "correction", "done")]
    assert figures.consents == {("marketing", True): 1, ("marketing", False): 1, ("pesquisa", True): 1}
    assert figures.consent_sources == {"admin": 3}
    assert [(r["policy"], r["removed"]) for r in figures.retention_runs] == [(str(world["policy"]), {"messages": 0})]
    assert [(i["categories"], i["affected"]) for i in figures.incidents] == [(["contact"], 12)]
    assert [v["ok"] for v in figures.verifications] == [True]
    pdf = report.render_pdf(figures)
    assert pdf.startswith(b"%PDF-")
    for words in (b"Pedidos de titulares", b"Consentimentos", b"Incidentes", b"Contato", b"Marketing"):
        assert words in pdf, words
    assert b"Notebook perdido" not in pdf  # an incident's title may name people: only categories and counts
    assert b"Cliente" not in pdf  # no contact names
    # The next month is empty, and says so.
    assert report.gather(db, world["tenant"].id, report.next_month(month)).requests == []


def test_made_once_per_tenant_and_month_by_the_job_for_last_month(db, world):
    month = _this_month()
    first = report.generate(world["tenant"].id, month)
    assert report.generate(world["tenant"].id, month) == first  # again: the same report
    row = db.get(DpoReport, first)
    assert get_storage().read(row.storage_key).startswith(b"%PDF-") and row.size > 1000
    other = make_tenant(db)
    next_month = report.next_month(month)
    # On the 2nd of next month: this month's reports (ours exists already, the other tenant's is made).
    made = report.generate_due_reports(now=dt.datetime.combine(next_month + dt.timedelta(days=1), dt.time(12),
                                                               dt.UTC))
    assert made == 1
    assert report.generate_due_reports(now=dt.datetime.combine(next_month + dt.timedelta(days=2), dt.time(12),
                                                               dt.UTC)) == 0
    assert {r.tenant_id for r in db.exec(select(DpoReport)).all()} == {world["tenant"].id, other.id}
    # A tenant created this month has no report for a month it did not live through.
    assert report.generate_due_reports(now=utcnow()) == 0


def test_downloaded_by_the_tenants_admins_and_dpo_only_and_recorded(db, world):
    report_id = report.generate(world["tenant"].id, _this_month())
    data, name = report.read_report(db, actor=world["dpo"], report_id=report_id)
    db.commit()
    assert data.startswith(b"%PDF-") and name.startswith("relatorio-dpo-")
    report.read_report(db, actor=world["dpo"], report_id=report_id)  # again within the hour: one read
    db.commit()
    recorded = db.exec(select(AuditLog).where(AuditLog.action == "privacy.dpo_report.download",
                                              AuditLog.target_id == str(report_id))).one()
    assert recorded.actor_user_id == world["dpo"].user_id and recorded.target_type == "dpo_report"
    assert recorded.after == {"kind": "dpo_report", "month": _this_month().strftime("%Y-%m")}
    assert [r.id for r in report.list_reports(db, actor=world["admin"])] == [report_id]
    with pytest.raises(PermissionDenied):
        report.read_report(db, actor=make_user(db, world["tenant"].id, "supervisor"), report_id=report_id)
    neighbour = make_user(db, make_tenant(db).id, "dpo")
    with pytest.raises(NotFound):
        report.read_report(db, actor=neighbour, report_id=report_id)
    assert report.list_reports(db, actor=neighbour) == []
