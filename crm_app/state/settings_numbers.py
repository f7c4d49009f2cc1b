"""/settings/numbers: admins add, edit and verify the tenant's WhatsApp numbers.

Secrets are write-only: the form's secret fields start empty, an empty one keeps what is stored, and
nothing secret is ever put in a var (only the verify token's last characters, as a hint).
"""

from __future__ import annotations

import asyncio

import reflex as rx

from crm_app.domain.meta_errors import classify
from crm_app.domain.phone_numbers import QUALITY_RATINGS, parse_tier
from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call, channel
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

FIELDS = ("name", "display_number", "phone_number_id", "waba_id", "access_token", "app_secret", "verify_token",
          "graph_base_url")
SECRET_FIELDS = ("access_token", "app_secret", "verify_token")


def _empty_form() -> dict[str, str]:
    return dict.fromkeys(FIELDS, "")


class NumbersSettingsState(SessionState):
    """The numbers as plain rows, and one add/edit form (its secret fields are never filled from the server)."""

    numbers_loaded: bool = False
    number_rows: list[dict[str, str]] = []
    webhook_url: str = ""
    can_set_graph_url: bool = False
    form_open: bool = False
    editing_id: str = ""
    form: dict[str, str] = _empty_form()
    form_active: bool = True
    errors: dict[str, str] = {}
    verifying_id: str = ""

    @rx.event
    @toast_errors
    def load(self):
        """Read the numbers again; the admin role is checked in the service, not only by the page guard."""
        self.number_rows = []  # a failed load shows no stale rows
        actor = self._require("admin")
        page = call(channel.numbers_page, actor=actor)
        self.webhook_url, self.can_set_graph_url = page.webhook_url, actor.is_platform_operator
        self.number_rows = [self._row(n, actor.timezone) for n in page.numbers]
        self.numbers_loaded = True

    def _row(self, number: channel.NumberRow, timezone: str) -> dict[str, str]:
        quality = number.quality_rating if number.quality_rating in QUALITY_RATINGS else ""
        return {"id": str(number.id), "name": number.name, "display_number": number.display_number,
                "phone_number_id": number.phone_number_id, "waba_id": number.waba_id,
                "graph_base_url": number.graph_base_url, "active": "1" if number.is_active else "",
                "quality": quality,
                "quality_label": self.t[f"numbers.quality.{quality}" if quality else "numbers.quality.none"],
                "tier_label": self._tier_words(number.messaging_limit),
                "verify_state": "never" if number.last_verify_ok is None else "ok" if number.last_verify_ok
                else "error", "verify_text": self._verify_words(number, timezone),
                "token_hint": number.verify_token_hint}

    def _tier_words(self, tier: str | None) -> str:
        if not tier:
            return self.t["numbers.tier.none"]
        count = parse_tier(tier)
        if count is None:
            return self.t["numbers.tier.unknown"].format(tier=tier)
        if count == 0:
            return self.t["numbers.tier.unlimited"]
        sep = "." if self.lang == "pt-BR" else ","
        return self.t["numbers.tier.count"].format(count=f"{count:,}".replace(",", sep))

    def _verify_words(self, number: channel.NumberRow, timezone: str) -> str:
        if number.last_verify_ok is None or number.last_verified_at is None:
            return self.t["numbers.verify.never"]
        when = format_local(number.last_verified_at, timezone)
        if number.last_verify_ok:
            return self.t["numbers.verify.ok_at"].format(when=when, name=number.verified_name or "—")
        return self.t["numbers.verify.failed_at"].format(when=when, details=self._error_words(number))

    def _error_words(self, number: channel.NumberRow) -> str:
        """Meta's refusal in the user's language: 190 in our words, other codes from the Meta error table."""
        code, details = number.last_verify_error_code, number.last_verify_error or ""
        if code == 190:
            return self.t["numbers.verify.error_190"]
        if code is None:
            return self.t["numbers.verify.unreachable"].format(details=details)
        info = classify(code, None)
        reason = info.reason_pt if self.lang == "pt-BR" else info.reason_en
        return self.t["numbers.verify.error_code"].format(code=code, details=reason)

    @rx.event
    def open_new(self):
        self.editing_id, self.form, self.form_active, self.errors = "", _empty_form(), True, {}
        self.form_open = True

    @rx.event
    def open_edit(self, number_id: str):
        """Fill the form from the rows this tab already loaded (never a secret); saving re-checks everything."""
        row = next((r for r in self.number_rows if r["id"] == number_id), None)
        if row is None:
            return None
        self.form = {**_empty_form(), **{f: row[f] for f in FIELDS if f in row and f not in SECRET_FIELDS}}
        self.editing_id, self.form_active, self.errors = number_id, bool(row["active"]), {}
        self.form_open = True
        return None

    @rx.event
    def set_form_open(self, is_open: bool):
        """Closing the dialog forgets whatever was typed in the secret fields."""
        self.form_open = bool(is_open)
        if not is_open:
            self.form = _empty_form()

    @rx.event
    def set_field(self, name: str, value: str):
        if name in FIELDS:
            self.form = {**self.form, name: str(value)}
            self.errors = {k: v for k, v in self.errors.items() if k != name}

    @rx.event
    def set_form_active(self, value: bool):
        self.form_active = bool(value)

    @rx.event
    @toast_errors
    def save(self):
        """Create or edit the number; a bad field is shown under it, anything else as a toast."""
        actor = self._require("admin")
        number_id = int(self.editing_id) if self.editing_id.isdigit() else None
        form = channel.NumberForm(
            **{f: self.form.get(f, "") for f in FIELDS if f != "graph_base_url"}, is_active=self.form_active,
            graph_base_url=(self.form.get("graph_base_url") or None) if actor.is_platform_operator else None)
        try:
            call(channel.save_number, actor=actor, inbox_id=number_id, form=form)
        except ValidationError as exc:
            field, reason = str(exc.params.get("field", "")), str(exc.params.get("reason", "invalid"))
            if field not in FIELDS:
                return crm_error_toast(self.lang, exc)
            self.errors = {field: self.t.get(f"numbers.error.{field}.{reason}", exc.message)}
            return None
        self.form_open, self.form, self.errors = False, _empty_form(), {}
        return [rx.toast.success(self.t["numbers.saved"]), NumbersSettingsState.load]

    @rx.event
    @toast_errors
    async def verify(self, number_id: str):
        """Check the stored token against Graph now; show the verified name or Meta's refusal in words."""
        self.verifying_id = number_id
        yield
        try:
            actor = self._require("admin")
            number = await asyncio.to_thread(channel.verify_number, actor=actor,
                                             inbox_id=int(number_id) if number_id.isdigit() else 0)
        finally:  # the spinner stops whatever happened (@toast_errors shows the rest)
            self.verifying_id = ""
        if number.last_verify_ok:
            yield rx.toast.success(self.t["numbers.verify.ok_toast"].format(name=number.verified_name or "—"))
        else:
            yield rx.toast.error(self._error_words(number))
        yield NumbersSettingsState.load
