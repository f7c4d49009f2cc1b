"""/settings/sso: admins connect the tenant's OpenID Connect provider and map its groups to roles."""

import reflex as rx

from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import page_header
from crm_app.state.settings_sso import REFUSE, ROLES, SsoSettingsState

S = SsoSettingsState
T = S.t


def _label(key: str, html_for: str) -> rx.Component:
    return rx.text(T[key], as_="label", size="2", weight="medium", html_for=html_for)


def _error_for(name: str) -> rx.Component:
    return rx.cond((S.field == name) & (S.field_error != ""),
                   rx.text(S.field_error, size="1", color_scheme="red", id=f"sso-{name}-error", role="alert"))


def _input(name: str, key: str, value, on_change, **props) -> rx.Component:
    return rx.vstack(
        _label(key, f"sso-{name}"),
        rx.input(value=value, on_change=on_change, id=f"sso-{name}", width="100%", auto_complete="off",
                 spell_check=False, color_scheme=rx.cond(S.field == name, "red", "teal"), **props),
        _error_for(name),
        spacing="1", width="100%",
    )


def _copy_line(key: str, help_key: str, value, element_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[key], size="2", weight="medium"),
        rx.code(value, size="2", id=element_id, style={"word-break": "break-all"}),
        rx.text(T[help_key], size="1", color_scheme="gray"),
        spacing="1", width="100%",
    )


def _role_items() -> list[rx.Component]:
    return [rx.select.item(T[f"role.{role}"], value=role) for role in ROLES]


def _discovery_result() -> rx.Component:
    return rx.fragment(
        rx.cond(
            S.discovery_error != "",
            rx.callout(rx.text(T["sso.discovery_failed"], " ", S.discovery_error), icon="circle-x",
                       color_scheme="red", size="1", width="100%", id="sso-discovery-error", role="alert"),
        ),
        rx.cond(
            S.discovery_rows.length() > 0,
            rx.callout(
                rx.vstack(
                    rx.text(T["sso.discovery_ok"], weight="medium"),
                    rx.foreach(S.discovery_rows, lambda row: rx.flex(
                        rx.text(row["label"], size="1", color_scheme="gray", min_width="110px"),
                        rx.code(row["url"], size="1", style={"word-break": "break-all"}),
                        direction=rx.breakpoints(initial="column", sm="row"), gap="4px", width="100%")),
                    spacing="1", width="100%",
                ),
                icon="circle-check", color_scheme="green", size="1", width="100%", id="sso-discovery-ok",
            ),
        ),
    )


def _secret() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _label("sso.client_secret", "sso-client_secret"),
            rx.cond(S.secret_set,
                    rx.badge(T["sso.secret_set"], color_scheme="green", id="sso-secret-state"),
                    rx.badge(T["sso.secret_unset"], color_scheme="gray", id="sso-secret-state")),
            align="center", spacing="2",
        ),
        rx.input(value=S.secret_input, on_change=S.set_secret_input, id="sso-client_secret", type="password",
                 width="100%", auto_complete="new-password",
                 placeholder=rx.cond(S.secret_set, T["sso.secret_keep"], T["sso.secret_new"]),
                 color_scheme=rx.cond(S.field == "client_secret", "red", "teal")),
        _error_for("client_secret"),
        spacing="1", width="100%",
    )


