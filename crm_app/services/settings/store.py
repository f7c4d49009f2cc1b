"""Reading and changing settings: tenant value, then global value, then the default; one history row per change.

Reads go through the per-process cache (cache.py). A change is validated whole before anything is written
(all or nothing), written in the caller's transaction with its history, and announced to every process after
the commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import after_commit, session_scope, utcnow
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import SettingChange, SettingValue, Tenant
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor
from crm_app.services.settings import cache
from crm_app.services.settings.catalog import BY_KEY, RULES
from crm_app.services.settings.registry import INHERIT, SettingSpec

log = logging.getLogger(__name__)

MASK = "••••"
DIRTY = "settings_dirty"  # session.info flag: this transaction changed settings, so its reads skip the cache


@dataclass(frozen=True)
class ChangeRow:
    """One recorded change, as the history shows it.

    `old_display`/`new_display` are JSON text of the value, MASK for a secret that was set, None when the
    scope had no value (it inherited).
    """

    id: int
    tenant_id: int | None
    key: str
    old_display: str | None
    new_display: str | None
    actor_user_id: int | None
    actor_label: str
    reason: str | None
    rollback_of: int | None
    created_at: dt.datetime


def spec_for(key: str) -> SettingSpec:
    """The spec of `key`; KeyError names an unknown key (a programming error on reads)."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown setting {key!r}") from None


def value(session: Session | None, key: str, *, tenant_id: int | None) -> Any:
    """The effective value of `key`: the tenant's, else the global one, else the default.

    Args:
        session: Used when the cache misses; None opens a short read transaction instead.
        key: A key of the catalog.
        tenant_id: The tenant asking; None for the install-wide value.

    Returns:
        The value (a secret decrypted: server side only).
    """
    spec = spec_for(key)
    found, chosen = _lookup(session, spec, tenant_id)
    return chosen if found else spec.default_value()


def values(session: Session | None, keys: Iterable[str] | None = None, *, tenant_id: int | None) -> dict[str, Any]:
    """The effective values of `keys` (every setting when None), as `value` gives them."""
    return {key: value(session, key, tenant_id=tenant_id) for key in (BY_KEY if keys is None else keys)}


def source(session: Session | None, key: str, *, tenant_id: int | None) -> str:
    """Where `key`'s effective value comes from: "tenant", "global" or "default"."""
    spec = spec_for(key)
    if tenant_id is not None and spec.allows_tenant() and key in _stored(session, tenant_id):
        return "tenant"
    if spec.allows_global() and key in _stored(session, None):
        return "global"
    return "default"


def _lookup(session: Session | None, spec: SettingSpec, tenant_id: int | None) -> tuple[bool, Any]:
    if tenant_id is not None and spec.allows_tenant():
        stored = _stored(session, tenant_id)
        if spec.key in stored:
            return True, stored[spec.key]
    if spec.allows_global():
        stored = _stored(session, None)
        if spec.key in stored:
            return True, stored[spec.key]
    return False, None


def _stored(session: Session | None, tenant_id: int | None) -> cache.Values:
    """The values stored at one scope, decoded; from the cache unless this transaction changed settings."""
    if session is not None and session.info.get(DIRTY):
        return _read_scope(session, tenant_id)
    hit = cache.CACHE.get(tenant_id)
    if hit is not None:
        return hit
    version = cache.CACHE.current_version()
    if session is None:
        with session_scope() as own:
            loaded = _read_scope(own, tenant_id)
    else:
        loaded = _read_scope(session, tenant_id)
    cache.CACHE.put(tenant_id, loaded, version=version)
    return loaded


def _read_scope(session: Session, tenant_id: int | None) -> cache.Values:
    scope = SettingValue.tenant_id.is_(None) if tenant_id is None else SettingValue.tenant_id == tenant_id
    decoded = {}
    for row in session.exec(select(SettingValue).where(scope)):
        spec = BY_KEY.get(row.key)
        if spec is None:
            continue  # a setting removed from the catalog: ignored, kept for its history
        try:
            decoded[row.key] = _decode(spec, row)
        except (pydantic.ValidationError, ValueError):
            log.warning("setting %s of scope %s no longer fits its type; ignored", row.key, tenant_id)
    return decoded


def _decode(spec: SettingSpec, row: SettingValue) -> Any:
    raw = json.loads(row.secret_value) if spec.secret else row.value
    return spec.adapter.validate_python(raw)


def _dump(spec: SettingSpec, python_value: Any) -> Any:
    return spec.adapter.dump_python(python_value, mode="json")


