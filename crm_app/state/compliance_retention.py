"""/compliance/retention: the tenant's policies, what a run would remove now (dry run), adding and removing."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import call, compliance
from crm_app.state.compliance import PRIVACY_ROLES
from crm_app.state.errors import toast_errors
from crm_app.state.session import SessionState

ACTIONS = ("message_bodies", "anonymise_contacts", "purge_closed")


class RetentionState(SessionState):
    """Policies with their dry-run counts, and the new-policy form."""

    policy_rows: list[dict[str, str]] = []
    retention_loaded: bool = False
    new_action: str = "message_bodies"
    new_days: str = "365"
    days_error: str = ""

    def _reload(self) -> None:
        actor = self._require(*PRIVACY_ROLES)
        policies = call(compliance.list_policies, actor=actor)
        counts = call(compliance.dry_run, actor=actor)
        self.policy_rows = [{
            "id": str(p.id), "action": self.t[f"compliance.action.{p.action}"], "days": str(p.days),
            "would": ", ".join(f"{v} {self.t['compliance.report.' + k]}" for k, v in counts.get(p.id, {}).items()),
            "last_run": format_local(p.last_run_at, actor.timezone) if p.last_run_at else self.t["compliance.never"],
            "report": ", ".join(f"{v} {self.t['compliance.report.' + k]}" for k, v in p.last_report.items()),
        } for p in policies]
        self.retention_loaded = True

    @rx.event
    @toast_errors
    def load_retention(self):
        """on_load: the policies and what each would remove now (admins and the DPO only, checked here too)."""
        self._reload()

    @rx.event
    def set_new_action(self, value: str):
        self.new_action = value if value in ACTIONS else "message_bodies"

    @rx.event
    def set_new_days(self, value: str):
        self.new_days, self.days_error = value.strip(), ""

    @rx.event
    @toast_errors
    def add_policy(self):
        """Add a policy; 0 or a non-number is refused inline."""
        actor = self._require(*PRIVACY_ROLES)
        if not self.new_days.isdigit() or int(self.new_days) < 1:
            self.days_error = self.t["compliance.error.days"]
            raise ValidationError(self.days_error, field="days")
        call(compliance.create_policy, actor=actor, action=self.new_action, days=int(self.new_days))
        self._reload()

    @rx.event
    @toast_errors
    def remove_policy(self, policy_id: str):
        """Remove one policy of the tenant."""
        call(compliance.delete_policy, actor=self._require(*PRIVACY_ROLES), policy_id=int(policy_id))
        self._reload()
