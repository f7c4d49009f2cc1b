"""What the inbox's filters and dialogs offer: teams, labels, WhatsApp numbers and people to hand a conversation to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.models import Inbox, Label, Team
from crm_app.services.access import users
from crm_app.services.channel import numbers
from crm_app.services.conversations import labels
from crm_app.services.conversations.access import is_staff
from crm_app.services.core.actors import Actor
from crm_app.services.routing import presence, teams

HANDLING_ROLES = ("attendant", "supervisor", "admin")


@dataclass(frozen=True)
class Option:
    """One choice of a filter or a dialog; `color` is set for labels only."""

    id: int
    name: str
    color: str = ""


@dataclass(frozen=True)
class InboxOptions:
    """The inbox's choices for one reader: staff may hand to any active colleague, attendants to those online."""

    teams: list[Option]
    labels: list[Option]
    people: list[Option]
    inboxes: list[Option]


def list_options(session: Session, *, actor: Actor) -> InboxOptions:
    """The teams, labels, colleagues (never the actor) and WhatsApp numbers the inbox offers the actor.

    Args:
        session: The caller's session.
        actor: The reader.

    Returns:
        The options, each list in its service's order.
    """
    if actor.role == "executive":
        return _read_only_options(session, actor)
    if is_staff(actor):
        people = [Option(u.id, u.name) for u in users.list_users(session, actor=actor)
                  if u.is_active and u.role in HANDLING_ROLES]
    else:
        people = [Option(int(u["id"]), str(u["name"])) for u in presence.online_users(session, actor=actor)]
    return InboxOptions(
        teams=[Option(t.id, t.name) for t in teams.list_teams(session, actor=actor)],
        labels=[Option(int(label["id"]), str(label["name"]), str(label.get("color") or "gray"))
                for label in labels.list_labels(session, actor=actor)],
        people=[p for p in people if p.id != actor.user_id],
        inboxes=[Option(i.id, i.name) for i in numbers.list_inboxes(session, actor=actor)],
    )


def _read_only_options(session: Session, actor: Actor) -> InboxOptions:
    """An executive's filters: the tenant's teams, labels and numbers by name; nobody to hand a conversation to."""
    def named(model, *extra) -> list:
        return session.exec(select(model.id, model.name, *extra).where(model.tenant_id == actor.tenant_id)
                            .order_by(model.name)).all()

    return InboxOptions(teams=[Option(i, n) for i, n in named(Team)], people=[],
                        labels=[Option(i, n, c or "gray") for i, n, c in named(Label, Label.color)],
                        inboxes=[Option(i, n) for i, n in named(Inbox)])
