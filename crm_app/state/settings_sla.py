"""/settings/sla: supervisors and admins keep the tenant's SLA policies (targets, business hours, conditions).

The form edits at most one number, team and label and one contact attribute per policy; a policy whose conditions
are richer (made over the API) keeps them as they are when saved here. The escalation chain and the warning lead are
shown, and changed over the API (`/api/v1/sla/policies`) for now.
"""

from __future__ import annotations

import reflex as rx

from crm_app.errors import ValidationError
from crm_app.services import call, sla
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin", "supervisor")
ANY = "any"  # the select's value for "no condition of this kind"
_KINDS = ("number", "team", "label")
_FORM_FIELDS = ("name", "first_response_minutes", "next_response_minutes", "resolution_minutes")


def _minutes_text(value: int | None) -> str:
    return "" if value is None else str(value)


def _fits_form(conditions: list[dict]) -> bool:
    """Whether the form can show these conditions: at most one of each kind."""
    kinds = [c["kind"] for c in conditions]
    return len(kinds) == len(set(kinds))


class SlaSettingsState(ConfirmMixin, SessionState):
    """The policies as rows of strings, the options of the selects, and the form as plain strings."""

    sla_loaded: bool = False
    policy_rows: list[dict[str, str]] = []
    number_options: list[dict[str, str]] = []
    team_options: list[dict[str, str]] = []
    label_options: list[dict[str, str]] = []
    form_open: bool = False
    editing_id: str = ""
    form_name: str = ""
    form_first: str = ""
    form_next: str = ""
    form_resolution: str = ""
    form_business_only: bool = True
    form_default: bool = False
    form_enabled: bool = True
    form_number: str = ANY
    form_team: str = ANY
    form_label: str = ANY
    form_attr_key: str = ""
    form_attr_value: str = ""
    form_conditions_kept: bool = False  # richer conditions than the form shows: saved unchanged
    form_error: str = ""
    _conditions: dict[str, list[dict]] = {}

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the policies and options again; the role is checked here too, not only by the page guard."""
        self.policy_rows = []
        actor = self._require(*ROLES)
        page = call(sla.policies_page, actor=actor)
        names = {("number", i): n for i, n in page.numbers} | {("team", i): n for i, n in page.teams} | \
            {("label", i): n for i, n in page.labels}
        self.policy_rows = [self._row(p, names) for p in page.policies]
        self._conditions = {str(p.id): p.conditions for p in page.policies}
        self.number_options = [{"id": str(i), "name": n} for i, n in page.numbers]
        self.team_options = [{"id": str(i), "name": n} for i, n in page.teams]
        self.label_options = [{"id": str(i), "name": n} for i, n in page.labels]
        self.sla_loaded = True
        return None

    def _row(self, p: sla.PolicyView, names: dict) -> dict[str, str]:
        t = self.t
        parts = []
        for c in p.conditions:
            kind, value = c["kind"], c["value"]
            if kind == "attribute":
                parts.append(f"{c['key']} = {value}")
            else:
                parts.append(f"{t['sla.kind.' + kind]}: {names.get((kind, value), value)}")
        targets = [f"{t['sla.short.' + key]} {minutes} min" for key, minutes in (
            ("first", p.first_response_minutes), ("next", p.next_response_minutes),
            ("resolution", p.resolution_minutes)) if minutes is not None]
        steps = ", ".join(t[f"sla.step.{s['action']}"] for s in p.escalation)
        return {"id": str(p.id), "name": p.name, "position": str(p.position),
                "targets": " · ".join(targets) or t["sla.no_targets"],
                "conditions": " · ".join(parts) or (t["sla.default_rule"] if p.is_default else t["sla.every"]),
                "clock": t["sla.business_hours"] if p.business_hours_only else t["sla.wall_clock"],
                "business": "yes" if p.business_hours_only else "",
                "default": "yes" if p.is_default else "", "enabled": "yes" if p.enabled else "",
                "first": _minutes_text(p.first_response_minutes), "next": _minutes_text(p.next_response_minutes),
                "resolution": _minutes_text(p.resolution_minutes), "escalation": steps,
                "warn": _minutes_text(p.warn_before_minutes)}

    @rx.event
    def open_new(self):
        """Start an empty form."""
        self._fill("", {}, [])

    @rx.event
    def open_edit(self, policy_id: str):
        """Fill the form from the row shown; the save checks the policy again on the server."""
        row = next((r for r in self.policy_rows if r["id"] == policy_id), None)
        if row is not None:
            self._fill(policy_id, row, self._conditions.get(policy_id, []))

    def _fill(self, policy_id: str, row: dict[str, str], conditions: list[dict]) -> None:
        self.editing_id, self.form_name = policy_id, row.get("name", "")
        self.form_first, self.form_next = row.get("first", ""), row.get("next", "")
        self.form_resolution = row.get("resolution", "")
        self.form_business_only = row.get("business", "yes") == "yes"
        self.form_default, self.form_enabled = row.get("default") == "yes", row.get("enabled", "yes") == "yes"
        self.form_conditions_kept = not _fits_form(conditions)
        by_kind = {c["kind"]: c for c in conditions}
        self.form_number, self.form_team, self.form_label = (
            str(by_kind[k]["value"]) if k in by_kind else ANY for k in _KINDS)
        attribute = by_kind.get("attribute", {})
        self.form_attr_key, self.form_attr_value = attribute.get("key", ""), attribute.get("value", "")
        self.form_error, self.form_open = "", True

    @rx.event
    def set_form_open(self, is_open: bool):
        self.form_open = is_open

    @rx.event
    def set_form_name(self, value: str):
        self.form_name, self.form_error = value, ""

    @rx.event
    def set_form_first(self, value: str):
        self.form_first, self.form_error = value, ""

    @rx.event
    def set_form_next(self, value: str):
        self.form_next, self.form_error = value, ""

    @rx.event
    def set_form_resolution(self, value: str):
        self.form_resolution, self.form_error = value, ""

    @rx.event
    def set_form_business_only(self, value: bool):
        self.form_business_only = bool(value)

    @rx.event
    def set_form_default(self, value: bool):
        self.form_default = bool(value)

    @rx.event
    def set_form_enabled(self, value: bool):
        self.form_enabled = bool(value)

    @rx.event
    def set_form_number(self, value: str):
        self.form_number, self.form_error = value, ""

    @rx.event
    def set_form_team(self, value: str):
        self.form_team, self.form_error = value, ""

    @rx.event
    def set_form_label(self, value: str):
        self.form_label, self.form_error = value, ""

    @rx.event
    def set_form_attr_key(self, value: str):
        self.form_attr_key, self.form_error = value, ""

    @rx.event
    def set_form_attr_value(self, value: str):
        self.form_attr_value, self.form_error = value, ""

    def _form_conditions(self) -> list[dict]:
        """The conditions the form shows; ids the user could not have picked are refused by the service."""
        conditions: list[dict] = []
        for kind, value in zip(_KINDS, (self.form_number, self.form_team, self.form_label), strict=True):
            if value != ANY:
                conditions.append({"kind": kind, "value": int(value) if value.isdigit() else -1})
        if self.form_attr_key.strip() or self.form_attr_value.strip():
            conditions.append({"kind": "attribute", "key": self.form_attr_key, "value": self.form_attr_value})
        return conditions

    def _form_values(self) -> dict:
        values = {"name": self.form_name, "first_response_minutes": self.form_first,
                  "next_response_minutes": self.form_next, "resolution_minutes": self.form_resolution,
                  "business_hours_only": self.form_business_only, "is_default": self.form_default,
                  "enabled": self.form_enabled}
        if not self.form_conditions_kept:
            values["conditions"] = self._form_conditions()
        return values

    @rx.event
    @toast_errors
    def save(self):
        """Create or update; a bad field is named in the form, anything else is a toast."""
        actor = self._require(*ROLES)
        try:
            if self.editing_id:
                call(sla.update_policy, actor=actor, policy_id=int(self.editing_id), **self._form_values())
            else:
                call(sla.create_policy, actor=actor, **self._form_values())
        except ValidationError as exc:
            field = str(exc.params.get("field", ""))
            if field in (*_FORM_FIELDS, "conditions"):
                self.form_error = self.t["sla.error." + field]
                return None
            return crm_error_toast(self.lang, exc)
        self.form_open = False
        return [rx.toast.success(self.t["sla.saved"]), SlaSettingsState.load]

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Delete the policy the confirmation names."""
        policy_id = self._take_confirm()
        if not policy_id:
            return None
        call(sla.delete_policy, actor=self._require(*ROLES), policy_id=int(policy_id))
        return [rx.toast.success(self.t["sla.deleted"]), SlaSettingsState.load]
