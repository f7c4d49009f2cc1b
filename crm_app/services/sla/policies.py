"""SLA policies of a tenant (supervisors and admins): list, create, change, remove, and which one applies.

Conditions and escalation steps name the tenant's own numbers, teams, labels and people; an id of another tenant's
(or a missing one) is refused with the same message as a missing one. Every change writes its audit row in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from crm_app.db import utcnow
from crm_app.domain import sla_policies as rules
from crm_app.errors import ValidationError
from crm_app.models import (
    Contact,
    Conversation,
    ConversationLabel,
    ConversationSla,
    ConversationStatus,
    Inbox,
    Label,
    Role,
    SlaPolicy,
    Team,
    User,
)
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role

MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
MAX_POLICIES = 50
_TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
_FIELDS = ("name", "position", "enabled", "is_default", *_TARGETS, "business_hours_only", "conditions",
           "warn_before_minutes", "escalation")


@dataclass(frozen=True)
class PolicyView:
    """A policy as pages and the API show it."""

    id: int
    name: str
    position: int
    enabled: bool
    is_default: bool
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    business_hours_only: bool
    conditions: list[dict[str, Any]]
    warn_before_minutes: int | None
    escalation: list[dict[str, Any]]


def view_of(policy: SlaPolicy) -> PolicyView:
    """The DTO of `policy`."""
    return PolicyView(policy.id, policy.name, policy.position, policy.enabled, policy.is_default,
                      policy.first_response_minutes, policy.next_response_minutes, policy.resolution_minutes,
                      policy.business_hours_only, [dict(c) for c in policy.conditions], policy.warn_before_minutes,
                      [dict(s) for s in policy.escalation])


def _clean(session: Session, tenant_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields present in `values`; ValidationError names the first bad one."""
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ValidationError(f"unknown field: {', '.join(unknown)}", field=unknown[0])
    out: dict[str, Any] = {}
    for name, value in values.items():
        try:
            out[name] = _field(session, tenant_id, name, value)
        except ValueError as exc:
            raise ValidationError(str(exc), field=name) from None
    return out


def _field(session: Session, tenant_id: int, name: str, value: Any) -> Any:
    if name == "name":
        text = str(value or "").strip()
        if not text or len(text) > rules.MAX_NAME:
            raise ValueError(f"the name must have 1 to {rules.MAX_NAME} characters")
        return text
    if name == "position":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
            raise ValueError("the position must be a whole number from 0 to 10000")
        return value
    if name in ("enabled", "is_default", "business_hours_only"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name in (*_TARGETS, "warn_before_minutes"):
        return rules.parse_minutes(value, field_name=name)
    if name == "conditions":
        conditions = rules.parse_conditions(value)
        _check_owned(session, tenant_id, conditions)
        return conditions
    steps = rules.parse_escalation(value)
    _check_people(session, tenant_id, [s["user_id"] for s in steps if "user_id" in s])
    return steps


_OWNED = {"number": (Inbox, "WhatsApp number"), "team": (Team, "team"), "label": (Label, "label")}


def _check_owned(session: Session, tenant_id: int, conditions: list[dict[str, Any]]) -> None:
    for condition in conditions:
        if condition["kind"] in _OWNED:
            model, what = _OWNED[condition["kind"]]
            row = session.get(model, condition["value"])
            if row is None or row.tenant_id != tenant_id:
                raise ValueError(f"{what} {condition['value']} not found")


def _check_people(session: Session, tenant_id: int, user_ids: list[int]) -> None:
    for user_id in user_ids:
        user = session.get(User, user_id)
        if user is None or user.tenant_id != tenant_id:
            raise ValueError(f"person {user_id} not found")


def list_policies(session: Session, *, actor: Actor) -> list[PolicyView]:
    """The tenant's policies in the order they are tried (supervisors and admins)."""
    require_role(actor, *MANAGERS)
    rows = session.exec(select(SlaPolicy).where(SlaPolicy.tenant_id == actor.tenant_id)
                        .order_by(SlaPolicy.position, SlaPolicy.id)).all()
    return [view_of(p) for p in rows]


def access_policy(session: Session, *, actor: Actor, policy_id: int) -> SlaPolicy:
    """The policy, if it is the actor's tenant's and the actor manages SLAs (NotFound otherwise)."""
    require_role(actor, *MANAGERS)
    return fetch_owned(session, SlaPolicy, policy_id, actor=actor, what="SLA policy")


def get_policy(session: Session, *, actor: Actor, policy_id: int) -> PolicyView:
    """One policy (supervisors and admins)."""
    return view_of(access_policy(session, actor=actor, policy_id=policy_id))


def create_policy(session: Session, *, actor: Actor, name: str, **fields: Any) -> PolicyView:
    """Add a policy (tried after the others unless `position` says otherwise)."""
    require_role(actor, *MANAGERS)
    values = _clean(session, actor.tenant_id, {"name": name, **fields})
    count, last = session.exec(select(func.count(SlaPolicy.id), func.max(SlaPolicy.position))
                               .where(SlaPolicy.tenant_id == actor.tenant_id)).one()
    if count >= MAX_POLICIES:
        raise ValidationError(f"at most {MAX_POLICIES} SLA policies", field="name")
    _refuse_taken_name(session, actor.tenant_id, values["name"], None)
    values.setdefault("position", (last + 1) if last is not None else 0)
    if values.get("is_default"):
        _clear_default(session, actor.tenant_id)
    policy = SlaPolicy(tenant_id=actor.tenant_id, **values)
    session.add(policy)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="sla_policy.create",
                 target_type="sla_policy", target_id=policy.id, after=_audited(policy))
    _reevaluate_open(session, actor.tenant_id)
    return view_of(policy)


