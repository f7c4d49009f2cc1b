"""The flow editor's use cases that read or write more than one thing, each in one transaction.

The editor page needs its inboxes and teams together, a flow together with its versions, and "save, then
publish" as one click; the single reads and writes stay in `services.bot.flows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from crm_app.domain import flows as flow_rules
from crm_app.services.bot.flows import FlowInvalid, FlowView, VersionRow, get_flow, list_versions, publish, save_draft
from crm_app.services.channel import numbers
from crm_app.services.core.actors import Actor
from crm_app.services.routing import teams as team_rows


@dataclass(frozen=True)
class EditorChoices:
    """The inboxes whose flows the admin may edit, and the teams a flow may hand off to."""

    inboxes: list[numbers.InboxRow]
    teams: list[team_rows.TeamRow]


@dataclass(frozen=True)
class FlowEditorView:
    """One inbox's draft and its published versions (newest first)."""

    flow: FlowView
    versions: list[VersionRow]


@dataclass(frozen=True)
class PublishOutcome:
    """A publish attempt: the new version, or the problems that refused it (the draft is saved either way)."""

    version: VersionRow | None
    problems: list[flow_rules.FlowProblem]


def editor_choices(session: Session, *, actor: Actor) -> EditorChoices:
    """The tenant's inboxes and teams, for the editor's inbox picker and team dropdowns."""
    return EditorChoices(numbers.list_inboxes(session, actor=actor), team_rows.list_teams(session, actor=actor))


def get_flow_editor(session: Session, *, actor: Actor, inbox_id: int) -> FlowEditorView:
    """The inbox's draft and versions.

    Raises:
        PermissionDenied: The actor is not an admin.
        NotFound: No such inbox in the actor's tenant.
    """
    return FlowEditorView(get_flow(session, actor=actor, inbox_id=inbox_id),
                          list_versions(session, actor=actor, inbox_id=inbox_id))


def save_and_publish(session: Session, *, actor: Actor, inbox_id: int, definition: dict[str, Any]) -> PublishOutcome:
    """Save the draft, then publish it; a draft with problems stays saved and its problems come back.

    Raises:
        ValidationError: `definition` is not a JSON object of at most 200 KB (nothing is saved).
    """
    save_draft(session, actor=actor, inbox_id=inbox_id, definition=definition)
    try:
        return PublishOutcome(publish(session, actor=actor, inbox_id=inbox_id), [])
    except FlowInvalid as exc:  # refused before it wrote anything: the saved draft still commits
        return PublishOutcome(None, exc.problems)
