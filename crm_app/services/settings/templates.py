"""Settings templates: a named set of tenant values ("Pousada padrão") that a platform operator previews
against a tenant and then applies in one change (all or nothing, reason "Modelo: <name>")."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import SettingTemplate
from crm_app.services.core.actors import Actor
from crm_app.services.settings import store
from crm_app.services.settings.catalog import BY_KEY

REASON_PREFIX = "Modelo: "


@dataclass(frozen=True)
class TemplateRow:
    """A template as the operators' page shows it."""

    id: int
    name: str
    description: str
    values: dict[str, Any]
    created_by_label: str
    created_at: dt.datetime
    updated_by_label: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class DiffRow:
    """One key of a template against a tenant: the effective value now and the template's (JSON text)."""

    key: str
    current: str
    new: str
    changes: bool


def require_operator(actor: Actor | None) -> None:
    """Templates are the platform operators' (None, the system, too)."""
    if actor is not None and not store.is_operator(actor):
        raise PermissionDenied("only platform operators manage settings templates")


def list_templates(session: Session, *, actor: Actor | None) -> list[TemplateRow]:
    """Every template, by name; operators only."""
    require_operator(actor)
    return [_row(t) for t in session.exec(select(SettingTemplate).order_by(SettingTemplate.name))]


def save_template(session: Session, *, actor: Actor | None, name: str, values: Mapping[str, Any],
                  description: str = "", template_id: int | None = None) -> TemplateRow:
    """Create a template, or change template `template_id`; operators only.

    Args:
        session: The caller's transaction.
        actor: A platform operator.
        name: 1 to 120 characters, unique.
        values: {key: value} of settings a tenant may hold; no secrets.
        description: Free text.
        template_id: The template to change; None creates one.

    Raises:
        ValidationError: A bad name (field "name"), or an unknown key, a secret, an install-wide key or an
            invalid value (field: that key; `errors` names every bad key). Nothing is written.
    """
    require_operator(actor)
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ValidationError("the name has 1 to 120 characters", field="name", errors={"name": "1 to 120"})
    cleaned = clean_values(values)
    row = _get(session, template_id) if template_id is not None else SettingTemplate(
        name=name, created_by_user_id=actor.user_id if actor else None, created_by_label=_label(actor))
    clash = session.exec(select(SettingTemplate.id).where(SettingTemplate.name == name)).first()
    if clash is not None and clash != row.id:
        raise ValidationError("a template with this name exists", field="name",
                              errors={"name": "a template with this name exists"})
    row.name, row.description, row.values = name, (description or "").strip()[:2000], cleaned
    row.updated_by_label, row.updated_at = _label(actor), utcnow()
    session.add(row)
    session.flush()
    return _row(row)


def clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A template's values validated as tenant values and dumped to JSON; secrets are refused."""
    if not isinstance(values, Mapping) or not values:
        raise ValidationError("a template sets at least one setting", field="values",
                              errors={"values": "at least one setting"})
    secrets = [k for k in values if k in BY_KEY and BY_KEY[k].secret]
    if secrets:
        raise store.invalid({k: "secrets are not kept in templates" for k in secrets},
                            {k: {"type": "secret_in_template"} for k in secrets})
    unset = [k for k, v in values.items() if v is None]
    if unset:
        raise store.invalid({k: "a template sets a value" for k in unset}, {k: {"type": "missing"} for k in unset})
    cleaned = store.clean(values, tenant_id=0)  # 0: any tenant; only the scope rules read it
    return {key: BY_KEY[key].adapter.dump_python(v, mode="json") for key, v in cleaned.items()}


def delete_template(session: Session, *, actor: Actor | None, template_id: int) -> None:
    """Remove a template; operators only."""
    require_operator(actor)
    session.delete(_get(session, template_id))


def preview(session: Session, *, actor: Actor | None, template_id: int, tenant_id: int) -> list[DiffRow]:
    """What applying the template to a tenant would change: every key with its effective value now."""
    require_operator(actor)
    template = _get(session, template_id)
    store.authorize(session, actor=actor, tenant_id=tenant_id, keys=list(template.values))
    rows = []
    for key, new in template.values.items():
        spec = BY_KEY.get(key)
        current = store.value(session, key, tenant_id=tenant_id) if spec else None
        current_json = spec.adapter.dump_python(current, mode="json") if spec and current is not None else None
        rows.append(DiffRow(key, _text(current_json), _text(new), current_json != new))
    return rows


def apply(session: Session, *, actor: Actor | None, template_id: int, tenant_id: int) -> list[store.ChangeRow]:
    """Set the template's values on a tenant, all or nothing, with the reason "Modelo: <name>".

    Only what the preview calls a change is written: a key whose effective value already equals the template's
    is left alone (it keeps following the install's value or the default, as the preview said).

    Raises:
        ValidationError: A value no longer valid (its key named); nothing is written.
    """
    require_operator(actor)
    changed = {row.key for row in preview(session, actor=actor, template_id=template_id, tenant_id=tenant_id)
               if row.changes}
    template = _get(session, template_id)
    return store.update(session, actor=actor, changes={k: v for k, v in template.values.items() if k in changed},
                        tenant_id=tenant_id, reason=f"{REASON_PREFIX}{template.name}")


def _get(session: Session, template_id: int) -> SettingTemplate:
    row = session.get(SettingTemplate, template_id)
    if row is None:
        raise NotFound("template not found")
    return row


def _label(actor: Actor | None) -> str:
    return actor.label if actor else "system"


def _text(json_value: Any) -> str:
    return "" if json_value is None else json.dumps(json_value, ensure_ascii=False)


def _row(row: SettingTemplate) -> TemplateRow:
    return TemplateRow(row.id, row.name, row.description, dict(row.values), row.created_by_label, row.created_at,
                       row.updated_by_label, row.updated_at)