def update(session: Session, *, actor: Actor | None, changes: Mapping[str, Any], tenant_id: int | None,
           reason: str | None = None, rollback_of: int | None = None,
           checked_on: str | None = None) -> list[ChangeRow]:
    """Change settings at one scope, all or nothing, with one history row per key that changed.

    Args:
        session: The caller's transaction; nothing is committed here.
        actor: A platform operator for global values (None is the system); for a tenant, one of its users
            whose role is in each spec's `tenant_roles` (or a platform operator).
        changes: {key: new value}; None or INHERIT removes the value at this scope (it inherits again).
        tenant_id: The tenant whose values change; None for the global values.
        reason: Kept in the history.
        rollback_of: The change this one undoes (set by `rollback`).
        checked_on: The page whose own checks this change passed; a tenant value of a spec with a `tenant_page`
            is set only with that page here.

    Returns:
        The recorded changes; a key set to the value it already had records nothing.

    Raises:
        ValidationError: An unknown key, a key of the wrong scope or an invalid value; params `field` (the
            first bad key) and `errors` ({key: message} for every bad key). Nothing is written.
        PermissionDenied / NotFound: As `authorize` says.
    """
    authorize(session, actor=actor, tenant_id=tenant_id, keys=list(changes))
    cleaned = clean(changes, tenant_id=tenant_id, checked_on=checked_on)
    _check_rules(session, tenant_id, cleaned)
    reason = (reason or "").strip()[:1000] or None
    rows = [row for key, new in cleaned.items()
            if (row := _write(session, actor, tenant_id, BY_KEY[key], new, reason, rollback_of)) is not None]
    if rows:
        session.info[DIRTY] = True
        session.flush()
        _audit(session, actor, tenant_id, rows)
        after_commit(session, _changed(session))
    return [change_row(row) for row in rows]


def _changed(session: Session):
    def callback() -> None:
        session.info.pop(DIRTY, None)
        cache.publish_change()
    return callback


def authorize(session: Session, *, actor: Actor | None, tenant_id: int | None, keys: Iterable[str]) -> None:
    """May `actor` change `keys` at this scope? None (the system) may change anything.

    Raises:
        PermissionDenied: Global values by anyone but a platform operator; a role not in a key's
            `tenant_roles`.
        NotFound: Another tenant's values (the same answer as a missing tenant).
    """
    if tenant_id is not None and session.get(Tenant, tenant_id) is None:
        raise NotFound("tenant not found")
    if actor is None:
        return
    if is_operator(actor):
        return
    if tenant_id is None:
        raise PermissionDenied("only platform operators change global settings")
    if actor.tenant_id != tenant_id:
        raise NotFound("tenant not found")
    for key in keys:
        spec = BY_KEY.get(key)
        if spec is not None and actor.role not in spec.tenant_roles:
            raise PermissionDenied(f"your role may not change {key}")


def is_operator(actor: Actor | None) -> bool:
    """A platform operator, as the platform pages check one (the flag and their tenant's admin role)."""
    return actor is not None and actor.is_platform_operator and actor.role == "admin"


def clean(changes: Mapping[str, Any], *, tenant_id: int | None, checked_on: str | None = None) -> dict[str, Any]:
    """Validate every change; {key: python value or INHERIT}, or one ValidationError naming every bad key.

    The error's params: `field` (the first bad key), `errors` ({key: English message}) and `problems`
    ({key: {"type": pydantic's error type or ours, plus its context, e.g. "ge"}}) for pages to word it.
    """
    cleaned, errors, problems = {}, {}, {}
    for key, raw in changes.items():
        spec = BY_KEY.get(key)
        problem = _scope_problem(spec, key, tenant_id)
        if problem:
            errors[key], problems[key] = problem
        elif raw is None or raw is INHERIT:
            cleaned[key] = INHERIT
        elif tenant_id is not None and spec.tenant_page and spec.tenant_page != checked_on:
            errors[key] = f"a tenant sets this setting on {spec.tenant_page} only (it checks it first)"
            problems[key] = {"type": "own_page", "page": spec.tenant_page}
        else:
            try:
                cleaned[key] = spec.adapter.validate_python(raw)
                if spec.check is not None:
                    cleaned[key] = spec.check(cleaned[key])
            except pydantic.ValidationError as exc:
                errors[key], problems[key] = _message(exc)
            except ValueError as exc:  # the spec's write-time check
                kind = getattr(exc, "kind", "value_error")
                errors[key], problems[key] = str(exc), {"type": kind, "message": str(exc)}
    if errors:
        raise invalid(errors, problems)
    return cleaned


def invalid(errors: dict[str, str], problems: dict[str, dict[str, Any]] | None = None) -> ValidationError:
    """The ValidationError of some bad keys: one message per key, the first key as `field`."""
    first = next(iter(errors))
    return ValidationError("; ".join(f"{k}: {m}" for k, m in errors.items()), field=first, errors=errors,
                           problems=problems or {k: {"type": "invalid"} for k in errors})


def _check_rules(session: Session, tenant_id: int | None, cleaned: dict[str, Any]) -> None:
    for rule in RULES:
        if not set(rule.keys) & set(cleaned):
            continue
        problem = rule.check({key: _value_after(session, key, tenant_id, cleaned) for key in rule.keys})
        if problem:
            key, message = problem
            raise invalid({key: message}, {key: {"type": rule.code, "message": message}})


