"""Which SLA policy a conversation falls under, and what a policy may say. Pure: no session.

A policy's conditions all have to hold (an empty list holds for every conversation); the enabled policies are tried
in their order and the first that matches wins; when none does, the tenant's default policy applies (or none).

A condition is one of:

- `{"kind": "number", "value": <inbox id>}`: the WhatsApp number the conversation came in on;
- `{"kind": "team", "value": <team id>}`;
- `{"kind": "label", "value": <label id>}`: the conversation carries the label;
- `{"kind": "attribute", "key": "plano", "value": "ouro"}`: a contact attribute, compared as trimmed text,
  case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

CONDITION_KINDS: tuple[str, ...] = ("number", "team", "label", "attribute")
MAX_CONDITIONS = 20
MAX_TARGET_MINUTES = 60 * 24 * 90  # 90 days
MAX_NAME = 120
ESCALATION_ACTIONS: tuple[str, ...] = ("notify_supervisor", "reassign_team", "reassign_user", "raise_priority")
MAX_STEPS = 5


@dataclass(frozen=True)
class Subject:
    """What a rule can look at in a conversation."""

    inbox_id: int | None = None
    team_id: int | None = None
    label_ids: frozenset[int] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict)


class PolicyLike(Protocol):
    """What matching needs of a policy (`models.SlaPolicy` or a DTO)."""

    position: int
    enabled: bool
    is_default: bool
    conditions: list[dict[str, Any]]


P = TypeVar("P", bound=PolicyLike)


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip().casefold()


def holds(condition: Mapping[str, Any], subject: Subject) -> bool:
    """Whether one (valid) condition holds for `subject`."""
    kind, value = condition.get("kind"), condition.get("value")
    if kind == "number":
        return subject.inbox_id == value
    if kind == "team":
        return subject.team_id == value
    if kind == "label":
        return value in subject.label_ids
    if kind == "attribute":
        key = str(condition.get("key") or "")
        return key in subject.attributes and _text(subject.attributes[key]) == _text(value)
    return False


def matches(policy: PolicyLike, subject: Subject) -> bool:
    """Whether every condition of the policy holds."""
    return all(holds(c, subject) for c in policy.conditions)


def choose(policies: Sequence[P], subject: Subject) -> P | None:
    """The first enabled, non-default policy (by position) whose conditions hold; else the enabled default."""
    for policy in sorted(policies, key=lambda p: p.position):
        if policy.enabled and not policy.is_default and matches(policy, subject):
            return policy
    return next((p for p in policies if p.enabled and p.is_default), None)


def parse_conditions(raw: Any) -> list[dict[str, Any]]:
    """Validate conditions as the API and the settings page send them; ValueError says what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("conditions must be a list")
    if len(raw) > MAX_CONDITIONS:
        raise ValueError(f"at most {MAX_CONDITIONS} conditions")
    return [_condition(item) for item in raw]


def _condition(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping) or item.get("kind") not in CONDITION_KINDS:
        raise ValueError(f"a condition needs a kind: {', '.join(CONDITION_KINDS)}")
    kind, value = item["kind"], item.get("value")
    if kind == "attribute":
        key = str(item.get("key") or "").strip()
        if not key or len(key) > 64:
            raise ValueError("an attribute condition needs a key of 1 to 64 characters")
        if value is None or isinstance(value, Mapping | list) or not str(value).strip() or len(str(value)) > 200:
            raise ValueError(f"the attribute condition on '{key}' needs a value of 1 to 200 characters")
        return {"kind": kind, "key": key, "value": str(value).strip()}
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"a {kind} condition needs the id of a {kind}")
    return {"kind": kind, "value": value}


def parse_minutes(value: Any, *, field_name: str) -> int | None:
    """A target or lead time in whole minutes (1 to 90 days), or None; ValueError names the field."""
    if value is None or value == "":
        return None
    try:
        minutes = int(str(value).strip()) if not isinstance(value, bool) else -1
    except ValueError:
        raise ValueError(f"{field_name}: '{value}' is not a whole number of minutes") from None
    if not 1 <= minutes <= MAX_TARGET_MINUTES:
        raise ValueError(f"{field_name}: must be 1 to {MAX_TARGET_MINUTES} minutes")
    return minutes


def parse_escalation(raw: Any) -> list[dict[str, Any]]:
    """Validate the escalation chain: ordered steps `{"action", "after_minutes", "user_id"?}`.

    `after_minutes` counts from the breach (0: at the breach) and may not go back; `reassign_user` names a person.
    """
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_STEPS:
        raise ValueError(f"the escalation is a list of at most {MAX_STEPS} steps")
    steps: list[dict[str, Any]] = []
    last = 0
    for item in raw:
        if not isinstance(item, Mapping) or item.get("action") not in ESCALATION_ACTIONS:
            raise ValueError(f"an escalation step needs an action: {', '.join(ESCALATION_ACTIONS)}")
        after = parse_minutes(item.get("after_minutes") or None, field_name="after_minutes") or 0
        if after < last:
            raise ValueError("escalation steps must be in order of their delay")
        step: dict[str, Any] = {"action": item["action"], "after_minutes": after}
        if item["action"] == "reassign_user":
            user_id = item.get("user_id")
            if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
                raise ValueError("reassign_user needs the id of a person")
            step["user_id"] = user_id
        steps.append(step)
        last = after
    return steps
