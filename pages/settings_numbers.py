"""/settings/numbers: the tenant's WhatsApp numbers, their standing at Meta, and the webhook to paste there."""

import reflex as rx

from components.page import app_page
from components.settings_tabs import settings_tabs
from components.shell import shell
from components.ui import empty_state, field_error, page_header
from crm_app.state.settings_numbers import NumbersSettingsState

S = NumbersSettingsState
T = S.t
QUALITY_COLOURS = {"GREEN": "green", "YELLOW": "amber", "RED": "red", "UNKNOWN": "gray"}


def _quality_badge(row: rx.Var) -> rx.Component:
    icons = {"GREEN": "circle-check", "YELLOW": "triangle-alert", "RED": "octagon-alert", "UNKNOWN": "circle-help"}
    return rx.match(
        row["quality"],
        *[(q, rx.badge(rx.icon(icons[q], size=13), row["quality_label"], color_scheme=colour, variant="soft",
                       size="2", class_name="number-quality", data_quality=q))
          for q, colour in QUALITY_COLOURS.items()],
        rx.badge(row["quality_label"], color_scheme="gray", variant="outline", size="2", class_name="number-quality",
                 data_quality="none"),
    )


def _fact(label_key: str, value: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(T[label_key], size="1", color_scheme="gray"), value, spacing="1", min_width="0")


def _verify_line(row: rx.Var) -> rx.Component:
    return rx.match(
        row["verify_state"],
        ("ok", rx.callout(row["verify_text"], icon="circle-check", color_scheme="green", size="1", width="100%",
                          class_name="number-verify-result", data_state="ok")),
        ("error", rx.callout(row["verify_text"], icon="circle-x", color_scheme="red", size="1", width="100%",
                             class_name="number-verify-result", data_state="error", role="alert")),
        rx.text(row["verify_text"], size="2", color_scheme="gray", class_name="number-verify-result",
                data_state="never"),
    )


def _number_card(row: rx.Var) -> rx.Component:
    busy = S.verifying_id == row["id"]
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.hstack(rx.icon("phone", size=18, color=rx.color("teal", 11)),
                              rx.heading(row["display_number"], size="4", class_name="number-display"),
                              rx.cond(row["active"] != "",
                                      rx.badge(T["numbers.active"], color_scheme="green", variant="soft"),
                                      rx.badge(T["numbers.inactive"], color_scheme="gray", variant="soft")),
                              align="center", spacing="2", wrap="wrap"),
                    rx.text(row["name"], size="2", color_scheme="gray", class_name="number-name"),
                    spacing="1", flex="1", min_width="0",
                ),
                rx.hstack(
                    rx.button(rx.icon("shield-check", size=15), rx.cond(busy, T["numbers.verifying"],
                                                                        T["numbers.verify"]),
                              on_click=S.verify(row["id"]), loading=busy, disabled=S.verifying_id != "",
                              size="2", class_name="number-verify", type="button"),
                    rx.button(rx.icon("pencil", size=15), T["numbers.edit"], on_click=S.open_edit(row["id"]),
                              size="2", variant="soft", color_scheme="gray", class_name="number-edit",
                              type="button"),
                    spacing="2", wrap="wrap",
                ),
                direction=rx.breakpoints(initial="column", sm="row"), gap="12px", width="100%",
                align=rx.breakpoints(initial="start", sm="center"),
            ),
            rx.grid(
                _fact("numbers.quality", _quality_badge(row)),
                _fact("numbers.tier", rx.text(row["tier_label"], size="2", weight="medium", class_name="number-tier")),
                _fact("numbers.ids", rx.vstack(
                    rx.code("phone_number_id " + row["phone_number_id"].to(str), size="1",
                            class_name="number-pnid"),
                    rx.code("WABA " + row["waba_id"].to(str), size="1"), spacing="1")),
                _fact("numbers.verify_token_hint", rx.code(row["token_hint"], size="1")),
                columns=rx.breakpoints(initial="2", md="4"), gap="16px", width="100%",
            ),
            _verify_line(row),
            spacing="3", width="100%",
        ),
        width="100%", class_name="number-card", data_number_id=row["id"],
    )


