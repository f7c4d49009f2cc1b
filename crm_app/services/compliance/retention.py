"""Retention: per-tenant policies (optionally per WhatsApp number or label) applied nightly in batches.

- `message_bodies`: message texts and media older than N days are deleted (rows stay, so counts stay), and so
  are those messages (and their statuses) in the raw webhook bodies of `inbound_events`.
- `anonymise_contacts`: contacts with no activity for N days are erased (the erasure steps and ledger). A scope
  (number, label) chooses whom to look at, never whose activity counts: a contact still active through another
  number or label is not inactive.
- `purge_closed`: conversations closed more than N days ago lose their messages' texts and media, likewise.

A CSAT comment is a copy of a customer message: it goes whenever that message's text goes (the rating stays).

Contacts under legal hold are skipped. A file is deleted only once no other message still holds it (outbound
attachments are stored by content, so two contacts may share one). A dry run counts what a run would remove; a
run records its report on the policy. Each batch is its own transaction, never one giant one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain.consent import ERASED_WAMID_PREFIX
from crm_app.errors import NotFound, ValidationError
from crm_app.models import (
    Contact,
    Conversation,
    ConversationLabel,
    ConversationStatus,
    CsatSurvey,
    ErasureRecord,
    InboundEvent,
    InboundEventStatus,
    Inbox,
    Label,
    LegalHold,
    Message,
    RetentionAction,
    RetentionPolicy,
)
from crm_app.services.compliance import erasure
from crm_app.services.compliance.consent import PRIVACY_ROLES
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role

BATCH = 500
MAX_DAYS = 3650
WEBHOOK_WINDOW = dt.timedelta(days=8)  # how long after a message its webhooks (and most statuses) may arrive


@dataclass(frozen=True)
class PolicyRow:
    """One policy as the retention page shows it."""

    id: int
    action: str
    days: int
    inbox_id: int | None
    label_id: int | None
    enabled: bool
    last_run_at: dt.datetime | None
    last_report: dict[str, Any]


def _row(p: RetentionPolicy) -> PolicyRow:
    return PolicyRow(p.id, p.action, p.days, p.inbox_id, p.label_id, p.enabled, p.last_run_at, dict(p.last_report))


def create_policy(session: Session, *, actor: Actor, action: str, days: int, inbox_id: int | None = None,
                  label_id: int | None = None) -> PolicyRow:
    """Add a policy. Raises ValidationError for an unknown action, a number of days under 1 (a 0-day policy
    would delete what arrives today) or over ten years, and NotFound for another tenant's number or label."""
    require_role(actor, *PRIVACY_ROLES)
    if action not in set(RetentionAction):
        raise ValidationError(f"action must be one of {', '.join(RetentionAction)}", field="action")
    if not isinstance(days, int) or days < 1 or days > MAX_DAYS:
        raise ValidationError(f"days must be between 1 and {MAX_DAYS}", field="days")
    for model, row_id, what in ((Inbox, inbox_id, "number"), (Label, label_id, "label")):
        if row_id is not None:
            row = session.get(model, row_id)
            if row is None or row.tenant_id != actor.tenant_id:
                raise NotFound(f"{what} not found")
    policy = RetentionPolicy(tenant_id=actor.tenant_id, action=action, days=days, inbox_id=inbox_id,
                             label_id=label_id)
    session.add(policy)
    session.flush()
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="privacy.retention.created",
                 target_type="retention_policy", target_id=policy.id, after={"action": action, "days": days})
    return _row(policy)


def delete_policy(session: Session, *, actor: Actor, policy_id: int) -> None:
    """Remove a policy of the actor's tenant."""
    require_role(actor, *PRIVACY_ROLES)
    policy = session.get(RetentionPolicy, policy_id)
    if policy is None or policy.tenant_id != actor.tenant_id:
        raise NotFound("retention policy not found")
    session.delete(policy)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="privacy.retention.deleted",
                 target_type="retention_policy", target_id=policy_id)


def list_policies(session: Session, *, actor: Actor) -> list[PolicyRow]:
    """The tenant's policies, oldest first."""
    require_role(actor, *PRIVACY_ROLES)
    rows = session.exec(select(RetentionPolicy).where(RetentionPolicy.tenant_id == actor.tenant_id)
                        .order_by(RetentionPolicy.id)).all()
    return [_row(p) for p in rows]