def _refuse_taken_name(session: Session, tenant_id: int, name: str, policy_id: int | None) -> None:
    taken = session.exec(select(SlaPolicy.id).where(SlaPolicy.tenant_id == tenant_id,
                                                    func.lower(SlaPolicy.name) == name.lower())).first()
    if taken is not None and taken != policy_id:
        raise ValidationError(f"a policy named '{name}' already exists", field="name")


def _clear_default(session: Session, tenant_id: int) -> None:
    """The default moves: the old one stops being it first (one default per tenant is a unique index)."""
    for old in session.exec(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant_id, SlaPolicy.is_default)):
        old.is_default = False
        session.add(old)
    session.flush()


def _audited(policy: SlaPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in _FIELDS}


def update_policy(session: Session, *, actor: Actor, policy_id: int, **changes: Any) -> PolicyView:
    """Change some fields of a policy."""
    policy = access_policy(session, actor=actor, policy_id=policy_id)
    session.refresh(policy, with_for_update=True)
    values = _clean(session, actor.tenant_id, changes)
    if "name" in values:
        _refuse_taken_name(session, actor.tenant_id, values["name"], policy.id)
    before = _audited(policy)
    if values.get("is_default") and not policy.is_default:
        _clear_default(session, actor.tenant_id)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_at = utcnow()
    session.add(policy)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="sla_policy.update",
                 target_type="sla_policy", target_id=policy.id, before=before, after=_audited(policy))
    _reevaluate_open(session, actor.tenant_id)
    return view_of(policy)


def delete_policy(session: Session, *, actor: Actor, policy_id: int) -> None:
    """Remove a policy."""
    policy = access_policy(session, actor=actor, policy_id=policy_id)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="sla_policy.delete",
                 target_type="sla_policy", target_id=policy.id, before=_audited(policy))
    session.delete(policy)
    _reevaluate_open(session, actor.tenant_id)


def _reevaluate_open(session: Session, tenant_id: int) -> None:
    """The tenant's open conversations with SLA clocks are looked at again by the next sweeps (targets, order or
    conditions changed). Conversations that never had a clock start theirs at their next milestone."""
    open_ones = select(Conversation.id).where(Conversation.tenant_id == tenant_id,
                                              Conversation.status != ConversationStatus.CLOSED)
    session.execute(sa.update(ConversationSla).where(ConversationSla.tenant_id == tenant_id,
                                                     ConversationSla.conversation_id.in_(open_ones))
                    .values(wake_at=utcnow()))


def subject_of(session: Session, conversation: Conversation) -> rules.Subject:
    """What the policy conditions look at in `conversation`: number, team, labels, contact attributes."""
    label_ids = session.exec(select(ConversationLabel.label_id)
                             .where(ConversationLabel.conversation_id == conversation.id)).all()
    contact = session.get(Contact, conversation.contact_id)
    attributes = dict(contact.custom_attributes or {}) if contact else {}
    return rules.Subject(conversation.inbox_id, conversation.team_id, frozenset(label_ids), attributes)


def policy_for(session: Session, conversation: Conversation) -> SlaPolicy | None:
    """The policy that applies to `conversation` now (first match by position, else the default), or None."""
    policies = session.exec(select(SlaPolicy).where(SlaPolicy.tenant_id == conversation.tenant_id,
                                                    SlaPolicy.enabled)).all()
    return rules.choose(policies, subject_of(session, conversation))


@dataclass(frozen=True)
class PoliciesPage:
    """What /settings/sla shows: the policies, and the numbers, teams and labels a condition may name."""

    policies: list[PolicyView]
    numbers: list[tuple[int, str]]
    teams: list[tuple[int, str]]
    labels: list[tuple[int, str]]


def policies_page(session: Session, *, actor: Actor) -> PoliciesPage:
    """The settings page's read model (supervisors and admins)."""
    policies = list_policies(session, actor=actor)
    tenant = actor.tenant_id
    numbers = session.exec(select(Inbox.id, Inbox.name).where(Inbox.tenant_id == tenant).order_by(Inbox.name)).all()
    teams = session.exec(select(Team.id, Team.name).where(Team.tenant_id == tenant).order_by(Team.name)).all()
    labels = session.exec(select(Label.id, Label.name).where(Label.tenant_id == tenant).order_by(Label.name)).all()
    return PoliciesPage(policies, [tuple(r) for r in numbers], [tuple(r) for r in teams], [tuple(r) for r in labels])