def _provider_card() -> rx.Component:
    two_columns = rx.breakpoints(initial="1", md="2")
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(T["sso.section.provider"], size="3", flex="1"),
                rx.hstack(rx.switch(checked=S.sso_enabled, on_change=S.set_sso_enabled, id="sso-enabled"),
                          rx.text(T["sso.enabled"], as_="label", size="2", html_for="sso-enabled"),
                          align="center", spacing="2"),
                align="center", gap="12px", width="100%", wrap="wrap",
            ),
            rx.text(T["sso.enabled_help"], size="1", color_scheme="gray"),
            rx.vstack(
                _input("issuer", "sso.issuer", S.issuer, S.set_issuer, placeholder="https://login.example.com"),
                rx.text(T["sso.issuer_hint"], size="1", color_scheme="gray"),
                rx.button(rx.icon("radar", size=15), rx.cond(S.testing, T["sso.testing"], T["sso.test_discovery"]),
                          on_click=S.test_discovery, loading=S.testing, variant="soft", size="2", type="button",
                          id="sso-test-discovery"),
                _discovery_result(),
                spacing="2", width="100%",
            ),
            rx.grid(
                _input("client_id", "sso.client_id", S.client_id, S.set_client_id),
                _secret(),
                _input("scopes", "sso.scopes", S.scopes, S.set_scopes),
                rx.vstack(_input("groups_claim", "sso.groups_claim", S.groups_claim, S.set_groups_claim),
                          rx.text(T["sso.groups_claim_hint"], size="1", color_scheme="gray"), spacing="1",
                          width="100%"),
                columns=two_columns, gap="16px", width="100%",
            ),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _mapping_row(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.input(value=row["group"], on_change=lambda v: S.set_mapping_group(row["id"], v), placeholder="crm-admins",
                 aria_label=T["sso.group"], flex="2", min_width="0", class_name="sso-map-group",
                 spell_check=False),
        rx.box(
            rx.select.root(
                rx.select.trigger(aria_label=T["sso.role"], class_name="sso-map-role", width="100%"),
                rx.select.content(*_role_items()),
                value=row["role"], on_change=lambda v: S.set_mapping_role(row["id"], v),
            ),
            flex="1", min_width="0",
        ),
        rx.tooltip(rx.icon_button(rx.icon("trash-2", size=15), size="2", variant="soft", color_scheme="red",
                                  type="button", aria_label=T["sso.remove_mapping"], flex_shrink="0",
                                  on_click=S.remove_mapping(row["id"]), class_name="sso-map-remove"),
                   content=T["sso.remove_mapping"]),
        gap="8px", width="100%", align="center", class_name="sso-map-row",
    )


def _mapping_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["sso.section.mapping"], size="3"),
            rx.text(T["sso.mapping_help"], size="2", color_scheme="gray"),
            rx.hstack(rx.text(T["sso.group"], size="1", color_scheme="gray", flex="2"),
                      rx.text(T["sso.role"], size="1", color_scheme="gray", flex="1"), width="100%"),
            rx.cond(S.mappings.length() > 0, rx.vstack(rx.foreach(S.mappings, _mapping_row), spacing="2",
                                                       width="100%", id="sso-mappings"),
                    rx.text(T["sso.no_mapping"], size="2", color_scheme="gray", id="sso-no-mapping")),
            _error_for("group_roles"),
            rx.button(rx.icon("plus", size=15), T["sso.add_mapping"], on_click=S.add_mapping, variant="soft",
                      size="2", type="button", id="sso-add-mapping"),
            rx.separator(size="4"),
            rx.flex(
                rx.vstack(
                    rx.text(T["sso.default_role"], size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(id="sso-default-role", width="100%"),
                        rx.select.content(rx.select.item(T["sso.default_refuse"], value=REFUSE), *_role_items()),
                        value=S.default_role, on_change=S.set_default_role,
                    ),
                    spacing="1", flex="1", min_width="220px",
                ),
                rx.vstack(
                    rx.hstack(rx.switch(checked=S.auto_create, on_change=S.set_auto_create, id="sso-jit"),
                              rx.text(T["sso.jit"], as_="label", size="2", weight="medium", html_for="sso-jit"),
                              align="center", spacing="2"),
                    rx.text(T["sso.jit_help"], size="1", color_scheme="gray"),
                    spacing="1", flex="1", min_width="220px",
                ),
                gap="16px", width="100%", wrap="wrap",
            ),
            spacing="3", width="100%",
        ),
        width="100%",
    )


@app_page("/settings/sso", "Login único (SSO) · Atende CRM", on_load=[SsoSettingsState.load])
def settings_sso_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/sso",
        rx.vstack(
            settings_tabs("/settings/sso"),
            page_header("sso.title", "sso.help"),
            rx.cond(
                S.sso_loaded,
                rx.vstack(
                    rx.card(rx.grid(
                        _copy_line("sso.company_id", "sso.company_id_help", S.tenant_slug, "sso-tenant-slug"),
                        _copy_line("sso.redirect_uri", "sso.redirect_uri_help", S.redirect_uri, "sso-redirect-uri"),
                        columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%",
                    ), width="100%", variant="surface"),
                    _provider_card(),
                    _mapping_card(),
                    rx.hstack(rx.button(rx.icon("save", size=16), T["settings.save"], on_click=S.save,
                                        id="sso-save", size="3"),
                              justify="end", width="100%"),
                    spacing="3", width="100%",
                ),
                rx.skeleton(height="240px", width="100%"),
            ),
            spacing="3", width="100%", max_width="960px",
        ),
    )
