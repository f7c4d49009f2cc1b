"""The consent ledger: append-only grants and withdrawals per contact and purpose.

`may_send(session, contact, purpose)` is the one question everything that sends marketing asks (it lives in
`core.consent`, below every sender; the outbound path refuses a MARKETING template without a grant). Opt-out words
and Meta's error 131050 arrive from the channel as jobs by name (the channel sits below this context), which
record a withdrawal once per message and confirm it to the customer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain import consent as rules
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import (
    ConsentEvent,
    ConsentSource,
    Contact,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    SenderType,
    Tenant,
)
from crm_app.services import settings
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor, require_role
from crm_app.services.core.consent import may_send, state  # noqa: F401  (re-exported: the ledger's check)

log = logging.getLogger(__name__)

LEGAL_BASES = ("consent", "contract", "legitimate_interest", "legal_obligation")
PRIVACY_ROLES = ("admin", "dpo")


@dataclass(frozen=True)
class ConsentRow:
    """One ledger row as pages and the API show it."""

    id: int
    purpose: str
    granted: bool
    legal_basis: str
    source: str
    policy_version: str
    proof: str
    created_at: dt.datetime


def _row(e: ConsentEvent) -> ConsentRow:
    return ConsentRow(e.id, e.purpose, e.granted, e.legal_basis, e.source, e.policy_version, e.proof, e.created_at)


def record(session: Session, *, tenant_id: int, contact_id: int, purpose: str, granted: bool, source: str,
           proof: str = "", legal_basis: str = "consent", actor: Actor | None = None) -> ConsentEvent:
    """Append one grant or withdrawal; the caller commits. Raises ValidationError on an unknown value."""
    if purpose not in rules.PURPOSES:
        raise ValidationError(f"unknown purpose {purpose!r}", field="purpose")
    if source not in set(ConsentSource):
        raise ValidationError(f"unknown source {source!r}", field="source")
    if legal_basis not in LEGAL_BASES:
        raise ValidationError(f"unknown legal basis {legal_basis!r}", field="legal_basis")
    version = settings.value(session, "privacy.policy_version", tenant_id=tenant_id)
    event = ConsentEvent(tenant_id=tenant_id, contact_id=contact_id, purpose=purpose, granted=granted,
                         legal_basis=legal_basis, source=source, policy_version=version,
                         proof=(proof or (actor.label if actor else "system"))[:160],
                         actor_user_id=actor.user_id if actor else None)
    session.add(event)
    return event


def set_consent(session: Session, *, actor: Actor, contact_id: int, purpose: str, granted: bool,
                legal_basis: str = "consent", source: str = ConsentSource.ADMIN) -> ConsentRow:
    """An admin or DPO records an answer given outside WhatsApp (by phone, on paper, by the API)."""
    require_role(actor, *PRIVACY_ROLES)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != actor.tenant_id:
        raise NotFound("contact not found")
    event = record(session, tenant_id=actor.tenant_id, contact_id=contact_id, purpose=purpose, granted=granted,
                   source=source, legal_basis=legal_basis, actor=actor)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="consent.recorded",
                 target_type="contact", target_id=contact_id, after={"purpose": purpose, "granted": granted})
    session.flush()
    return _row(event)


def list_consents(session: Session, *, actor: Actor, contact_id: int) -> list[ConsentRow]:
    """The whole ledger of one contact, oldest first."""
    require_role(actor, *PRIVACY_ROLES)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != actor.tenant_id:
        raise NotFound("contact not found")
    rows = session.exec(select(ConsentEvent).where(ConsentEvent.contact_id == contact_id)
                        .order_by(ConsentEvent.id)).all()
    return [_row(e) for e in rows]


def counts_by_purpose(session: Session, *, actor: Actor) -> dict[str, dict[str, int]]:
    """Per purpose, how many contacts currently granted and withdrew (for the overview)."""
    require_role(actor, *PRIVACY_ROLES)
    rows = session.exec(select(ConsentEvent.contact_id, ConsentEvent.purpose, ConsentEvent.granted)
                        .where(ConsentEvent.tenant_id == actor.tenant_id).order_by(ConsentEvent.id)).all()
    latest: dict[tuple[int, str], bool] = {}
    for contact_id, purpose, granted in rows:
        latest[(contact_id, purpose)] = granted
    counts = {p: {"granted": 0, "withdrawn": 0} for p in rules.PURPOSES}
    for (_, purpose), granted in latest.items():
        counts[purpose]["granted" if granted else "withdrawn"] += 1
    return counts


def _already_recorded(session: Session, contact_id: int, proof: str, source: str) -> bool:
    return session.exec(select(ConsentEvent.id).where(
        ConsentEvent.contact_id == contact_id, ConsentEvent.proof == proof,
        ConsentEvent.source == source)).first() is not None


def apply_opt_out(message_id: int) -> str:
    """Job: a customer's opt-out word withdraws marketing consent once; returns what it did.

    The confirmation goes back through the channel's outbound path, keyed by the message so a second run
    sends nothing twice.
    """
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None or message.wa_message_id is None:
            return "missing"
        conversation = session.get(Conversation, message.conversation_id)
        if _already_recorded(session, conversation.contact_id, message.wa_message_id,
                             ConsentSource.OPT_OUT_KEYWORD):
            return "done"
        record(session, tenant_id=message.tenant_id, contact_id=conversation.contact_id, purpose="marketing",
               granted=False, source=ConsentSource.OPT_OUT_KEYWORD, proof=message.wa_message_id)
        _confirm(session, conversation, message)
    return "withdrawn"


def _confirm(session: Session, conversation: Conversation, message: Message) -> None:
    from crm_app.services.channel import outbound

    reply = settings.value(session, "privacy.opt_out_reply", tenant_id=message.tenant_id)
    try:  # send_message refuses before it writes anything: the withdrawal stands even when no reply can go
        outbound.send_message(session, actor=None, tenant_id=message.tenant_id, conversation_id=conversation.id,
                              content={"type": "text", "body": reply}, client_key=f"opt-out-{message.id}")
    except CRMError as exc:
        log.warning("opt-out confirmation to conversation %s not queued: %s", conversation.id, exc.code)


def apply_meta_opt_out(message_id: int) -> str:
    """Job: Meta refused a marketing message with 131050 (the customer stopped marketing): record it once."""
    with session_scope() as session:
        message = session.get(Message, message_id)
        if message is None:
            return "missing"
        conversation = session.get(Conversation, message.conversation_id)
        proof = f"message:{message.id}"
        if _already_recorded(session, conversation.contact_id, proof, ConsentSource.META_131050):
            return "done"
        record(session, tenant_id=message.tenant_id, contact_id=conversation.contact_id, purpose="marketing",
               granted=False, source=ConsentSource.META_131050, proof=proof, legal_basis="consent")
    return "withdrawn"


# How far back the sweep looks for an opt-out whose job was lost (Redis down at the commit, a worker killed).
SWEEP_WINDOW = dt.timedelta(hours=6)
_OPT_OUT_MAX_CHARS = 40  # an opt-out is one word; longer texts are never one
_META_OPTED_OUT = 131050


def sweep_opt_outs(now: dt.datetime | None = None) -> int:
    """Job: apply the opt-outs of the last SWEEP_WINDOW whose withdrawal is not in the ledger yet.

    The inbound path queues `apply_opt_out` after its commit; when that job is lost, the customer's word
    still stands in `messages`, and this sweep finds it. Both jobs are idempotent, so a withdrawal is recorded
    (and confirmed) once whoever gets there first.

    Returns:
        How many withdrawals it recorded.
    """
    since = (now or utcnow()) - SWEEP_WINDOW
    done = 0
    with session_scope() as session:
        tenant_ids = session.exec(select(Tenant.id)).all()
    for tenant_id in tenant_ids:
        for message_id in _missed_words(tenant_id, since):
            done += apply_opt_out(message_id) == "withdrawn"
        for message_id in _missed_meta_refusals(tenant_id, since):
            done += apply_meta_opt_out(message_id) == "withdrawn"
    return done


def _missed_words(tenant_id: int, since: dt.datetime) -> list[int]:
    with session_scope() as session:
        words = settings.value(session, "privacy.opt_out_keywords", tenant_id=tenant_id)
        rows = session.exec(select(Message.id, Message.body, Message.wa_message_id).where(
            Message.tenant_id == tenant_id, Message.created_at >= since, Message.direction == Direction.INBOUND,
            Message.sender_type == SenderType.CUSTOMER, Message.kind == "text", Message.wa_message_id.is_not(None),
            sa.func.length(Message.body) <= _OPT_OUT_MAX_CHARS)).all()
        said = {wamid: message_id for message_id, body, wamid in rows if rules.is_opt_out(body, words)}
        if not said:
            return []
        recorded = set(session.exec(select(ConsentEvent.proof).where(
            ConsentEvent.tenant_id == tenant_id, ConsentEvent.source == ConsentSource.OPT_OUT_KEYWORD,
            ConsentEvent.proof.in_(list(said)))).all())
    return sorted(message_id for wamid, message_id in said.items() if wamid not in recorded)


def _missed_meta_refusals(tenant_id: int, since: dt.datetime) -> list[int]:
    with session_scope() as session:
        ids = session.exec(select(Message.id).where(
            Message.tenant_id == tenant_id, Message.created_at >= since, Message.status == MessageStatus.FAILED,
            Message.error_code == _META_OPTED_OUT)).all()
        if not ids:
            return []
        recorded = set(session.exec(select(ConsentEvent.proof).where(
            ConsentEvent.tenant_id == tenant_id, ConsentEvent.source == ConsentSource.META_131050,
            ConsentEvent.proof.in_([f"message:{i}" for i in ids]))).all())
    return sorted(i for i in ids if f"message:{i}" not in recorded)
