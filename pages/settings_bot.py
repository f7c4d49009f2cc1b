"""/settings/bot: admins build each inbox's bot flow without code, validate it, publish it and try it."""

import reflex as rx

from components.flow_editor import (
    card,
    delete_dialog,
    flow_map,
    flow_settings,
    json_dialog,
    node_form,
    problems_panel,
    test_panel,
    versions_list,
)
from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from crm_app.state.settings_bot import BotSettingsState

S = BotSettingsState
T = S.t


def _status() -> rx.Component:
    return rx.flex(
        rx.cond(S.published_version != "",
                rx.badge(rx.icon("circle-check", size=12), T["editor.published_badge"] + " v" + S.published_version
                         + rx.cond(S.published_at != "", " · " + S.published_at, ""),
                         color_scheme="teal", size="2", id="flow-published"),
                rx.badge(T["editor.unpublished"], color_scheme="gray", size="2", id="flow-published")),
        rx.cond(S.dirty,
                rx.badge(rx.icon("pencil", size=12), T["editor.unsaved"], color_scheme="amber", size="2",
                         id="flow-dirty"),
                rx.cond(S.draft_info != "",
                        rx.text(T["editor.draft_saved_at"] + " " + S.draft_info, size="1", color_scheme="gray"))),
        gap="8px", align="center", wrap="wrap",
    )


def _toolbar() -> rx.Component:
    inbox_select = rx.select.root(
        rx.select.trigger(placeholder=T["editor.inbox"], id="flow-inbox", max_width="100%",
                          width=rx.breakpoints(initial="100%", sm="auto"), min_width=rx.breakpoints(sm="220px"),
                          style={"overflow": "hidden"}),
        rx.select.content(rx.foreach(S.inbox_options, lambda i: rx.select.item(i["name"], value=i["id"]))),
        value=S.inbox_id, on_change=S.pick_inbox,
    )
    actions = rx.flex(
        rx.button(rx.icon("braces", size=14), T["editor.json.open"], variant="ghost", color_scheme="gray",
                  on_click=S.open_json, id="flow-json-open"),
        rx.button(rx.icon("list-checks", size=14), T["editor.validate"], variant="soft", color_scheme="gray",
                  on_click=S.validate, id="flow-validate"),
        rx.button(rx.icon("save", size=14), T["editor.save"], variant="soft", on_click=S.save_draft,
                  id="flow-save"),
        rx.button(rx.icon("rocket", size=14), T["editor.publish"], on_click=S.publish, id="flow-publish"),
        gap="8px", wrap="wrap",
    )
    return card(rx.flex(
        rx.vstack(rx.flex(rx.text(T["editor.inbox"], size="2", weight="medium"), inbox_select,
                          direction=rx.breakpoints(initial="column", sm="row"),
                          align=rx.breakpoints(initial="start", sm="center"), gap="8px", width="100%"),
                  _status(), spacing="2", width=rx.breakpoints(initial="100%", md="auto")),
        rx.spacer(),
        actions,
        direction=rx.breakpoints(initial="column", md="row"), gap="12px", width="100%",
        align=rx.breakpoints(initial="start", md="center"),
    ))


def _details() -> rx.Component:
    return card(rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger(T["editor.tab.node"], value="node", id="tab-node"),
            rx.tabs.trigger(T["editor.tab.settings"], value="settings", id="tab-settings"),
            rx.tabs.trigger(T["editor.tab.versions"], value="versions", id="tab-versions"),
        ),
        rx.tabs.content(node_form(), value="node", padding_top="12px"),
        rx.tabs.content(flow_settings(), value="settings", padding_top="12px"),
        rx.tabs.content(versions_list(), value="versions", padding_top="12px"),
        default_value="node", width="100%",
    ))


def _editor() -> rx.Component:
    return rx.grid(
        rx.vstack(flow_map(), problems_panel(), _details(), spacing="3", width="100%", min_width="0"),
        rx.box(test_panel(), position=rx.breakpoints(initial="static", lg="sticky"), top="0", width="100%"),
        columns=rx.breakpoints(initial="1", lg="minmax(0, 1fr) 340px"), gap="12px", width="100%",
        align_items="start",
    )


@app_page("/settings/bot", "Bot · Atende CRM", on_load=[BotSettingsState.load])
def settings_bot_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/bot",
        rx.vstack(
            settings_tabs("/settings/bot"),
            rx.vstack(rx.heading(T["editor.title"], size="4"),
                      rx.text(T["editor.help"], size="2", color_scheme="gray"), spacing="1"),
            rx.cond(
                S.loaded,
                rx.cond(S.inbox_options.length() > 0, rx.vstack(_toolbar(), _editor(), spacing="3", width="100%"),
                        rx.callout(T["editor.no_inbox"], icon="inbox", id="flow-no-inbox", width="100%")),
                rx.skeleton(height="320px", width="100%"),
            ),
            delete_dialog(),
            json_dialog(),
            spacing="3", width="100%", max_width="1400px",
        ),
    )
