"""/settings/sso (admins edit the tenant's OIDC provider) and the "Entrar com SSO" part of the login page."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import reflex as rx

from crm_app.domain.urls import safe_next
from crm_app.errors import ValidationError
from crm_app.services import access, call
from crm_app.state.errors import crm_error_toast, toast_errors
from crm_app.state.session import SessionState, navigate

ROLES = ("admin", "supervisor", "attendant")
REFUSE = "refuse"  # the select's value for "no default role" (a Radix select item cannot be empty)
FIELDS = ("issuer", "client_id", "client_secret", "scopes", "groups_claim", "group_roles", "default_role")


class SsoSettingsState(SessionState):
    """The form as plain strings; the secret field is write-only (we only know whether one is stored)."""

    sso_loaded: bool = False
    sso_enabled: bool = False
    issuer: str = ""
    client_id: str = ""
    secret_input: str = ""
    secret_set: bool = False
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    mappings: list[dict[str, str]] = []
    default_role: str = REFUSE
    auto_create: bool = True
    redirect_uri: str = ""
    tenant_slug: str = ""
    field: str = ""  # the field whose error is shown
    field_error: str = ""
    discovery_rows: list[dict[str, str]] = []
    discovery_error: str = ""
    testing: bool = False
    saving: bool = False

    @rx.event
    @toast_errors
    def load(self):
        """Read the config again; the admin role is checked in the service, not only by the page guard."""
        self._show(call(access.get_config, actor=self._require("admin")))
        self.discovery_rows, self.discovery_error = [], ""
        self.sso_loaded = True
        return None

    def _show(self, view: access.SsoSettingsView) -> None:
        self.sso_enabled, self.issuer, self.client_id = view.enabled, view.issuer, view.client_id
        self.secret_set, self.secret_input = view.secret_set, ""
        self.scopes, self.groups_claim, self.auto_create = view.scopes, view.groups_claim, view.auto_create_users
        self.mappings = [{"id": uuid.uuid4().hex[:8], "group": g, "role": r} for g, r in view.group_roles]
        self.default_role = view.default_role or REFUSE
        self.redirect_uri, self.tenant_slug = view.redirect_uri, view.tenant_slug
        self.field = self.field_error = ""

    def _clear(self, name: str) -> None:
        if self.field == name:
            self.field = self.field_error = ""

    @rx.event
    def set_sso_enabled(self, value: bool):
        self.sso_enabled = bool(value)

    @rx.event
    def set_issuer(self, value: str):
        self.issuer = value
        self._clear("issuer")

    @rx.event
    def set_client_id(self, value: str):
        self.client_id = value
        self._clear("client_id")

    @rx.event
    def set_secret_input(self, value: str):
        self.secret_input = value
        self._clear("client_secret")

    @rx.event
    def set_scopes(self, value: str):
        self.scopes = value
        self._clear("scopes")

    @rx.event
    def set_groups_claim(self, value: str):
        self.groups_claim = value
        self._clear("groups_claim")

    @rx.event
    def set_default_role(self, value: str):
        self.default_role = value if value in ROLES else REFUSE

    @rx.event
    def set_auto_create(self, value: bool):
        self.auto_create = bool(value)

    @rx.event
    def add_mapping(self):
        self.mappings = [*self.mappings, {"id": uuid.uuid4().hex[:8], "group": "", "role": "attendant"}]

    @rx.event
    def remove_mapping(self, row_id: str):
        self.mappings = [m for m in self.mappings if m["id"] != row_id]
        self._clear("group_roles")

    @rx.event
    def set_mapping_group(self, row_id: str, value: str):
        self.mappings = [{**m, "group": value} if m["id"] == row_id else m for m in self.mappings]
        self._clear("group_roles")

    @rx.event
    def set_mapping_role(self, row_id: str, value: str):
        if value in ROLES:
            self.mappings = [{**m, "role": value} if m["id"] == row_id else m for m in self.mappings]

    @rx.event
    @toast_errors
    def save(self):
        """Store the config; a bad field is shown under it, anything else as a toast."""
        actor = self._require("admin")
        try:
            view = call(
                access.save_config, actor=actor, enabled=self.sso_enabled, issuer=self.issuer,
                client_id=self.client_id, client_secret=self.secret_input or None, scopes=self.scopes,
                groups_claim=self.groups_claim,
                group_roles={m["group"]: m["role"] for m in self.mappings if m["group"].strip()},
                default_role=None if self.default_role == REFUSE else self.default_role,
                auto_create_users=self.auto_create)
        except ValidationError as exc:
            name = str(exc.params.get("field", ""))
            if name in FIELDS:
                self.field, self.field_error = name, self.t[f"sso.field.{name}"]
                return None
            return crm_error_toast(self.lang, exc)
        self._show(view)
        return rx.toast.success(self.t["sso.saved"])

    @rx.event
    @toast_errors
    async def test_discovery(self):
        """Fetch the issuer's discovery document now and list its endpoints, or say why it failed."""
        self.testing, self.discovery_rows, self.discovery_error = True, [], ""
        yield
        try:
            actor = self._require("admin")
            found = await asyncio.to_thread(access.test_discovery, actor=actor, issuer=self.issuer)
        except ValidationError:
            self.field, self.field_error = "issuer", self.t["sso.field.issuer"]
            return
        except access.DiscoveryError as exc:
            self.discovery_error = exc.message
            return
        finally:  # the spinner stops whatever happened (@toast_errors shows anything else)
            self.testing = False
        pairs = [("issuer", found.issuer), ("authorization", found.authorization_endpoint),
                 ("token", found.token_endpoint), ("jwks", found.jwks_uri),
                 ("userinfo", found.userinfo_endpoint or "—")]
        self.discovery_rows = [{"label": self.t[f"sso.endpoint.{k}"], "url": v} for k, v in pairs]


class SsoLoginState(SessionState):
    """The login page's SSO part: ask for the company identifier, then a full page load to the start route."""

    sso_open: bool = False
    sso_error_key: str = ""
    last_tenant: str = rx.LocalStorage("", name="crm_sso_tenant")

    @rx.event
    def read_params(self):
        """Show why the last SSO attempt was refused (`/login?sso_error=<reason>`)."""
        reason = str(self.router.page.params.get("sso_error") or "")
        self.sso_error_key = f"sso.error.{reason}" if reason in access.SSO_REASONS else ""
        self.sso_open = bool(self.sso_error_key)  # after a refusal the company field is ready for a retry

    @rx.event
    def set_sso_open(self, value: bool):
        self.sso_open = bool(value)

    @rx.event
    def start(self, form_data: dict):
        """Go to `/api/auth/sso/start` for the typed company, keeping where the user wanted to go."""
        slug = str(form_data.get("tenant", "")).strip().lower()
        if not slug:
            self.sso_error_key = "sso.login.missing"
            return None
        self.last_tenant, self.sso_error_key = slug, ""
        next_path = safe_next(str(self.router.page.params.get("next") or "/"))
        proof = access.browser_proof(self._browser())
        if proof is None:  # no pre-login cookie yet (it comes with the page): load the page, then try again
            return navigate(f"/login?next={quote(next_path)}")
        return navigate(f"/api/auth/sso/start?tenant={quote(slug)}&next={quote(next_path)}&browser={proof}")
