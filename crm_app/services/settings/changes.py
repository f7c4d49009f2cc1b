"""The history of settings changes and rollback to any earlier value (a rollback is itself a change)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import SettingChange
from crm_app.services.core.actors import Actor
from crm_app.services.settings import store
from crm_app.services.settings.catalog import BY_KEY
from crm_app.services.settings.registry import INHERIT

MAX_LIMIT = 500


def require_reader(session: Session, *, actor: Actor | None, tenant_id: int | None) -> None:
    """May `actor` see the settings of this scope? Platform operators see every scope; a tenant's admins
    (a role some setting lets change its values) see their own tenant's.

    Raises:
        PermissionDenied: The global scope for a non-operator; a role that may change no setting.
        NotFound: Another tenant (the same answer as a missing one).
    """
    store.authorize(session, actor=actor, tenant_id=tenant_id, keys=())
    if actor is None or store.is_operator(actor):
        return
    if not any(actor.role in spec.tenant_roles for spec in BY_KEY.values() if spec.allows_tenant()):
        raise PermissionDenied("your role may not see the settings")


def history(session: Session, *, actor: Actor | None, tenant_id: int | None, key: str | None = None,
            limit: int = 50) -> list[store.ChangeRow]:
    """Changes at one scope (the global one when `tenant_id` is None), newest first.

    Args:
        session: The caller's session.
        actor: As `require_reader` asks.
        tenant_id: The scope.
        key: Only this setting's changes; None for all.
        limit: At most this many (capped at MAX_LIMIT).

    Returns:
        The changes, secrets masked.
    """
    require_reader(session, actor=actor, tenant_id=tenant_id)
    query = select(SettingChange).where(store.scope_filter(tenant_id))
    if key is not None:
        query = query.where(SettingChange.key == key)
    query = query.order_by(SettingChange.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
    return [store.change_row(row) for row in session.exec(query)]


# Refusals that say why a value cannot be set here at all, rather than that the old value no longer fits.
_NOT_ABOUT_THE_VALUE = ("own_page", "unknown_setting", "tenant_only", "global_only")


def rollback(session: Session, *, actor: Actor | None, change_id: int,
             reason: str | None = None) -> list[store.ChangeRow]:
    """Put back the value a change replaced (its OLD value), as a new change with `rollback_of`.

    Args:
        session: The caller's transaction.
        actor: Who may change that setting at that scope (as `update` asks).
        change_id: A change of a scope the actor may change.
        reason: Kept in the history.

    Returns:
        The new change; empty when the setting already has that value.

    Raises:
        NotFound: No such change, or another tenant's.
        ValidationError: The old value no longer fits the setting (its type or range changed since), or the
            setting no longer exists; nothing is written.
    """
    change = session.get(SettingChange, change_id)
    if change is None:
        raise NotFound("change not found")
    try:
        store.authorize(session, actor=actor, tenant_id=change.tenant_id, keys=[change.key])
    except NotFound:
        raise NotFound("change not found") from None
    old = _old_value(change)
    try:
        store.clean({change.key: old}, tenant_id=change.tenant_id)
    except ValidationError as exc:
        if (exc.params.get("problems") or {}).get(change.key, {}).get("type") in _NOT_ABOUT_THE_VALUE:
            raise  # e.g. a value its own page sets: that reason, not a type change
        problem = exc.params.get("errors", {}).get(change.key, exc.message)
        raise store.invalid({change.key: f"the type changed since; the old value no longer fits ({problem})"},
                            {change.key: {"type": "type_changed", "message": str(problem)}}) from None
    return store.update(session, actor=actor, changes={change.key: old}, tenant_id=change.tenant_id,
                                  reason=reason, rollback_of=change.id)


def _old_value(change: SettingChange) -> Any:
    if not change.old_set:
        return INHERIT
    if change.secret:
        return json.loads(change.old_secret) if change.old_secret else INHERIT
    return change.old_value
