"""Small shared pieces every page uses the same way: a page header, an empty state, a form row, a field error."""

from __future__ import annotations

import reflex as rx

from crm_app.state.session import SessionState

T = SessionState.t
STACK = rx.breakpoints(initial="column", sm="row")


def page_header(title, purpose=None, *actions: rx.Component, header_id: str | None = None) -> rx.Component:
    """The title, a one-line purpose under it, and the primary action(s) on the right (under it on phones).

    `title` and `purpose` are catalogue keys or vars (already translated); `purpose` may be a component.
    """
    title = T[title] if isinstance(title, str) else title
    lines = [rx.heading(title, size="4")]
    if isinstance(purpose, rx.Component):
        lines.append(purpose)
    elif purpose is not None:
        lines.append(rx.text(T[purpose] if isinstance(purpose, str) else purpose, size="2", color_scheme="gray"))
    return rx.flex(
        rx.vstack(*lines, spacing="1", flex="1", min_width="0"),
        *([rx.hstack(*actions, spacing="2", align="center", wrap="wrap")] if actions else []),
        direction=STACK, align=rx.breakpoints(initial="start", sm="center"), gap="12px", width="100%",
        id=header_id,
    )


def empty_state(icon: str, body, title=None, *actions: rx.Component, badge=None, empty_id: str | None = None,
                compact: bool = False) -> rx.Component:
    """What is missing and what to do first: an icon, an optional title, the next step and its button.

    `body` and `title` are catalogue keys or vars.
    """
    text = T[body] if isinstance(body, str) else body
    parts = [rx.center(rx.icon(icon, size=22 if compact else 28, color=rx.color("teal", 11)),
                       width="44px" if compact else "56px", height="44px" if compact else "56px",
                       border_radius="9999px", background=rx.color("teal", 3), flex_shrink="0")]
    if badge is not None:
        parts.append(rx.badge(badge, color_scheme="amber", variant="soft"))
    if title is not None:
        parts.append(rx.text(T[title] if isinstance(title, str) else title, size="3", weight="medium",
                             align="center"))
    parts.append(rx.text(text, size="2", align="center", color_scheme="gray", max_width="420px"))
    parts.extend(actions)
    return rx.vstack(*parts, align="center", spacing="2", padding="20px 12px" if compact else "32px 16px",
                     width="100%", id=empty_id)


def field_error(message: rx.Var, field_id: str) -> rx.Component:
    """An inline validation message, announced to screen readers."""
    return rx.cond(message != "", rx.text(message, size="1", color_scheme="red", id=field_id, role="alert"))


def form_row(label, control: rx.Component, field_id: str, error: rx.Var | None = None, hint=None,
             **props) -> rx.Component:
    """A label tied to its control, then the inline error (or the hint while there is none).

    `label` and `hint` are catalogue keys or vars; `field_id` is the control's id.
    """
    hint_text = None if hint is None else rx.text(T[hint] if isinstance(hint, str) else hint, size="1",
                                                  color_scheme="gray")
    if error is not None and hint_text is not None:
        below = rx.cond(error != "", field_error(error, f"{field_id}-error"), hint_text)
    elif error is not None:
        below = field_error(error, f"{field_id}-error")
    else:
        below = hint_text if hint_text is not None else rx.fragment()
    return rx.vstack(
        rx.text(T[label] if isinstance(label, str) else label, as_="label", size="2", weight="medium",
                html_for=field_id),
        control, below,
        spacing="1", width="100%", **props,
    )