def _held_contacts(tenant_id: int):
    return select(LegalHold.contact_id).where(LegalHold.tenant_id == tenant_id, LegalHold.released_at.is_(None))


def _conversations_in_scope(policy: RetentionPolicy, now: dt.datetime):
    query = select(Conversation.id).where(Conversation.tenant_id == policy.tenant_id,
                                          Conversation.contact_id.not_in(_held_contacts(policy.tenant_id)))
    if policy.inbox_id is not None:
        query = query.where(Conversation.inbox_id == policy.inbox_id)
    if policy.label_id is not None:
        query = query.where(Conversation.id.in_(select(ConversationLabel.conversation_id).where(
            ConversationLabel.label_id == policy.label_id)))
    if policy.action == RetentionAction.PURGE_CLOSED:
        query = query.where(Conversation.status == ConversationStatus.CLOSED,
                            Conversation.closed_at < _cutoff(policy, now))
    return query


def _cutoff(policy: RetentionPolicy, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) - dt.timedelta(days=policy.days)


def _messages_query(policy: RetentionPolicy, now: dt.datetime):
    query = select(Message.id).where(Message.conversation_id.in_(_conversations_in_scope(policy, now)),
                                     sa.or_(Message.body.is_not(None), Message.media_storage_key.is_not(None)))
    if policy.action == RetentionAction.MESSAGE_BODIES:
        query = query.where(Message.created_at < _cutoff(policy, now))
    return query


def _contacts_query(policy: RetentionPolicy, now: dt.datetime):
    """Contacts with a conversation in the policy's scope whose last activity anywhere in the tenant (every
    number, every label) is older than the cutoff."""
    in_scope = select(Conversation.contact_id).where(Conversation.id.in_(_conversations_in_scope(policy, now)))
    activity = sa.func.coalesce(Conversation.last_message_at, Conversation.created_at)
    last = (select(Conversation.contact_id, sa.func.max(activity).label("last"))
            .where(Conversation.tenant_id == policy.tenant_id).group_by(Conversation.contact_id).subquery())
    erased = select(ErasureRecord.contact_id).where(ErasureRecord.tenant_id == policy.tenant_id)
    return (select(Contact.id).join(last, last.c.contact_id == Contact.id)
            .where(Contact.tenant_id == policy.tenant_id, Contact.id.in_(in_scope), last.c.last < _cutoff(policy, now),
                   Contact.id.not_in(erased), Contact.id.not_in(_held_contacts(policy.tenant_id))))


def count_policy(session: Session, policy: RetentionPolicy, now: dt.datetime | None = None) -> dict[str, int]:
    """What a run would remove now: messages (texts and files) or contacts."""
    now = now or utcnow()
    if policy.action == RetentionAction.ANONYMISE_CONTACTS:
        return {"contacts": session.exec(select(sa.func.count()).select_from(
            _contacts_query(policy, now).subquery())).one()}
    return {"messages": session.exec(select(sa.func.count()).select_from(
        _messages_query(policy, now).subquery())).one()}


def dry_run(session: Session, *, actor: Actor, now: dt.datetime | None = None) -> dict[int, dict[str, int]]:
    """Per policy of the tenant, the counts a run would remove (nothing is changed)."""
    require_role(actor, *PRIVACY_ROLES)
    policies = session.exec(select(RetentionPolicy).where(RetentionPolicy.tenant_id == actor.tenant_id)).all()
    return {p.id: count_policy(session, p, now) for p in policies}


def _strip_messages(policy_id: int, now: dt.datetime) -> int:
    removed = 0
    while True:
        with session_scope() as session:
            policy = session.get(RetentionPolicy, policy_id)
            ids = session.exec(_messages_query(policy, now).order_by(Message.id).limit(BATCH)).all()
            messages = session.exec(select(Message).where(Message.id.in_(ids))).all()
            keys = {m.media_storage_key for m in messages if m.media_storage_key}
            for message in messages:
                message.body = message.search_text = message.edit_history = message.media_storage_key = None
                message.payload = {"retention": True}
                session.add(message)
            session.flush()
            erasure.delete_unshared_files(session, policy.tenant_id, keys)
            strip_inbound_events(session, policy.tenant_id, messages)
            strip_csat_comments(session, policy.tenant_id, messages)
        removed += len(ids)
        if len(ids) < BATCH:
            return removed


