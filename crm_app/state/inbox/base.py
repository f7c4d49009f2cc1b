"""The inbox's shared base state: what every section of the page reads (the choices of its filters and dialogs).

Every handler of every inbox substate re-derives the actor from the session cookie
(`SessionState._require`); per-tab vars only say what the tab shows, never who the user is.
"""

from __future__ import annotations

import datetime as dt

import reflex as rx

from crm_app.i18n import translate
from crm_app.services import call, inbox
from crm_app.services.core.actors import Actor
from crm_app.state.session import SessionState

SUPERVISORS = ("admin", "supervisor")
READERS = ("admin", "supervisor", "attendant", "executive")  # who may open the inbox; executives only read it


def now() -> dt.datetime:
    """The current moment in UTC (the states' only clock)."""
    return dt.datetime.now(dt.UTC)


def as_options(options: list[inbox.Option]) -> list[dict[str, str]]:
    """Service options as the `{id, name}` string dicts the selects render."""
    return [{"id": str(o.id), "name": o.name} for o in options]


class InboxState(SessionState):
    """The base of the inbox substates: the filters' and dialogs' choices and the unread total."""

    team_options: list[dict[str, str]] = []
    label_options: list[dict[str, str]] = []
    inbox_options: list[dict[str, str]] = []
    user_options: list[dict[str, str]] = []
    unread_total: int = 0
    _tz: str = "America/Sao_Paulo"

    @rx.var(cache=True)
    def is_supervisor(self) -> bool:
        """Whether the user sees every conversation (the "all" tab): staff, and executives (read-only)."""
        return self.user_role in (*SUPERVISORS, "executive")

    @rx.var(cache=True)
    def read_only(self) -> bool:
        """Executives read the inbox and change nothing (cosmetic: the services refuse their writes)."""
        return self.user_role == "executive"

    @rx.var(cache=True)
    def page_title(self) -> str:
        """The browser tab's title, with my unread count in front."""
        base = translate(self.lang, "inbox.title") + " · " + translate(self.lang, "app.name")
        return f"({self.unread_total}) {base}" if self.unread_total else base

    def _load_options(self, actor: Actor) -> None:
        options = call(inbox.list_options, actor=actor)
        self.team_options = as_options(options.teams)
        self.label_options = [{"id": str(o.id), "name": o.name, "color": o.color} for o in options.labels]
        self.user_options = as_options(options.people)
        self.inbox_options = as_options(options.inboxes)
