"""/platform/tenants: platform operators create, suspend and reactivate tenants.

The page's PAGE_ROLES entry lets admins in; `guard` then sends anyone who is not a platform operator to the
access-denied page, and every handler asks the service again (`access.require_operator`).
"""

from __future__ import annotations

import re
import unicodedata

import reflex as rx

from crm_app.domain.timefmt import format_local
from crm_app.errors import Conflict, ValidationError
from crm_app.services import access, call
from crm_app.services.core.actors import Actor
from crm_app.state.confirm import ConfirmMixin
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState

_FIELDS = {"name": ("t_name_error", "admin.error.name"), "slug": ("t_slug_error", "admin.platform.error.slug"),
           "admin_name": ("t_admin_name_error", "admin.error.name"),
           "admin_email": ("t_admin_email_error", "admin.error.email")}
_TAKEN = {"slug": ("t_slug_error", "admin.platform.error.slug_taken"),
          "admin_email": ("t_admin_email_error", "admin.error.email_taken")}


def suggest_slug(name: str) -> str:
    """"Pousada São João" -> "pousada-sao-joao": a starting point the operator may edit."""
    folded = unicodedata.normalize("NFKD", name.lower())
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:60].strip("-")


class PlatformNavState(SessionState):
    """Whether the rail shows the platform link; asked when the shell mounts, re-derived from the cookie."""

    is_operator: bool = False

    @rx.event
    def refresh(self):
        actor = self._actor()
        self.is_operator = bool(actor and actor.is_platform_operator and actor.role == "admin")


class PlatformTenantsState(ConfirmMixin, SessionState):
    """The tenant list, the create dialog, the typed suspend confirmation and the first admin's link."""

    tenant_rows: list[dict[str, str]] = []
    tenants_loaded: bool = False
    form_open: bool = False
    t_name: str = ""
    t_slug: str = ""
    slug_touched: bool = False
    t_admin_name: str = ""
    t_admin_email: str = ""
    t_name_error: str = ""
    t_slug_error: str = ""
    t_admin_name_error: str = ""
    t_admin_email_error: str = ""
    link_url: str = ""
    link_body: str = ""

    @rx.var(cache=True)
    def link_open(self) -> bool:
        return self.link_url != ""

    def _operator(self) -> Actor:
        return access.require_operator(self._require("admin"))

    @rx.event
    def guard(self):
        """on_load, after the role guard: admins who are not platform operators get the access-denied page."""
        actor = self._actor()
        if actor is None:
            return None  # the role guard before this one already sent them to the login page
        if not (actor.is_platform_operator and actor.role == "admin"):
            self.tenant_rows, self.tenants_loaded = [], False
            return rx.redirect("/denied")
        self.form_open, self.link_url = False, ""
        self._take_confirm(self.confirm_kind)
        return PlatformTenantsState.load

    @rx.event
    @toast_errors
    def load(self):
        """Fetch the list again; the service checks the operator flag too."""
        self.tenant_rows = []  # a failed load shows no stale rows
        actor = self._operator()
        rows = call(access.list_tenants, actor=actor)
        self.tenant_rows = [self._row(r, actor) for r in rows]
        self.tenants_loaded = True
        return None

    def _row(self, row: access.TenantAdminRow, actor: Actor) -> dict[str, str]:
        since = format_local(row.suspended_at, actor.timezone) if row.suspended_at else ""
        users_label = self.t["admin.platform.users_one"] if row.users_count == 1 else \
            self.t["admin.platform.users_many"].replace("{count}", str(row.users_count))
        return {"id": str(row.id), "name": row.name, "slug": row.slug, "users": str(row.users_count),
                "users_label": users_label,
                "status": "active" if row.is_active else "suspended", "is_own": "1" if row.is_own else "",
                "since": self.t["admin.platform.suspended_since"].replace("{date}", since) if since else "",
                "created": format_local(row.created_at, actor.timezone)}

    @rx.event
    def open_new(self):
        self.t_name = self.t_slug = self.t_admin_name = self.t_admin_email = ""
        self.slug_touched = False
        self.t_name_error = self.t_slug_error = self.t_admin_name_error = self.t_admin_email_error = ""
        self.form_open = True

    @rx.event
    def set_form_open(self, is_open: bool):
        self.form_open = is_open

    @rx.event
    def set_t_name(self, value: str):
        self.t_name, self.t_name_error = value, ""
        if not self.slug_touched:
            self.t_slug, self.t_slug_error = suggest_slug(value), ""

    @rx.event
    def set_t_slug(self, value: str):
        self.t_slug, self.t_slug_error, self.slug_touched = value, "", True

    @rx.event
    def set_t_admin_name(self, value: str):
        self.t_admin_name, self.t_admin_name_error = value, ""

    @rx.event
    def set_t_admin_email(self, value: str):
        self.t_admin_email, self.t_admin_email_error = value, ""

    @rx.event
    @toast_errors
    def create_tenant(self):
        """Create the tenant and its first admin, then show the admin's invite link once."""
        actor = self._operator()
        try:
            row, token = call(access.create_tenant, actor=actor, name=self.t_name, slug=self.t_slug,
                              admin_name=self.t_admin_name, admin_email=self.t_admin_email)
        except (ValidationError, Conflict) as exc:
            return self._show_field_error(exc)
        self.form_open = False
        self.link_url = access.link_url(token)
        body = self.t["mail.link.emailed" if row.link_emailed else "mail.link.not_emailed"]
        self.link_body = body.replace("{name}", self.t_admin_name.strip()).replace(
            "{email}", self.t_admin_email.strip().lower())
        return [rx.toast.success(self.t["admin.platform.created"]), PlatformTenantsState.load]

    def _show_field_error(self, exc: ValidationError | Conflict):
        field = str(exc.params.get("field", ""))
        table = _TAKEN if isinstance(exc, Conflict) else _FIELDS
        if field not in table:
            return crm_error_toast(self.lang, exc)
        attr, key = table[field]
        setattr(self, attr, self.t[key])
        return None

    @rx.event
    def close_link(self):
        self.link_url = self.link_body = ""

    @rx.event
    def set_link_open(self, is_open: bool):
        if not is_open:
            self.link_url = self.link_body = ""

    @rx.event
    def ask_suspend(self, tenant_id: str):
        """Open the typed confirmation: the slug to type comes from the list, not from the browser."""
        row = next((r for r in self.tenant_rows if r["id"] == tenant_id), None)
        if row:
            self._open_confirm(tenant_id, row["name"], "suspend", expect=row["slug"])

    @rx.event
    @toast_errors
    def confirm_suspend(self):
        """Suspend the tenant the confirmation names, once its slug has been typed."""
        ready = self.confirm_expect != ""
        tenant_id = self._take_confirm("suspend")  # "" unless the typed slug matched
        if not ready or not tenant_id.isdigit():
            return None
        revoked = call(access.suspend_tenant, actor=self._operator(), tenant_id=int(tenant_id))
        message = self.t["admin.platform.suspended_toast"].replace("{count}", str(revoked))
        return [rx.toast.success(message), PlatformTenantsState.load]

    @rx.event
    @toast_errors
    def reactivate(self, tenant_id: str):
        """Reactivation is harmless, so it needs no confirmation."""
        if not tenant_id.isdigit():
            return None
        call(access.reactivate_tenant, actor=self._operator(), tenant_id=int(tenant_id))
        return [rx.toast.success(self.t["admin.platform.reactivated"]), PlatformTenantsState.load]
