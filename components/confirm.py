"""The shared confirm dialog for destructive actions; its state is crm_app/state/confirm.py's ConfirmMixin."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t


def confirm_dialog(state, *, title, body, action, on_confirm, action_id: str, kind: str = "",
                   label_as_code: bool = False, show_label: bool = True, color: str = "red",
                   type_prompt=None, type_id: str = "") -> rx.Component:
    """An alert dialog: the title, the row's label, what will happen, Cancel and the action.

    Args:
        state: a state class that mixes in ConfirmMixin.
        title, body, action: catalogue keys or vars (already translated).
        on_confirm: the state's own handler; it calls `_take_confirm(kind)`.
        action_id: the id of the action button (for tests).
        kind: which of the page's dialogs this is, when it has more than one.
        label_as_code: show the label as code (a shortcut, a node id).
        show_label: show the label under the title (off when the title already names it).
        color: the action's colour: red for destroying, amber for reversible.
        type_prompt: when given (already naming the expected text), the user types `state.confirm_expect`
            before the action is enabled.
        type_id: the id of that input.
    """
    def text(value):
        return T[value] if isinstance(value, str) else value

    label = rx.code(state.confirm_label, size="2") if label_as_code else rx.text(state.confirm_label,
                                                                                  weight="bold", size="2")
    parts = [label] if show_label else []
    parts.append(rx.text(text(body), size="2"))
    if type_prompt is not None:
        parts += [rx.text(text(type_prompt), size="2", as_="label", html_for=type_id, margin_top="8px"),
                  rx.input(value=state.confirm_typed, on_change=state.set_confirm_typed, id=type_id,
                           auto_complete="off", width="100%", placeholder=state.confirm_expect)]
    is_open = state.confirm_open if not kind else state.confirm_open & (state.confirm_kind == kind)
    action_button = rx.button(text(action), color_scheme=color, on_click=on_confirm, id=action_id,
                              disabled=~state.confirm_ready if type_prompt is not None else False)
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(text(title)),
            rx.alert_dialog.description(rx.vstack(*parts, spacing="2")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(action_button),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=is_open, on_open_change=state.set_confirm_open,
    )
