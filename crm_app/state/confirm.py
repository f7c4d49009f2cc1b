"""The state half of the shared confirm dialog (components/confirm.py): which row is being confirmed."""

from __future__ import annotations

import reflex as rx


class ConfirmMixin(rx.State, mixin=True):
    """Mix into a page state (before its base) to get one confirm dialog.

    The page opens it with `ask_confirm(id, label)` (or `ask_confirm_for(kind, id, label)`) and keeps its own
    action handler, which starts with `item_id = self._take_confirm()` and checks the actor and tenant itself:
    the id comes from the browser.
    `kind` tells two dialogs of one page apart; `expect` asks the user to type a name first.
    """

    confirm_id: str = ""
    confirm_label: str = ""
    confirm_kind: str = ""
    confirm_expect: str = ""
    confirm_typed: str = ""

    @rx.var
    def confirm_open(self) -> bool:
        """Whether the dialog is showing."""
        return self.confirm_id != ""

    @rx.var
    def confirm_ready(self) -> bool:
        """Whether the typed name matches (always, when none is asked for)."""
        return self.confirm_expect == "" or self.confirm_typed.strip() == self.confirm_expect

    def _open_confirm(self, item_id: str, label: str, kind: str = "", expect: str = "") -> None:
        """Show the dialog for one row."""
        self.confirm_id, self.confirm_label, self.confirm_kind = str(item_id), str(label), kind
        self.confirm_expect, self.confirm_typed = expect, ""

    def _take_confirm(self, kind: str = "") -> str:
        """Close the dialog; return its id if it was for `kind` and the typed name matched, else ""."""
        item_id = self.confirm_id if self.confirm_kind == kind and self.confirm_ready else ""
        self.confirm_id = self.confirm_label = self.confirm_kind = self.confirm_expect = self.confirm_typed = ""
        return item_id

    @rx.event
    def ask_confirm(self, item_id: str, label: str):
        """Open the dialog for one row (its label is only shown back to the same user)."""
        self._open_confirm(item_id, label)

    @rx.event
    def ask_confirm_for(self, kind: str, item_id: str, label: str):
        """Open one of the page's several dialogs (`kind`) for one row."""
        self._open_confirm(item_id, label, kind)

    @rx.event
    def cancel_confirm(self):
        """Close the dialog without acting."""
        self._take_confirm(self.confirm_kind)

    @rx.event
    def set_confirm_open(self, is_open: bool):
        """The dialog's own open/close (Esc, the Cancel button)."""
        if not is_open:
            self._take_confirm(self.confirm_kind)

    @rx.event
    def set_confirm_typed(self, value: str):
        """The name typed into a dialog that asks for one."""
        self.confirm_typed = value