def strip_csat_comments(session: Session, tenant_id: int, messages: list[Message]) -> int:
    """A CSAT comment is a copy of the customer's message: it goes with the message's text (the rating stays).
    Returns how many comments were removed."""
    wamids = sorted({m.wa_message_id for m in messages if m.wa_message_id})
    if not wamids:
        return 0
    return session.exec(sa.update(CsatSurvey).where(
        CsatSurvey.tenant_id == tenant_id, CsatSurvey.comment_wa_message_id.in_(wamids),
        CsatSurvey.comment.is_not(None)).values(comment=None)).rowcount


def strip_inbound_events(session: Session, tenant_id: int, messages: list[Message]) -> int:
    """Remove `messages` (and the statuses about them) from the raw webhook bodies they arrived or were
    reported in. Other people's messages in the same webhook stay; a body left with nothing becomes a marker.
    Only processed events: a pending or dead one still needs its body. Returns how many bodies changed."""
    wamids = {m.wa_message_id for m in messages
              if m.wa_message_id and not m.wa_message_id.startswith(ERASED_WAMID_PREFIX)}
    if not wamids:
        return 0
    # A webhook never arrives before its message was sent, and Meta stops retrying one after a week; a status
    # (a read receipt weeks later) outside the window keeps its wamid and phone, never a text.
    since = min(m.sent_at or m.created_at for m in messages) - dt.timedelta(days=1)
    until = max(m.created_at for m in messages) + WEBHOOK_WINDOW
    events = session.exec(select(InboundEvent).where(
        InboundEvent.tenant_id == tenant_id, InboundEvent.received_at >= since, InboundEvent.received_at <= until,
        InboundEvent.status == InboundEventStatus.PROCESSED,
        sa.or_(*(InboundEvent.body.contains(w) for w in sorted(wamids))))).all()
    changed = 0
    for event in events:
        body = without_messages(event.body, wamids)
        if body != event.body:
            event.body, changed = body, changed + 1
            session.add(event)
    return changed


def without_messages(body: str, wamids: set[str]) -> str:
    """The webhook body without the messages and statuses of `wamids`, nor the contacts only they named."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict):
        return body
    left = removed = 0
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            messages, statuses = value.get("messages") or [], value.get("statuses") or []
            value["messages"] = [m for m in messages if m.get("id") not in wamids]
            value["statuses"] = [s for s in statuses if s.get("id") not in wamids]
            senders = {m.get("from") for m in value["messages"]} | {s.get("recipient_id") for s in value["statuses"]}
            value["contacts"] = [c for c in value.get("contacts") or [] if c.get("wa_id") in senders]
            left += len(value["messages"]) + len(value["statuses"])
            removed += len(messages) + len(statuses) - len(value["messages"]) - len(value["statuses"])
    if not removed:
        return body
    return json.dumps(payload) if left else '{"retention": true}'


def _anonymise(policy_id: int, now: dt.datetime) -> int:
    with session_scope() as session:
        policy = session.get(RetentionPolicy, policy_id)
        tenant_id, contact_ids = policy.tenant_id, list(session.exec(_contacts_query(policy, now)).all())
    for contact_id in contact_ids:  # each erasure commits step by step
        erasure.run_steps(tenant_id, contact_id)
    return len(contact_ids)


def apply_policy(policy_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Run one policy in batches and record its report. Running it again removes nothing more."""
    now = now or utcnow()
    with session_scope() as session:
        policy = session.get(RetentionPolicy, policy_id)
        if policy is None or not policy.enabled:
            return {}
        action = policy.action
    report = ({"contacts": _anonymise(policy_id, now)} if action == RetentionAction.ANONYMISE_CONTACTS
              else {"messages": _strip_messages(policy_id, now)})
    with session_scope() as session:
        policy = session.get(RetentionPolicy, policy_id)
        policy.last_run_at, policy.last_report = now, report
        session.add(policy)
        # the run's history (the policy keeps only its last report): the trail and the DPO's monthly report
        audit.record(session, actor=None, tenant_id=policy.tenant_id, action="privacy.retention.run",
                     target_type="retention_policy", target_id=policy_id, after={"action": action, "removed": report})
    return report


def apply_retention(now: dt.datetime | None = None) -> int:
    """Job (nightly, `bulk`): every enabled policy of every tenant. Returns how many policies ran."""
    with session_scope() as session:
        ids = list(session.exec(select(RetentionPolicy.id).where(RetentionPolicy.enabled)
                                .order_by(RetentionPolicy.id)).all())
    for policy_id in ids:
        apply_policy(policy_id, now)
    return len(ids)
