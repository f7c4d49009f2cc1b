"""/settings/security: the tenant's 2FA policy (which roles must use it), session timeouts and whether attendants
may edit any contact. Admins only."""

from __future__ import annotations

import reflex as rx

from crm_app.errors import CRMError
from crm_app.i18n import translate
from crm_app.services import access, call
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState

ROLES = ("admin",)
POLICY_ROLES = ("admin", "supervisor", "attendant")


class SecuritySettingsState(SessionState):
    """The form as plain values; the save checks role and ranges again in the service."""

    policy_loaded: bool = False
    require_admin: bool = False
    require_supervisor: bool = False
    require_attendant: bool = False
    idle_minutes: str = ""
    absolute_hours: str = ""
    default_idle: int = 30
    default_absolute: int = 12
    any_contact: bool = False
    policy_error: str = ""

    @rx.event
    @toast_errors
    def load(self):
        """Read the policy again (the role is checked here too, not only by the page guard)."""
        self._show(call(access.get_security_policy, actor=self._require(*ROLES)))
        self.policy_loaded = True
        return None

    def _show(self, policy: access.SecurityPolicy) -> None:
        roles = set(policy.require_2fa_roles)
        self.require_admin, self.require_supervisor, self.require_attendant = (
            "admin" in roles, "supervisor" in roles, "attendant" in roles)
        self.idle_minutes, self.absolute_hours = str(policy.idle_minutes), str(policy.absolute_hours)
        self.default_idle, self.default_absolute = policy.default_idle_minutes, policy.default_absolute_hours
        self.any_contact = policy.attendants_edit_any_contact
        self.policy_error = ""

    @rx.event
    def set_require(self, role: str, value: bool):
        if role in POLICY_ROLES:
            setattr(self, f"require_{role}", bool(value))

    @rx.event
    def set_any_contact(self, value: bool):
        self.any_contact = bool(value)

    @rx.event
    def set_idle_minutes(self, value: str):
        self.idle_minutes, self.policy_error = value, ""

    @rx.event
    def set_absolute_hours(self, value: str):
        self.absolute_hours, self.policy_error = value, ""

    @rx.event
    @toast_errors
    def save(self):
        """Write the policy; users of a newly required role are sent to enrol on their next page."""
        try:
            idle, absolute = int(self.idle_minutes), int(self.absolute_hours)
        except ValueError:
            self.policy_error = translate(self.lang, "error.policy_not_number")
            return None
        roles = [r for r in POLICY_ROLES if getattr(self, f"require_{r}")]
        try:
            policy = call(access.update_security_policy, actor=self._require(*ROLES), require_2fa_roles=roles,
                          idle_minutes=idle, absolute_hours=absolute, attendants_edit_any_contact=self.any_contact)
        except CRMError as exc:  # an out-of-range value is shown under the form, not as a toast
            self.policy_error = crm_error_text(self.lang, exc)
            return None
        self._show(policy)
        return rx.toast.success(translate(self.lang, "security.saved"))
