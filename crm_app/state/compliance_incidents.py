"""/compliance/incidents: the incident register with its two clocks and the draft notice."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import reflex as rx

from crm_app.domain.incidents import CATEGORIES
from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call
from crm_app.services.audit import incidents
from crm_app.services.audit.roles import READERS
from crm_app.services.core.actors import Actor
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState


class IncidentsState(SessionState):
    """The register as rows of strings, and the new-incident form."""

    rows: list[dict[str, str]] = []
    loaded: bool = False
    title: str = ""
    detected_day: str = ""
    detected_time: str = ""
    categories: list[str] = []
    affected: str = ""
    description: str = ""
    measures: str = ""
    form_error: str = ""
    notice: str = ""
    category_keys: list[str] = list(CATEGORIES)

    @rx.event
    @toast_errors
    def load(self):
        """The register, with each clock as of now; readers only, checked here too."""
        actor = self._require(*READERS)
        found = call(incidents.list_incidents, actor=actor, now=dt.datetime.now(dt.UTC))
        self.rows = [self._row(r, actor) for r in found]
        self.loaded = True
        return None

    @rx.event
    @toast_errors
    def record(self):
        """Register the incident from the form; a bad field is said inline."""
        actor = self._require(*READERS)
        try:
            data = self._input(actor)
            call(incidents.record_incident, actor=actor, data=data, now=dt.datetime.now(dt.UTC))
        except ValidationError as exc:
            self.form_error = crm_error_text(self.lang, exc)
            return None
        self.title = self.detected_day = self.detected_time = self.affected = self.description = self.measures = ""
        self.categories, self.form_error = [], ""
        return [IncidentsState.load, rx.toast.success(self.t["incidents.saved"])]

    @rx.event
    @toast_errors
    def notified(self, incident_id: str):
        """The notice went to the ANPD."""
        actor = self._require(*READERS)
        call(incidents.mark_notified, actor=actor, incident_id=int(incident_id), now=dt.datetime.now(dt.UTC))
        return IncidentsState.load

    def _input(self, actor: Actor) -> incidents.IncidentInput:
        try:
            day = dt.date.fromisoformat(self.detected_day)
            hour = dt.time.fromisoformat(self.detected_time or "00:00")
        except ValueError:
            raise ValidationError(self.t["incidents.error.when"], field="detected_at") from None
        detected = dt.datetime.combine(day, hour, tzinfo=ZoneInfo(actor.timezone or "America/Sao_Paulo"))
        if not self.affected.strip().isdigit():
            raise ValidationError(self.t["incidents.error.affected"], field="affected_count")
        return incidents.IncidentInput(title=self.title, detected_at=detected.astimezone(dt.UTC),
                                       data_categories=list(self.categories), affected_count=int(self.affected),
                                       description=self.description, measures=self.measures)

    def _row(self, r: incidents.IncidentRow, actor: Actor) -> dict[str, str]:
        tz = r.timezone
        return {"id": str(r.id), "title": r.title, "status": r.status,
                "detected": format_local(r.detected_at, tz), "anpd_due": format_local(r.anpd_due, tz),
                "gdpr_due": format_local(r.gdpr_due, tz), "anpd_left": self._left(r.anpd_left_hours),
                "gdpr_left": self._left(r.gdpr_left_hours),
                "anpd_late": "1" if r.anpd_left_hours < 0 and r.status == "open" else "",
                "gdpr_late": "1" if r.gdpr_left_hours < 0 and r.status == "open" else "",
                "affected": f"{r.affected_count:,}".replace(",", "."),
                "categories": ", ".join(self.t.get(f"incidents.cat.{c}", c) for c in r.data_categories),
                "notice": r.notice}

    def _left(self, hours: float) -> str:
        if hours < 0:
            return self.t["incidents.overdue"].format(hours=int(-hours))
        return self.t["incidents.left"].format(days=int(hours // 24), hours=int(hours % 24))

    @rx.event
    def show_notice(self, text: str):
        self.notice = text

    @rx.event
    def close_notice(self, _open: bool = False):
        self.notice = ""

    @rx.event
    def toggle_category(self, key: str, checked: bool):
        self.categories = sorted({*self.categories, key} if checked else set(self.categories) - {key})

    @rx.event
    def set_title(self, value: str):
        self.title = value

    @rx.event
    def set_detected_day(self, value: str):
        self.detected_day = value

    @rx.event
    def set_detected_time(self, value: str):
        self.detected_time = value

    @rx.event
    def set_affected(self, value: str):
        self.affected = value

    @rx.event
    def set_description(self, value: str):
        self.description = value

    @rx.event
    def set_measures(self, value: str):
        self.measures = value


