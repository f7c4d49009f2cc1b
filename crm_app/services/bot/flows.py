"""Each inbox's bot flow: the editor's draft, its published versions, and demo seeding.

A draft may be in any state of editing; `publish` validates it (`domain.flows.validate_flow`) and
stores it as a new numbered version, which new bot sessions of the inbox then run.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from crm_app.db import utcnow
from crm_app.domain import flows
from crm_app.errors import NotFound, ValidationError
from crm_app.models import BotFlow, BotFlowVersion, Conversation, Inbox, User
from crm_app.services.channel import bot_gate
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, fetch_owned, require_role

MAX_DEFINITION_CHARS = 200_000


@dataclass(frozen=True)
class FlowView:
    """One inbox's flow as the editor shows it."""

    inbox_id: int
    draft: dict[str, Any]
    published_version: int
    draft_updated_at: dt.datetime | None


@dataclass(frozen=True)
class VersionRow:
    """A published version."""

    version: int
    published_at: dt.datetime
    published_by: str


class FlowInvalid(ValidationError):
    """The draft has problems; `problems` lists them (codes the editor translates)."""

    code = "flow_invalid"

    def __init__(self, problems: list[flows.FlowProblem]) -> None:
        super().__init__("the flow has problems: " + "; ".join(
            f"{p.code}{' at ' + p.node_id if p.node_id else ''}" for p in problems[:5]))
        self.problems = problems


def get_flow(session: Session, *, actor: Actor, inbox_id: int) -> FlowView:
    """The inbox's draft (an empty flow when none was saved) and its published version number.

    Raises:
        PermissionDenied: The actor is not an admin.
        NotFound: No such inbox in the actor's tenant.
    """
    require_role(actor, "admin")
    inbox, flow = _flow_row(session, actor, inbox_id)
    if flow is None:
        return FlowView(inbox.id, flows.empty_flow(), 0, None)
    return FlowView(inbox.id, flow.draft or flows.empty_flow(), flow.published_version, flow.draft_updated_at)


def save_draft(session: Session, *, actor: Actor, inbox_id: int, definition: dict[str, Any]) -> FlowView:
    """Store the draft (any state of editing; validation happens at publish).

    Raises:
        ValidationError: `definition` is not a JSON object of at most 200 KB.
    """
    require_role(actor, "admin")
    if not isinstance(definition, dict) or len(json.dumps(definition, ensure_ascii=False)) > MAX_DEFINITION_CHARS:
        raise ValidationError("the flow must be a JSON object of at most 200 KB", field="definition")
    inbox, flow = _flow_row(session, actor, inbox_id, lock=True)
    if flow is None:
        flow = BotFlow(tenant_id=inbox.tenant_id, inbox_id=inbox.id, draft={})
    flow.draft, flow.draft_updated_at, flow.draft_updated_by_user_id = definition, utcnow(), actor.user_id
    session.add(flow)
    session.flush()
    audit.record(session, actor=actor, tenant_id=inbox.tenant_id, action="bot_flow.save_draft",
                 target_type="inbox", target_id=inbox.id, after={"nodes": len(definition.get("nodes") or {})})
    return FlowView(inbox.id, flow.draft, flow.published_version, flow.draft_updated_at)


def publish(session: Session, *, actor: Actor, inbox_id: int) -> VersionRow:
    """Publish the saved draft as a new version.

    Raises:
        FlowInvalid: `validate_flow` finds problems in the draft.
        ValidationError: No draft was saved yet.
    """
    require_role(actor, "admin")
    inbox, flow = _flow_row(session, actor, inbox_id, lock=True)
    if flow is None:
        raise ValidationError("save a draft first")
    problems = flows.validate_flow(flow.draft)
    if problems:
        raise FlowInvalid(problems)
    number = flow.published_version + 1
    version = BotFlowVersion(tenant_id=inbox.tenant_id, flow_id=flow.id, version=number, definition=flow.draft,
                             published_by_user_id=actor.user_id)
    flow.published_version = number
    session.add_all([version, flow])
    session.flush()
    audit.record(session, actor=actor, tenant_id=inbox.tenant_id, action="bot_flow.publish", target_type="inbox",
                 target_id=inbox.id, before={"version": number - 1}, after={"version": number})
    bot_gate.forget_published_flow(session, inbox.id)
    return VersionRow(number, version.published_at, actor.name)


def list_versions(session: Session, *, actor: Actor, inbox_id: int) -> list[VersionRow]:
    """Published versions, newest first."""
    require_role(actor, "admin")
    _, flow = _flow_row(session, actor, inbox_id)
    if flow is None:
        return []
    publisher = User.id == BotFlowVersion.published_by_user_id
    rows = session.exec(select(BotFlowVersion, User.name).outerjoin(User, publisher)
                        .where(BotFlowVersion.flow_id == flow.id).order_by(BotFlowVersion.version.desc())).all()
    return [VersionRow(v.version, v.published_at, name or "") for v, name in rows]


def seed_flow(session: Session, *, tenant_id: int, inbox_id: int, definition: dict[str, Any]) -> bool:
    """Store and publish `definition` for an inbox that has no flow yet (demo seeding).

    Returns:
        Whether it stored it (False when the inbox already has a flow).

    Raises:
        FlowInvalid: `definition` has problems.
    """
    if session.exec(select(BotFlow.id).where(BotFlow.inbox_id == inbox_id)).first() is not None:
        return False
    problems = flows.validate_flow(definition)
    if problems:
        raise FlowInvalid(problems)
    flow = BotFlow(tenant_id=tenant_id, inbox_id=inbox_id, draft=definition, published_version=1)
    session.add(flow)
    session.flush()
    session.add(BotFlowVersion(tenant_id=tenant_id, flow_id=flow.id, version=1, definition=definition))
    session.flush()
    bot_gate.forget_published_flow(session, inbox_id)
    return True


def flow_of_conversation(session: Session, *, conversation_id: int) -> dict[str, Any] | None:
    """The published definition a conversation's inbox runs (support and tests).

    Raises:
        NotFound: No such conversation.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation not found")
    return bot_gate.published_flow(session, conversation.inbox_id)[1]


def _flow_row(session: Session, actor: Actor, inbox_id: int, *, lock: bool = False) -> tuple[Inbox, BotFlow | None]:
    inbox = fetch_owned(session, Inbox, inbox_id, actor=actor, what="inbox")
    query = select(BotFlow).where(BotFlow.inbox_id == inbox.id)
    return inbox, session.exec(query.with_for_update() if lock else query).first()
