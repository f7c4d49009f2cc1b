"""What a settings page or the API shows: each visible setting, its effective value, where it comes from, and
how to edit it (a field kind, bounds and choices derived from its type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.errors import PermissionDenied
from crm_app.models import Tenant
from crm_app.services.core.actors import Actor
from crm_app.services.settings import changes, store, templates
from crm_app.services.settings.catalog import SPECS
from crm_app.services.settings.registry import SettingSpec


@dataclass(frozen=True)
class SettingView:
    """One setting as a page or the API shows it. A secret's `value` is always None: only `configured`.

    `kind` is the field to draw: "switch", "integer", "number", "text", "textarea", "select", "multi"
    (several of `choices`) or "list" (free strings). `source` is "tenant", "global" or "default" ("global"
    at the global scope means the install's own value).
    """

    key: str
    category: str
    scope: str
    secret: bool
    kind: str
    value: Any
    configured: bool
    source: str
    editable: bool
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    page: str | None = None  # the page that alone sets this value at this scope


def describe(session: Session, *, actor: Actor | None, tenant_id: int | None) -> list[SettingView]:
    """Every setting of this scope visible to `actor`, in catalog order.

    Args:
        session: The caller's session.
        actor: A platform operator (any scope), or a tenant user whose role may change some setting (their own
            tenant; settings their role may not change are listed read-only).
        tenant_id: The tenant; None for the global values (operators).

    Returns:
        The views; secrets only say whether they are configured.
    """
    changes.require_reader(session, actor=actor, tenant_id=tenant_id)
    specs = [s for s in SPECS if (s.allows_tenant() if tenant_id is not None else s.allows_global())]
    return [_view(session, actor, tenant_id, spec) for spec in specs]


def _view(session: Session, actor: Actor | None, tenant_id: int | None, spec: SettingSpec) -> SettingView:
    effective = store.value(session, spec.key, tenant_id=tenant_id)
    editable = actor is None or store.is_operator(actor) or actor.role in spec.tenant_roles
    editable = editable and not (tenant_id is not None and spec.tenant_page)  # set on its own page only
    shape = field_shape(spec)
    default = None if spec.secret else _jsonable(spec, spec.default_value())
    return SettingView(spec.key, spec.category, spec.scope, spec.secret, shape["kind"],
                       None if spec.secret else _jsonable(spec, effective), effective is not None,
                       store.source(session, spec.key, tenant_id=tenant_id), editable, default,
                       shape.get("minimum"), shape.get("maximum"), shape.get("choices", ()), shape.get("max_length"),
                       spec.tenant_page if tenant_id is not None else None)


def _jsonable(spec: SettingSpec, python_value: Any) -> Any:
    return None if python_value is None else spec.adapter.dump_python(python_value, mode="json")


def field_shape(spec: SettingSpec) -> dict[str, Any]:
    """The form field for a spec's type, from its JSON schema: kind, bounds, choices, length."""
    shape = spec.__dict__.get("_shape")
    if shape is None:
        shape = _shape(spec)
        object.__setattr__(spec, "_shape", shape)  # a cache, as the spec's adapter is
    return shape


def _shape(spec: SettingSpec) -> dict[str, Any]:
    schema = spec.adapter.json_schema()
    kind = {"boolean": "switch", "integer": "integer", "number": "number"}.get(schema.get("type"), "text")
    shape: dict[str, Any] = {"kind": kind}
    if "enum" in schema:
        shape |= {"kind": "select", "choices": tuple(schema["enum"])}
    elif schema.get("type") == "array":
        items = schema.get("items", {})
        shape |= {"kind": "multi" if "enum" in items else "list", "choices": tuple(items.get("enum", ()))}
    elif kind == "text" and (schema.get("maxLength") or 0) > 2000:
        shape["kind"] = "textarea"
    for name, key_name in (("minimum", "minimum"), ("maximum", "maximum"), ("maxLength", "max_length")):
        if name in schema:
            shape[key_name] = schema[name]
    return shape


def change(session: Session, *, actor: Actor | None, tenant_id: int | None, changes: dict[str, Any],
           reason: str | None = None) -> list[SettingView]:
    """`update` then `describe` in one transaction: what a form or the API shows after saving."""
    store.update(session, actor=actor, changes=changes, tenant_id=tenant_id, reason=reason)
    return describe(session, actor=actor, tenant_id=tenant_id)


@dataclass(frozen=True)
class SettingsPage:
    """/settings/general: the tenant's settings and their latest changes."""

    settings: list[SettingView]
    history: list[store.ChangeRow]


def settings_page(session: Session, *, actor: Actor, history_limit: int = 50) -> SettingsPage:
    """The actor's tenant's settings page, from one snapshot (its admins; see `describe`)."""
    views = describe(session, actor=actor, tenant_id=actor.tenant_id)
    return SettingsPage(views, changes.history(session, actor=actor, tenant_id=actor.tenant_id,
                                               limit=history_limit))


@dataclass(frozen=True)
class PlatformSettingsPage:
    """/platform/settings: the install's global values, their changes, the templates and the tenants to aim
    a template at ((id, name), by name)."""

    settings: list[SettingView]
    history: list[store.ChangeRow]
    templates: list[templates.TemplateRow]
    tenants: list[tuple[int, str]]


def platform_settings_page(session: Session, *, actor: Actor, history_limit: int = 50) -> PlatformSettingsPage:
    """The operators' settings page, from one snapshot; platform operators only."""
    if not store.is_operator(actor):
        raise PermissionDenied("platform operators only")
    tenants = [(row.id, row.name) for row in session.exec(select(Tenant).order_by(Tenant.name))]
    return PlatformSettingsPage(describe(session, actor=actor, tenant_id=None),
                                changes.history(session, actor=actor, tenant_id=None, limit=history_limit),
                                templates.list_templates(session, actor=actor), tenants)
