"""The settings page's read model: users and API tokens beside the webhooks that failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_app.services.access.api_tokens import ApiTokenRow, list_tokens
from crm_app.services.access.users import UserRow, list_users
from crm_app.services.channel.ingest import DeadEventRow, list_dead_events
from crm_app.services.channel.reads import UnsupportedRow, list_unsupported
from crm_app.services.core.actors import Actor


@dataclass(frozen=True)
class SettingsOverview:
    """Everything /settings lists, read in one snapshot."""

    users: list[UserRow]
    dead_events: list[DeadEventRow]
    unsupported: list[UnsupportedRow]
    tokens: list[ApiTokenRow]


def settings_overview(session: Session, *, actor: Actor) -> SettingsOverview:
    """What /settings shows when it (re)loads; admins only (the dead events and tokens check it).

    Args:
        session: The caller's session.
        actor: The admin; every list is of their tenant.

    Returns:
        The tenant's users, dead-lettered webhooks, unsupported messages and API tokens.
    """
    return SettingsOverview(
        users=list_users(session, actor=actor),
        dead_events=list_dead_events(session, actor=actor),
        unsupported=list_unsupported(session, actor=actor),
        tokens=list_tokens(session, actor=actor),
    )
