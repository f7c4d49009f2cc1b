"""/analytics/exports: the exports the user may see, with a live progress bar while a job runs, and their links.

The list reloads through the service (role and tenant checked each time); while a job runs, a background
event refreshes the rows every `WATCH_SECONDS` and Reflex pushes the changes over the tab's websocket, as on
/compliance/requests. Downloads go through `/api/exports/{id}`, which checks the session again and audits.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import reflex as rx

from crm_app.services import call, exports
from crm_app.state.errors import toast_errors
from crm_app.state.progress import watch_while_running
from crm_app.state.session import SessionState, navigate

WATCH_SECONDS = 1.0
WATCH_ROUNDS = 1800  # half an hour; the job goes on without the tab, and the next visit shows where it is
RUNNING = ("queued", "running")


class ExportsState(SessionState):
    """The export rows as plain strings, and whether a job is being watched."""

    export_rows: list[dict[str, str]] = []
    exports_loaded: bool = False
    watching: bool = False

    def _view(self, r: exports.ExportRow, tz: str) -> dict[str, str]:
        def local(moment) -> str:
            return moment.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M") if moment else ""

        percent = int(100 * r.rows_done / r.rows_total) if r.rows_total else (100 if r.status == "done" else 0)
        since, until = r.filters.get("since", ""), r.filters.get("until", "")
        return {"id": str(r.id), "kind": self.t[f"exports.kind.{r.kind}"], "format": r.format.upper(),
                "status": r.status, "status_label": self.t[f"exports.status.{r.status}"],
                "period": f"{since} – {until}", "percent": str(percent), "counts": f"{r.rows_done}/{r.rows_total}",
                "created": local(r.created_at), "expires": local(r.expires_at) if r.downloadable else "",
                "error": r.error or "", "url": f"/api/exports/{r.id}" if r.downloadable else ""}

    def _reload(self) -> bool:
        actor = self._require(*exports.EXPORTERS)
        rows = call(exports.list_exports, actor=actor)
        self.export_rows = [self._view(r, actor.timezone) for r in rows]
        self.exports_loaded = True
        return any(r.status in RUNNING for r in rows)

    @rx.event
    @toast_errors
    def load_exports(self):
        """on_load: the exports (executives, admins, supervisors; checked here too); watch running jobs."""
        if self._reload():
            return ExportsState.watch_progress
        return None

    @rx.event
    @toast_errors
    def download(self, export_id: str):
        """A full page load of the file's route (it checks the session, the role and the tenant again, and
        audits); client-side routing would never reach it."""
        self._require(*exports.EXPORTERS)
        if export_id.isdigit():
            return navigate(f"/api/exports/{export_id}")
        return None

    @rx.event(background=True)
    async def watch_progress(self):
        """Refresh the rows while a job runs (the live progress bar), for up to half an hour."""
        await watch_while_running(self, rounds=WATCH_ROUNDS, seconds=WATCH_SECONDS)
