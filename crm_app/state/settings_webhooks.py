"""/settings/webhooks: the tenant's webhook endpoints (admins): add one (its secret shown once), Testar, rotate the
secret, turn on and off, remove; the chosen endpoint's delivery log with Reenviar, its health, and a replay."""

from __future__ import annotations

import datetime as dt

import reflex as rx

from crm_app.domain import webhooks as rules
from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call, webhooks
from crm_app.services.core.actors import Actor
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin",)
EVENT_TYPES = tuple(rules.EVENT_TYPES)
REPLAY_HOURS = ("1", "6", "24", "72")


class WebhooksSettingsState(ConfirmMixin, SessionState):
    """Endpoints and the log as rows of strings; the form as plain strings."""

    hooks_loaded: bool = False
    endpoint_rows: list[dict[str, str]] = []
    selected_id: str = ""
    delivery_rows: list[dict[str, str]] = []
    stats_text: str = ""
    form_url: str = ""
    form_description: str = ""
    form_types: list[str] = []
    form_timeout: str = "15"
    form_headers: str = ""  # one "Name: value" per line
    form_rate: str = ""  # requests a second; empty: no limit
    form_error: str = ""
    # A secret just made or rotated: shown once, until the admin closes it or the page loads again.
    new_secret: str = ""
    replay_hours: str = "24"

    @rx.event
    @toast_errors
    def load(self):
        """Read the endpoints and the chosen one's log again (the role is checked here too)."""
        self.endpoint_rows, self.delivery_rows = [], []
        actor = self._require(*ROLES)
        chosen = int(self.selected_id) if self.selected_id.isdigit() else None
        self._show(call(webhooks.webhooks_page, actor=actor, endpoint_id=chosen), actor)
        self.hooks_loaded = True
        return None

    def _show(self, page: webhooks.WebhooksPage, actor: Actor) -> None:
        self.endpoint_rows = [self._endpoint(e) for e in page.endpoints]
        self.selected_id = str(page.selected or "")
        self.delivery_rows = [self._delivery(d, actor) for d in page.deliveries]
        stats = page.stats
        if stats is None or not stats.attempts:
            self.stats_text = ""
        else:
            rate = f"{(stats.success_rate or 0) * 100:.1f}%"
            self.stats_text = (self.t["webhooks.stats"].replace("{attempts}", str(stats.attempts))
                               .replace("{rate}", rate).replace("{p95}", f"{stats.p95_ms or 0:.0f}"))

    def _endpoint(self, e: webhooks.EndpointView) -> dict[str, str]:
        types = ", ".join(e.event_types) if e.event_types else self.t["webhooks.all_types"]
        state = "on" if e.enabled else (e.disabled_reason or "off")
        limits = [self.t["webhooks.rate_shown"].replace("{rate}", str(e.rate_limit_per_second))
                  if e.rate_limit_per_second else "",
                  self.t["webhooks.headers_shown"].replace("{names}", ", ".join(e.headers)) if e.headers else ""]
        return {"id": str(e.id), "url": e.url, "description": e.description, "types": types, "state": state,
                "timeout": str(e.timeout_seconds), "limits": " · ".join(x for x in limits if x)}

    def _delivery(self, d: webhooks.DeliveryRow, actor: Actor) -> dict[str, str]:
        return {"id": str(d.id), "type": d.event_type, "msg_id": d.msg_id, "status": d.status,
                "attempts": str(d.attempts), "code": str(d.last_status_code or ""), "error": d.last_error or "",
                "created": format_local(d.created_at, actor.timezone)}

    @rx.event
    def set_form_url(self, value: str):
        self.form_url, self.form_error = value, ""

    @rx.event
    def set_form_description(self, value: str):
        self.form_description = value

    @rx.event
    def set_form_timeout(self, value: str):
        self.form_timeout, self.form_error = value, ""

    @rx.event
    def set_form_headers(self, value: str):
        self.form_headers, self.form_error = value, ""

    @rx.event
    def set_form_rate(self, value: str):
        self.form_rate, self.form_error = value, ""

    def _form_headers(self) -> dict[str, str] | None:
        """The headers text as a dict; None (and the form's error set) when a line is not `Name: value`."""
        headers: dict[str, str] = {}
        for number, line in enumerate(self.form_headers.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                self.form_error = self.t["webhooks.headers_bad"].replace("{line}", str(number))
                return None
            headers[name.strip()] = value.strip()
        return headers

    @rx.event
    def toggle_form_type(self, name: str):
        """Subscribe the new endpoint to a type, or not (none ticked: every type)."""
        if name in EVENT_TYPES:
            self.form_types = [t for t in self.form_types if t != name] if name in self.form_types \
                else [*self.form_types, name]

    @rx.event
    def set_replay_hours(self, value: str):
        self.replay_hours = value if value in REPLAY_HOURS else "24"

    @rx.event
    def hide_secret(self):
        self.new_secret = ""

    @rx.event
    def select(self, endpoint_id: str):
        """Show this endpoint's log (the load checks that it is the tenant's)."""
        self.selected_id = endpoint_id if endpoint_id.isdigit() else ""
        return WebhooksSettingsState.load

    @rx.event
    @toast_errors
    def create(self):
        """Add the endpoint; its secret is shown once above the list."""
        actor = self._require(*ROLES)
        timeout = int(self.form_timeout) if self.form_timeout.strip().isdigit() else 0
        headers = self._form_headers()
        if headers is None:
            return None
        rate_text = self.form_rate.strip()
        rate = None if not rate_text else int(rate_text) if rate_text.isdigit() else 0
        try:
            view, secret = call(webhooks.create_endpoint, actor=actor, url=self.form_url,
                                description=self.form_description, event_types=list(self.form_types),
                                headers=headers, timeout_seconds=timeout, rate_limit_per_second=rate)
        except ValidationError as exc:
            self.form_error = crm_error_text(self.lang, exc)
            return None
        self.form_url = self.form_description = self.form_headers = self.form_rate = ""
        self.form_types, self.new_secret, self.selected_id = [], secret, str(view.id)
        return [rx.toast.success(self.t["webhooks.created"]), WebhooksSettingsState.load]

    def _endpoint_id(self, endpoint_id: str) -> int | None:
        return int(endpoint_id) if endpoint_id.isdigit() else None

    @rx.event
    @toast_errors
    def send_test(self, endpoint_id: str):
        """Testar: a `ping` to this endpoint; the log shows how it went."""
        if (eid := self._endpoint_id(endpoint_id)) is None:
            return None
        call(webhooks.send_test, actor=self._require(*ROLES), endpoint_id=eid)
        self.selected_id = endpoint_id
        return [rx.toast.success(self.t["webhooks.test_sent"]), WebhooksSettingsState.load]

    @rx.event
    @toast_errors
    def rotate(self, endpoint_id: str):
        """A new secret, shown once; the old one still signs for 24 hours."""
        if (eid := self._endpoint_id(endpoint_id)) is None:
            return None
        _, self.new_secret = call(webhooks.rotate_secret, actor=self._require(*ROLES), endpoint_id=eid)
        return [rx.toast.success(self.t["webhooks.rotated"]), WebhooksSettingsState.load]

    @rx.event
    @toast_errors
    def set_enabled(self, endpoint_id: str, enabled: bool):
        """Turn an endpoint on (what waited is sent) or off."""
        if (eid := self._endpoint_id(endpoint_id)) is None:
            return None
        call(webhooks.update_endpoint, actor=self._require(*ROLES), endpoint_id=eid, enabled=bool(enabled))
        return WebhooksSettingsState.load

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Remove the endpoint the confirmation names, with its log."""
        endpoint_id = self._take_confirm()
        if not endpoint_id.isdigit():
            return None
        call(webhooks.delete_endpoint, actor=self._require(*ROLES), endpoint_id=int(endpoint_id))
        self.selected_id = ""
        return [rx.toast.success(self.t["webhooks.deleted"]), WebhooksSettingsState.load]

    @rx.event
    @toast_errors
    def resend(self, delivery_id: str):
        """Reenviar: one finished delivery again, with the same webhook-id."""
        if not delivery_id.isdigit():
            return None
        call(webhooks.resend_delivery, actor=self._require(*ROLES), delivery_id=int(delivery_id))
        return [rx.toast.success(self.t["webhooks.resent"]), WebhooksSettingsState.load]

    @rx.event
    @toast_errors
    def replay(self):
        """Send every event of the last hours again to the chosen endpoint."""
        if (eid := self._endpoint_id(self.selected_id)) is None:
            return None
        hours = int(self.replay_hours if self.replay_hours in REPLAY_HOURS else "24")
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
        count = call(webhooks.replay, actor=self._require(*ROLES), endpoint_id=eid, since=since)
        return [rx.toast.success(self.t["webhooks.replayed"].replace("{count}", str(count))),
                WebhooksSettingsState.load]
