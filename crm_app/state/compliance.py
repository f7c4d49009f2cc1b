"""/compliance: the area's overview for admins and the DPO (requests, consents, retention, legal holds)."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.services import call, compliance
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState, navigate

PRIVACY_ROLES = ("admin", "dpo")
STATUSES = ("open", "in_progress", "done", "rejected", "failed")


def day(value) -> str:
    """A date as dd/mm/aaaa (pt-BR); the English UI reads the same digits."""
    return value.strftime("%d/%m/%Y")


class ComplianceState(SessionState):
    """The overview's cards, as plain strings."""

    status_counts: list[dict[str, str]] = []
    due_rows: list[dict[str, str]] = []
    consent_rows: list[dict[str, str]] = []
    policy_rows: list[dict[str, str]] = []
    hold_rows: list[dict[str, str]] = []
    report_rows: list[dict[str, str]] = []
    score: int = 0
    score_rows: list[dict[str, str]] = []
    overview_loaded: bool = False

    @rx.event
    @toast_errors
    def load_overview(self):
        """on_load: the overview; admins and the DPO only, checked here too."""
        actor = self._require(*PRIVACY_ROLES)
        view = call(compliance.overview, actor=actor)
        self.status_counts = [{"status": s, "label": self.t[f"compliance.status.{s}"],
                               "count": str(view.by_status.get(s, 0))} for s in STATUSES]
        self.due_rows = [{"id": str(r.id), "kind": self.t[f"compliance.kind.{r.kind}"], "name": r.contact_name or "—",
                          "due": day(r.due_on), "overdue": "1" if r.overdue else ""} for r in view.due_soon]
        self.consent_rows = [{"purpose": self.t[f"compliance.purpose.{p}"], "granted": str(c["granted"]),
                              "withdrawn": str(c["withdrawn"])} for p, c in view.consents.items()]
        self.policy_rows = [{"action": self.t[f"compliance.action.{p.action}"], "days": str(p.days),
                             "last_run": format_local(p.last_run_at, actor.timezone) if p.last_run_at
                             else self.t["compliance.never"],
                             "report": ", ".join(f"{v} {self.t['compliance.report.' + k]}"
                                                 for k, v in p.last_report.items())} for p in view.policies]
        self.hold_rows = [{"name": h.contact_name or f"#{h.contact_id}", "reason": h.reason,
                           "since": format_local(h.created_at, actor.timezone)} for h in view.holds]
        self._load_score(actor)
        self.report_rows = [{"id": str(r.id), "month": r.month.strftime("%m/%Y"),
                             "size": f"{max(r.size // 1024, 1)} KB"}
                            for r in call(compliance.list_reports, actor=actor)]
        self.overview_loaded = True

    @rx.event
    @toast_errors
    def download_report(self, report_id: str):
        """A full page load of the report's route (it checks the session cookie, the role and the tenant again)."""
        self._require(*PRIVACY_ROLES)
        if report_id.isdigit():
            return navigate(f"/api/privacy/reports/{report_id}")
        return None

    def _load_score(self, actor) -> None:
        score = call(compliance.compliance_score, actor=actor)
        self.score = score.value
        self.score_rows = [{"code": f.code, "href": f.href, "points": f"{f.points:.0f}/{f.weight}",
                            "level": "ok" if f.share >= 1 else "part" if f.share > 0 else "none",
                            "text": self._factor_text(f)} for f in score.factors]

    def _factor_text(self, factor) -> str:
        if factor.code == "audit_chain":
            return self.t[f"compliance.score.audit_chain.{factor.params['state']}"]
        return self.t[f"compliance.score.{factor.code}"].format(**factor.params)
