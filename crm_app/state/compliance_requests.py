"""/compliance/requests: data-subject requests by due date, a form to record one, live job progress, downloads."""

from __future__ import annotations

import reflex as rx

from crm_app.errors import ValidationError
from crm_app.services import call, compliance
from crm_app.services.compliance import RequestRow
from crm_app.state.compliance import PRIVACY_ROLES, day
from crm_app.state.errors import toast_errors
from crm_app.state.progress import watch_while_running
from crm_app.state.session import SessionState, navigate

KINDS = ("access", "correction", "erasure", "consent_withdrawal")
WATCH_SECONDS = 1.5
WATCH_ROUNDS = 400  # ten minutes; the job goes on without the tab, and the next visit shows where it is


class RequestsState(SessionState):
    """The list as plain rows, the new-request form, and whether a job is being watched."""

    request_rows: list[dict[str, str]] = []
    requests_loaded: bool = False
    form_contact: str = ""
    form_kind: str = "access"
    form_error: str = ""
    watching: bool = False

    def _view(self, r: RequestRow) -> dict[str, str]:
        total = int(r.progress.get("total") or 0)
        done = int(r.progress.get("done") or 0)
        return {"id": str(r.id), "contact": r.contact_name or f"#{r.contact_id}", "contact_id": str(r.contact_id),
                "kind": r.kind, "kind_label": self.t[f"compliance.kind.{r.kind}"], "status": r.status,
                "status_label": self.t[f"compliance.status.{r.status}"], "due": day(r.due_on),
                "warn": "overdue" if r.overdue else ("soon" if r.due_soon else ""),
                "percent": str(int(100 * done / total) if total else (100 if r.status == "done" else 0)),
                "counts": f"{done}/{total}" if total else "", "error": r.error or "",
                "bundle": "1" if r.has_bundle else ""}

    def _reload(self) -> bool:
        rows = call(compliance.list_requests, actor=self._require(*PRIVACY_ROLES))
        self.request_rows = [self._view(r) for r in rows]
        self.requests_loaded = True
        return any(r.status == "in_progress" for r in rows)

    @rx.event
    @toast_errors
    def load_requests(self):
        """on_load: the tenant's requests (admins and the DPO only, checked here too); watch running jobs."""
        if self._reload():
            return RequestsState.watch_progress
        return None

    @rx.event
    def set_form_contact(self, value: str):
        self.form_contact, self.form_error = value.strip(), ""

    @rx.event
    def set_form_kind(self, value: str):
        self.form_kind = value if value in KINDS else "access"

    @rx.event
    @toast_errors
    def create_request(self):
        """Record the request; access and erasure start their job, which this tab then watches."""
        actor = self._require(*PRIVACY_ROLES)
        if not self.form_contact.isdigit():
            self.form_error = self.t["compliance.error.contact"]
            raise ValidationError(self.form_error, field="contact_id")
        call(compliance.create_request, actor=actor, contact_id=int(self.form_contact), kind=self.form_kind)
        self.form_contact = ""
        self._reload()
        return [rx.toast.success(self.t["compliance.request_created"]), RequestsState.watch_progress]

    @rx.event
    @toast_errors
    def close_request(self, request_id: str):
        """Close a manual request (a correction done on the contact) as done."""
        actor = self._require(*PRIVACY_ROLES)
        call(compliance.complete_request, actor=actor, request_id=int(request_id))
        self._reload()

    @rx.event
    @toast_errors
    def download(self, request_id: str):
        """A one-day link to the bundle, opened at once (the backend route checks the session again)."""
        actor = self._require(*PRIVACY_ROLES)
        token = call(compliance.create_download_link, actor=actor, request_id=int(request_id))
        return [rx.toast.info(self.t["compliance.link_ready"]), navigate(f"/api/privacy/bundles/{token}")]

    @rx.event(background=True)
    async def watch_progress(self):
        """Refresh the rows while a job runs (a live progress bar), for up to ten minutes."""
        await watch_while_running(self, rounds=WATCH_ROUNDS, seconds=WATCH_SECONDS)