def _value_after(session: Session, key: str, tenant_id: int | None, cleaned: dict[str, Any]) -> Any:
    """The effective value of `key` at this scope once `cleaned` is written."""
    if key not in cleaned:
        return value(session, key, tenant_id=tenant_id)
    if cleaned[key] is not INHERIT:
        return cleaned[key]
    return value(session, key, tenant_id=None) if tenant_id is not None else spec_for(key).default_value()


def _scope_problem(spec: SettingSpec | None, key: str, tenant_id: int | None) -> tuple[str, dict] | None:
    if spec is None:
        return "unknown setting", {"type": "unknown_setting"}
    if tenant_id is None and not spec.allows_global():
        return "this setting is set per tenant only", {"type": "tenant_only"}
    if tenant_id is not None and not spec.allows_tenant():
        return "this setting is install-wide only", {"type": "global_only"}
    return None


def _message(exc: pydantic.ValidationError) -> tuple[str, dict[str, Any]]:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "function-after")
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, float, str))}
    problem = {"type": error.get("type", "invalid"), **context, "message": message}
    return (f"{message} (item {where})" if where else message), problem


def _write(session: Session, actor: Actor | None, tenant_id: int | None, spec: SettingSpec, new: Any,
           reason: str | None, rollback_of: int | None) -> SettingChange | None:
    row = _row(session, tenant_id, spec.key)
    old_set = row is not None and _fits(spec, row)
    old = _decode(spec, row) if old_set else None
    new_set = new is not INHERIT
    if old_set == new_set and (not new_set or _dump(spec, old) == _dump(spec, new)):
        return None
    change = SettingChange(tenant_id=tenant_id, key=spec.key, secret=spec.secret, old_set=old_set,
                           new_set=new_set, actor_user_id=actor.user_id if actor else None,
                           actor_label=actor.label if actor else "system", reason=reason, rollback_of=rollback_of)
    if spec.secret:
        change.old_secret = row.secret_value if old_set else None
    else:
        change.old_value = _dump(spec, old) if old_set else None
        change.new_value = _dump(spec, new) if new_set else None
    _store(session, row, actor, tenant_id, spec, new)
    session.add(change)
    return change


def _fits(spec: SettingSpec, row: SettingValue) -> bool:
    try:
        _decode(spec, row)
    except (pydantic.ValidationError, ValueError):
        return False
    return True


_LOCK_NAMESPACE = 0x53455454  # "SETT": keeps these advisory locks apart from anyone else's


def _row(session: Session, tenant_id: int | None, key: str) -> SettingValue | None:
    """The stored row, locked. On PostgreSQL a transaction lock on (scope, key) comes first: FOR UPDATE locks no
    row that does not exist yet, and two first writes of one key would both insert (the second failing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_NAMESPACE,
                                                              sa.func.hashtext(f"{tenant_id or '-'}:{key}"))))
    scope = SettingValue.tenant_id.is_(None) if tenant_id is None else SettingValue.tenant_id == tenant_id
    return session.exec(select(SettingValue).where(scope, SettingValue.key == key).with_for_update()).first()


def _store(session: Session, row: SettingValue | None, actor: Actor | None, tenant_id: int | None,
           spec: SettingSpec, new: Any) -> None:
    if new is INHERIT:
        if row is not None:
            session.delete(row)
        return
    row = row or SettingValue(tenant_id=tenant_id, key=spec.key)
    if spec.secret:
        row.secret_value, row.value = json.dumps(_dump(spec, new)), None
    else:
        row.value, row.secret_value = _dump(spec, new), None
    row.updated_at, row.updated_by_user_id = utcnow(), actor.user_id if actor else None
    session.add(row)


def _audit(session: Session, actor: Actor | None, tenant_id: int | None, rows: list[SettingChange]) -> None:
    if tenant_id is None:
        return  # global values have no tenant's audit trail; their history is the record
    shown = [change_row(row) for row in rows]
    audit.record(session, actor=actor, tenant_id=tenant_id, action="settings.update", target_type="settings",
                 target_id=shown[0].key if len(shown) == 1 else f"{len(shown)} settings",  # the keys: before/after
                 before={r.key: r.old_display for r in shown}, after={r.key: r.new_display for r in shown})


def change_row(row: SettingChange) -> ChangeRow:
    """The history's view of a change (secrets masked)."""
    return ChangeRow(row.id, row.tenant_id, row.key, _display(row, row.old_set, row.old_value),
                     _display(row, row.new_set, row.new_value), row.actor_user_id, row.actor_label, row.reason,
                     row.rollback_of, row.created_at)


def _display(row: SettingChange, is_set: bool, stored: Any) -> str | None:
    if not is_set:
        return None
    if row.secret:
        return MASK
    return json.dumps(stored, ensure_ascii=False)


def scope_filter(tenant_id: int | None):
    """The WHERE clause of one scope's rows (the global scope is tenant_id NULL)."""
    return SettingChange.tenant_id.is_(None) if tenant_id is None else SettingChange.tenant_id == tenant_id


__all__ = ["ChangeRow", "INHERIT", "MASK", "authorize", "change_row", "clean", "is_operator", "source", "spec_for",
           "update", "value", "values"]