def _webhook_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["numbers.webhook.title"], size="3"),
            rx.text(T["numbers.webhook.url"], size="2", weight="medium"),
            rx.flex(
                rx.code(S.webhook_url, size="2", id="webhook-url", style={"word-break": "break-all"}, flex="1"),
                rx.button(rx.icon("copy", size=15), T["numbers.webhook.copy"], variant="soft", size="2",
                          type="button", id="webhook-copy",
                          on_click=[rx.set_clipboard(S.webhook_url), rx.toast.success(T["numbers.webhook.copied"])]),
                gap="8px", align="center", width="100%", wrap="wrap",
            ),
            rx.text(T["numbers.webhook.help"], size="1", color_scheme="gray"),
            spacing="2", width="100%",
        ),
        width="100%", variant="surface",
    )


def _input(name: str, *, secret: bool = False, hint: str | None = None, **props) -> rx.Component:
    field_id = f"number-{name}"
    if secret:
        props["placeholder"] = rx.cond(S.editing_id != "", T["numbers.secret.keep"], T["numbers.secret.new"])
    below = field_error(S.errors.get(name, ""), f"{field_id}-error")
    if hint is not None:
        below = rx.cond(S.errors.get(name, "") != "", below, rx.text(T[hint], size="1", color_scheme="gray"))
    return rx.vstack(
        rx.text(T[f"numbers.field.{name}"], as_="label", size="2", weight="medium", html_for=field_id),
        rx.input(value=S.form[name], on_change=lambda v: S.set_field(name, v), id=field_id, width="100%",
                 type="password" if secret else "text", auto_complete="new-password" if secret else "off",
                 spell_check=False,
                 color_scheme=rx.cond(S.errors.get(name, "") != "", "red", "teal"), **props),
        below,
        spacing="1", width="100%",
    )


def _form_dialog() -> rx.Component:
    two = rx.breakpoints(initial="1", sm="2")
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.editing_id != "", T["numbers.edit_title"], T["numbers.new_title"])),
            rx.vstack(
                rx.grid(_input("display_number", placeholder="+55 11 4000-0001", max_length=32),
                        _input("name", max_length=120), columns=two, gap="12px", width="100%"),
                rx.grid(_input("phone_number_id", hint="numbers.hint.phone_number_id", input_mode="numeric",
                               max_length=30),
                        _input("waba_id", input_mode="numeric", max_length=30), columns=two, gap="12px",
                        width="100%"),
                _input("access_token", secret=True),
                rx.grid(_input("app_secret", secret=True), _input("verify_token", secret=True), columns=two,
                        gap="12px", width="100%"),
                rx.cond(S.can_set_graph_url,
                        _input("graph_base_url", hint="numbers.hint.graph_base_url",
                               placeholder="https://graph.facebook.com/v23.0")),
                rx.vstack(
                    rx.hstack(rx.switch(checked=S.form_active, on_change=S.set_form_active, id="number-active"),
                              rx.text(T["numbers.field.is_active"], as_="label", size="2", weight="medium",
                                      html_for="number-active"),
                              align="center", spacing="2"),
                    rx.text(T["numbers.hint.is_active"], size="1", color_scheme="gray"),
                    spacing="1", width="100%",
                ),
                rx.hstack(
                    rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray",
                                              type="button")),
                    rx.button(rx.icon("save", size=15), T["settings.save"], on_click=S.save, id="number-save",
                              type="button"),
                    justify="end", spacing="3", width="100%", margin_top="8px",
                ),
                spacing="3", width="100%",
            ),
            max_width="640px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


@app_page("/settings/numbers", "Números WhatsApp · Atende CRM", on_load=[NumbersSettingsState.load])
def settings_numbers_page() -> rx.Component:
    return shell(
        T["settings.title"], "/settings/numbers",
        rx.vstack(
            settings_tabs("/settings/numbers"),
            page_header("numbers.title", "numbers.help",
                        rx.button(rx.icon("plus", size=16), T["numbers.new"], on_click=S.open_new, id="number-new")),
            rx.cond(
                S.numbers_loaded,
                rx.vstack(
                    _webhook_card(),
                    rx.cond(S.number_rows.length() > 0,
                            rx.vstack(rx.foreach(S.number_rows, _number_card), spacing="3", width="100%",
                                      id="numbers-list"),
                            empty_state("phone", "numbers.empty", None,
                                        rx.button(rx.icon("plus", size=16), T["numbers.new"], on_click=S.open_new),
                                        empty_id="numbers-empty")),
                    spacing="3", width="100%",
                ),
                rx.skeleton(height="240px", width="100%"),
            ),
            _form_dialog(),
            spacing="3", width="100%", max_width="960px",
        ),
    )
