"""REST API v1 routes of SLA policies (`sla:read` / `sla:write`; the token's user must be a supervisor or admin), and
of one conversation's SLA (`sla:read`)."""

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from crm_app.services import access, sla
from crm_app.services.core.actors import Actor

Minutes = Annotated[int, Field(ge=1, le=129600)]


class Condition(BaseModel):
    """One condition; all of a policy's conditions must hold."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["number", "team", "label", "attribute"] = Field(
        description="number: the WhatsApp number's id (inbox); team; label; attribute: a contact attribute.")
    key: str | None = Field(default=None, max_length=64, description="The contact attribute (kind=attribute).")
    value: int | str = Field(description="The id (number, team, label) or the attribute's value (trimmed, any case).")


class Step(BaseModel):
    """One escalation step, run once per breach, `after_minutes` after it (0: at the breach)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["notify_supervisor", "reassign_team", "reassign_user", "raise_priority"]
    after_minutes: int = Field(default=0, ge=0, le=129600)
    user_id: int | None = Field(default=None, description="The person to reassign to (reassign_user).")


class Policy(BaseModel):
    """An SLA policy. Targets are minutes; null is no target."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    position: int = Field(description="Policies are tried by position, lowest first; the first match wins.")
    enabled: bool
    is_default: bool = Field(description="Applies when no other policy matches (one per tenant).")
    first_response_minutes: int | None = Field(description="Handoff to a person → first human message.")
    next_response_minutes: int | None = Field(description="Customer message after a reply → next human message.")
    resolution_minutes: int | None = Field(description="Handoff (or reopen) → close, paused while waiting on the "
                                                       "customer.")
    business_hours_only: bool = Field(description="Count only the team's business hours, skipping holidays.")
    conditions: list[dict[str, Any]]
    warn_before_minutes: int | None = Field(description="Warn the assignee this long before a deadline.")
    escalation: list[dict[str, Any]]


class PolicyIn(BaseModel):
    """A new policy."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    position: int | None = Field(default=None, ge=0, le=10000, description="Default: after the others.")
    enabled: bool = True
    is_default: bool = False
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    business_hours_only: bool = True
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    warn_before_minutes: Minutes | None = None
    escalation: list[Step] = Field(default_factory=list, max_length=5)


class PolicyPatch(BaseModel):
    """Fields to change; those left out stay. Null clears a target, the conditions or the escalation; it is refused
    for the name, position and the switches."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    position: int | None = Field(default=None, ge=0, le=10000)
    enabled: bool | None = None
    is_default: bool | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    business_hours_only: bool | None = None
    conditions: list[Condition] | None = Field(default=None, max_length=20)
    warn_before_minutes: Minutes | None = None
    escalation: list[Step] | None = Field(default=None, max_length=5)


class Clock(BaseModel):
    """One SLA clock: a target's wait from `started_at`."""

    model_config = ConfigDict(from_attributes=True)
    target: Literal["first_response", "next_response", "resolution"]
    status: Literal["active", "hit", "missed"] = Field(
        description="active: running (or paused) and not yet due; hit: done in time; missed: its deadline passed "
                    "first (answered late, or not yet).")
    started_at: dt.datetime
    due_at: dt.datetime | None = Field(description="The deadline; null while paused with no known end (snoozed "
                                                   "without a time, or waiting on the customer).")
    done_at: dt.datetime | None = Field(description="When what it waited for happened.")


class Action(BaseModel):
    """A warning or escalation step the SLA job carried out (each once)."""

    model_config = ConfigDict(from_attributes=True)
    kind: Literal["warn", "escalate"]
    action: str | None = Field(description="The escalation step; null for a warning.")
    target: str
    done_at: dt.datetime


class ConversationSla(BaseModel):
    """A conversation's SLA: the policy that applied at its last evaluation, each target's latest clock, every
    breach and the actions taken."""

    model_config = ConfigDict(from_attributes=True)
    conversation_id: int
    policy_id: int | None
    policy_name: str | None
    priority: Literal["none", "low", "medium", "high", "urgent"]
    next_due_at: dt.datetime | None = Field(description="The earliest deadline still waited for (past when missed).")
    state: dict[str, Clock]
    breaches: list[Clock]
    actions: list[Action]


def add_routes(app: FastAPI, *, scoped: Callable[[str], Callable[..., Actor]], run: Callable[..., Any],
               errors: dict[int | str, dict[str, Any]]) -> None:
    """Add the /sla/policies routes to `app` (the v1 app hands over its auth dependency and runner)."""
    read = Annotated[Actor, Depends(scoped(access.scope("sla")))]
    write = Annotated[Actor, Depends(scoped(access.scope("sla", write=True)))]
    tags = ["sla"]

    @app.get("/sla/policies", response_model=list[Policy], tags=tags, responses=errors,
             summary="Your SLA policies, in the order they are tried")
    def list_policies(actor: read) -> Any:
        return run(sla.list_policies, actor)

    @app.post("/sla/policies", response_model=Policy, status_code=201, tags=tags, responses=errors,
              summary="Add a policy")
    def create(body: PolicyIn, actor: write) -> Any:
        values = body.model_dump()
        if values["position"] is None:
            del values["position"]
        return run(sla.create_policy, actor, **values)

    @app.get("/sla/policies/{policy_id}", response_model=Policy, tags=tags, responses=errors, summary="One policy")
    def get(policy_id: int, actor: read) -> Any:
        return run(sla.get_policy, actor, policy_id=policy_id)

    @app.patch("/sla/policies/{policy_id}", response_model=Policy, tags=tags, responses=errors,
               summary="Change a policy")
    def update(policy_id: int, body: PolicyPatch, actor: write) -> Any:
        return run(sla.update_policy, actor, policy_id=policy_id, **body.model_dump(exclude_unset=True))

    @app.delete("/sla/policies/{policy_id}", status_code=204, tags=tags, responses=errors,
                summary="Remove a policy")
    def delete(policy_id: int, actor: write) -> None:
        run(sla.delete_policy, actor, policy_id=policy_id)

    @app.get("/conversations/{conversation_id}/sla", response_model=ConversationSla, tags=tags, responses=errors,
             summary="A conversation's SLA: each target's state, its breaches and the actions taken")
    def conversation(conversation_id: int, actor: read) -> Any:
        return run(sla.conversation_sla, actor, conversation_id=conversation_id)
