"""Outbound messages: queued by attendants or the bot, delivered by hot workers in creation order.

`send_message` stores the message (`queued`, unique client key) and, after commit, queues its delivery.
`deliver_message` runs in a worker and makes one attempt per run; nothing in it sleeps:

- **Order.** A conversation's outbound messages go out one at a time, in creation (id) order: a message is
  claimed (`queued` -> `sending`) only when it is the oldest queued message of its conversation and none is
  `sending` (one conditional UPDATE). When it is accepted or finally fails, the next one's job is queued
  ("released"). Releases and inserts take the conversation's row lock, so a release never misses a message
  queued at the same moment, and an insert only queues a job for a message nobody will release. Different
  conversations go in parallel.
- **Rate.** Before claiming, a slot is taken from the number's limiter (`core.ratelimit`, interactive or bulk
  lane). With no slot free the job re-queues itself for when one frees (RQ's scheduled jobs) and returns.
- **Retries.** 130429, 131056, 5xx and timeouts (`retryable` errors) put the message back to `queued` with
  `next_attempt_at`, still first in its conversation's line, and schedule a job for then (`retry_delay`);
  after `wa_send_attempts` attempts it fails. Permanent errors fail it at once with Meta's code and reason.
  A failed message no longer holds up the ones behind it.
- **Crashes.** A message is `sending` only during its Graph call. If its worker dies there, the outcome is
  unknown (Meta may have it), so it is never sent again automatically: once its claim is older than
  `SEND_LEASE` the sweeper marks it failed with that reason and releases the next message.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from crm_app.config import get_settings
from crm_app.db import after_commit, insert_ignoring_conflicts, session_scope, utcnow
from crm_app.domain import outbound
from crm_app.domain.inbox import compute_preview
from crm_app.domain.meta_errors import MARKETING_OPTED_OUT, classify
from crm_app.domain.outbound_content import build_body, display_text, message_kind, needs_open_window
from crm_app.domain.search import fold
from crm_app.errors import CRMError, NotFound, PermissionDenied, ValidationError
from crm_app.integrations import ExternalServiceError, meta_graph
from crm_app.models import (
    ContactInbox,
    Conversation,
    Direction,
    Inbox,
    Message,
    MessageKind,
    MessageStatus,
    SenderType,
)
from crm_app.services.channel import media
from crm_app.services.channel.marketing import MarketingConsentRequired, check_marketing_consent
from crm_app.services.conversations import access as conversation_access
from crm_app.services.conversations import facts as analytics_facts
from crm_app.services.core import audit, jobs, outbox, ratelimit, realtime
from crm_app.services.core.actors import Actor, fetch_owned, require_role

log = logging.getLogger(__name__)
WINDOW_CLOSED_CODE = 131047
PAIR_RATE_LIMIT_CODE = 131056
PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING)
# A claim older than this had its worker die mid-call (the send job's timeout, plus time to record the outcome).
SEND_LEASE = dt.timedelta(seconds=jobs.spec("send_outbound_message").timeout + 30)
# The rate limit's window: `wa_rate_limit_per_second` sends per this many seconds. A little over Meta's one
# second, because our grant and Meta's receipt are not equally far apart for every send (a worker may be
# descheduled in between, and a claim takes two row locks): 50 ms of such jitter still keeps any second at Meta
# within the limit. (Measured in bench/outbound.py: with 1.0 the fake refused about 1 % of sends with 130429;
# with 1.02, 2 of 2,000 once the claim took its locks; with 1.05, none in two runs, at 71-74 sends/s of 80.)
SLOT_WINDOW = 1.05


class WindowClosed(CRMError):
    """More than 24 hours since the customer last wrote: only a template may be sent."""

    code = "window_closed"
    status = 409


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    status: str
    kind: str
    body: str | None
    client_key: str | None
    wa_message_id: str | None
    error_code: int | None
    error_reason: str | None


def _row(m: Message) -> MessageRow:
    return MessageRow(m.id, m.conversation_id, str(m.status), str(m.kind), m.body, m.client_key, m.wa_message_id,
                      m.error_code, m.error_reason)


def enqueue_delivery(message_id: int, *, tag: str | None = None, delay: float = 0) -> None:
    """Queue the delivery job on the hot queue (after `delay` seconds through RQ's scheduled jobs).

    `tag` names why it is queued again (`after-<id>`, `retry-<n>`, `slot-<ms>`): each gets its own job id,
    so it never collides with a run of the same message's first job that is still finishing. RQ's scheduled
    registry keeps whole seconds and moves due jobs once a second, so a delay is rounded up to a second's
    boundary: rounded down, the job could run up to a second early.
    """
    if delay > 0:
        now = time.time()
        delay = math.ceil(now + delay) - now
    jobs.enqueue("send_outbound_message", message_id, tag=tag, delay=delay)


def send_message(
    session: Session,
    *,
    actor: Actor | None,
    conversation_id: int,
    content: dict[str, Any],
    client_key: str | None = None,
    reply_to_message_id: int | None = None,
    tenant_id: int | None = None,
    lane: str = ratelimit.INTERACTIVE,
) -> MessageRow:
    """Queue one message to the conversation's customer; the same `client_key` sends once.

    `actor=None` is the bot, which must name the `tenant_id` it acts for. A human must be allowed to
    reply here (`conversations.access.can_send`: nobody while the bot owns it; then staff, or the assigned attendant).
    `lane` is the rate limiter's lane: `interactive` for replies, `bulk` for campaigns, which yield to replies.
    A MARKETING template needs the contact's marketing consent (`MarketingConsentRequired`, 409, otherwise).
    """
    if lane not in ratelimit.LANES:
        raise ValidationError(f"unknown lane {lane!r}", field="lane")
    conversation = _conversation(session, actor, tenant_id, conversation_id)
    key = content.get("storage_key")
    if key is not None and not str(key).startswith(f"{conversation.tenant_id}/"):
        raise NotFound("file not found")  # another tenant's stored file
    if client_key:
        existing = _by_client_key(session, conversation.tenant_id, client_key)
        if existing is not None:
            return _same_send(existing, conversation, actor)
    link = session.get(ContactInbox, conversation.contact_inbox_id)
    reply_to = _reply_target(session, conversation, reply_to_message_id)
    # A stored file gets its media id at send time; validate the rest now.
    probe = {**content, "media_id": "0"} if content.get("storage_key") and not content.get("media_id") else content
    try:
        build_body(probe, link.wa_id, reply_to.wa_message_id if reply_to else None)
    except outbound.OutboundError as exc:
        raise ValidationError(exc.message, field=exc.code) from exc
    if needs_open_window(content) and not outbound.is_window_open(conversation.last_customer_message_at, utcnow()):
        raise WindowClosed("more than 24 hours since the customer's last message: send a template")
    check_marketing_consent(session, conversation, content)
    return _insert(session, conversation, actor, content, client_key, reply_to, lane)


def _conversation(session: Session, actor: Actor | None, tenant_id: int | None, conversation_id: int) -> Conversation:
    if actor is not None:
        require_role(actor, "admin", "supervisor", "attendant")
        conversation = fetch_owned(session, Conversation, conversation_id, actor=actor, what="conversation")
        if not conversation_access.can_send(conversation, actor):
            raise PermissionDenied("take the conversation over before replying")
        return conversation
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.tenant_id != tenant_id:
        raise NotFound("conversation not found")
    return conversation


class IdempotencyKeyReused(ValidationError):
    """The key names another sender's or another conversation's message."""

    code = "idempotency_key_reused"


def _same_send(existing: Message, conversation: Conversation, actor: Actor | None) -> MessageRow:
    """A repeated key is the same send only from the same sender in the same conversation; else refused,
    so that nobody can pre-empt (and silently swallow) someone else's message by guessing its key."""
    sender = actor.user_id if actor else None
    if existing.conversation_id != conversation.id or existing.sender_user_id != sender:
        raise IdempotencyKeyReused("this idempotency key was already used for another message", field="client_key")
    return _row(existing)


def _by_client_key(session: Session, tenant_id: int, client_key: str) -> Message | None:
    return session.exec(select(Message).where(Message.tenant_id == tenant_id,
                                              Message.client_key == client_key)).first()


def _reply_target(session: Session, conversation: Conversation, message_id: int | None) -> Message | None:
    if message_id is None:
        return None
    target = session.get(Message, message_id)
    if target is None or target.conversation_id != conversation.id or not target.wa_message_id:
        raise ValidationError("the message you reply to is not in this conversation")
    return target


def _insert(session: Session, conversation: Conversation, actor: Actor | None, content: dict[str, Any],
            client_key: str | None, reply_to: Message | None, lane: str) -> MessageRow:
    # Ids follow commit order within a conversation, and a release running now sees this message (_release_next).
    _lock_conversation(session, conversation.id)
    kind, body = message_kind(content), display_text(content)
    message = Message(
        tenant_id=conversation.tenant_id, conversation_id=conversation.id, direction=Direction.OUTBOUND,
        sender_type=SenderType.ATTENDANT if actor else SenderType.BOT,
        sender_user_id=actor.user_id if actor else None, kind=MessageKind(kind),
        body=body, search_text=fold(body) or None,
        # a stored file is served back to the inbox by /api/media like a received one
        media_storage_key=content.get("storage_key"), media_mime=content.get("mime"),
        media_token=media.new_media_token() if content.get("storage_key") else None,
        payload={"content": content, **({"lane": lane} if lane != ratelimit.INTERACTIVE else {})},
        status=MessageStatus.QUEUED, client_key=client_key,
        reply_to_message_id=reply_to.id if reply_to else None,
        reply_to_wa_message_id=reply_to.wa_message_id if reply_to else None,
    )
    values = message.model_dump(exclude={"id"})
    new_id = insert_ignoring_conflicts(session, Message, values, ["tenant_id", "client_key"]) if client_key else None
    if client_key and new_id is None:  # a concurrent double submit won the race
        return _same_send(_by_client_key(session, conversation.tenant_id, client_key), conversation, actor)
    if new_id is None:
        session.add(message)
        session.flush()
        new_id = message.id
    now = utcnow()
    conversation.last_message_at = now
    if kind != "reaction":
        conversation.last_message_preview = compute_preview(kind, body)
    if actor is not None and conversation.first_reply_at is None:
        conversation.first_reply_at = now
    analytics_facts.note(session, conversation, "human" if actor else "bot", at=now, user_id=actor and actor.user_id)
    session.add(conversation)
    if not _others_pending(session, conversation.id, new_id):  # else the message before it releases it
        after_commit(session, lambda: enqueue_delivery(new_id))
    realtime.publish_after_commit(session, conversation.tenant_id, "message.new", conversation_id=conversation.id,
                                  data={"message_id": new_id})
    return _row(session.get(Message, new_id))


def resend_failed(session: Session, *, actor: Actor, message_id: int) -> MessageRow:
    """Queue a failed outbound message again ("Reenviar"); a message already queued again is left alone.

    Only attendant and bot messages that failed, in a conversation the actor may write in. The error is
    cleared, the attempts start over, and the delivery job is enqueued after commit.
    """
    require_role(actor, "admin", "supervisor", "attendant")
    message = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
    if message is None or message.tenant_id != actor.tenant_id:
        raise NotFound("message not found")
    # A failed message going back to `queued` moves backwards in its conversation's line: claims and releases
    # of the others must see it before or after, never half-way (see `_claim`).
    _lock_conversation(session, message.conversation_id)
    conversation = _conversation(session, actor, None, message.conversation_id)
    if message.direction != Direction.OUTBOUND or message.sender_type not in (SenderType.ATTENDANT, SenderType.BOT):
        raise ValidationError("only messages sent to the customer can be resent")
    if message.status != MessageStatus.FAILED:
        return _row(message)  # already queued again (a double click), or it went through
    content = (message.payload or {}).get("content") or {}
    if needs_open_window(content) and not outbound.is_window_open(conversation.last_customer_message_at, utcnow()):
        raise WindowClosed("more than 24 hours since the customer's last message: send a template")
    check_marketing_consent(session, conversation, content)  # consent may have been withdrawn since
    before = {"status": str(message.status), "error_code": message.error_code}
    message.status, message.send_attempts, message.failed_at = MessageStatus.QUEUED, 0, None
    message.error_code, message.error_reason, message.wa_message_id = None, None, None
    message.claimed_at = message.next_attempt_at = None
    session.add(message)
    audit.record(session, actor=actor, tenant_id=message.tenant_id, action="message.resend", target_type="message",
                 target_id=message.id, before=before, after={"status": "queued"})
    message_id = message.id
    tag = f"resend-{time.time_ns()}"  # never a reused id: RQ would overwrite a finished job's data and keep its expiry
    after_commit(session, lambda: enqueue_delivery(message_id, tag=tag))
    _publish_status(session, message.tenant_id, message.conversation_id, message.id, message.status)
    return _row(message)


def _lock_conversation(session: Session, conversation_id: int) -> None:
    """Take the conversation's row lock: releases and inserts of its messages take turns there."""
    session.exec(select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()).first()


def _others_pending(session: Session, conversation_id: int, message_id: int) -> bool:
    """Whether another outbound message of the conversation is still queued or sending."""
    return session.exec(select(Message.id).where(Message.conversation_id == conversation_id,
                                                 Message.status.in_(PENDING), Message.id != message_id)
                        .limit(1)).first() is not None


@functools.cache
def _goes_first():
    """SQL: another message of the same conversation goes before this one (it is `sending`, or older and queued).

    Built once: an aliased expression costs milliseconds to build, and the hot path uses it twice a send.
    """
    other = aliased(Message)
    return exists().where(other.conversation_id == Message.conversation_id, other.id != Message.id,
                          (other.status == MessageStatus.SENDING)
                          | ((other.status == MessageStatus.QUEUED) & (other.id < Message.id)))


@dataclass(frozen=True)
class _Turn:
    """What one attempt needs, read in one query before any lock or rate-limit slot is taken."""

    conversation_id: int
    lane: str
    content: dict[str, Any]
    to: str
    reply_to: str | None
    account: meta_graph.GraphAccount


def deliver_message(message_id: int) -> str:
    """Send one queued message through the Graph API, at most once, in its conversation's order.

    Returns what happened: `sent`, `failed`, `retry` (re-queued after an error), `throttled` (re-queued
    for a rate-limit slot), `waiting` (another message of the conversation goes first and will release this
    one, or its retry is not due), `skipped` (no longer queued), `window-closed` or `no-consent` (a marketing
    template whose contact withdrew marketing consent after it was queued). The message is claimed
    (`queued` -> `sending`) in the database before any Graph call, so a second job for it finds nothing to do.
    """
    turn = _turn(message_id)
    if isinstance(turn, str):
        return turn
    try:  # before the slot: an upload may take seconds, and the send must follow its grant at once
        body = build_body(_uploaded(message_id, turn), turn.to, turn.reply_to)
    except ExternalServiceError as exc:
        return _after_error(message_id, exc)
    except Exception as exc:  # a stored file gone, a database hiccup: counted as an attempt, retried, then failed
        log.exception("message %s could not be prepared for sending", message_id)
        failure = ExternalServiceError("could not prepare the message for sending", retryable=True,
                                       details=f"Preparing failed: {type(exc).__name__}")
        return _after_error(message_id, failure)
    slot = ratelimit.take_slot(f"wa:{turn.account.phone_number_id}", get_settings().wa_rate_limit_per_second,
                               window=SLOT_WINDOW, lane=turn.lane)
    if not slot.granted:
        _wait_for_slot(message_id, slot.wait)
        return "throttled"
    claimed = _claim(message_id, turn)
    if claimed != "claimed":
        return claimed
    try:
        wamid = meta_graph.send_message(turn.account, body)
    except ExternalServiceError as exc:
        return _after_error(message_id, exc, claimed=True)
    return _mark_sent(message_id, turn.conversation_id, wamid)


def _wait_for_slot(message_id: int, wait: float) -> None:
    """Re-queue for when a slot frees, and say so on the message (`next_attempt_at`): the sweeper then knows
    the job is coming, instead of taking a long rate-limit backlog for lost jobs and queueing more of them."""
    due = utcnow() + dt.timedelta(seconds=wait)
    with session_scope() as session:
        session.execute(update(Message).where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
                        .values(next_attempt_at=due))
        after_commit(session, lambda: enqueue_delivery(message_id, tag=f"slot-{int(due.timestamp() * 1000)}",
                                                       delay=wait))


def _turn(message_id: int) -> _Turn | str:
    """Whether it is this message's turn, and what sending it takes; read without locks."""
    with session_scope() as session:
        row = session.exec(
            select(Message.status, Message.next_attempt_at, Message.conversation_id, Message.payload,
                   Message.reply_to_wa_message_id, ContactInbox.wa_id, Inbox.graph_base_url, Inbox.phone_number_id,
                   Inbox.waba_id, Inbox.access_token, _goes_first())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Inbox, Inbox.id == Conversation.inbox_id)
            .join(ContactInbox, ContactInbox.id == Conversation.contact_inbox_id)
            .where(Message.id == message_id)).first()
        if row is None or row[0] != MessageStatus.QUEUED:
            return "skipped"
        _, due, conversation_id, payload, reply_to, wa_id, base_url, number, waba, token, behind = row
        if behind:
            return "waiting"  # the message before it releases it
        now = utcnow()
        if due is not None and due > now:  # a duplicate job, early: come back when due (one job per due time)
            after_commit(session, lambda: enqueue_delivery(message_id, tag=f"due-{int(due.timestamp() * 1000)}",
                                                           delay=(due - now).total_seconds()))
            return "waiting"
        payload = payload or {}
        return _Turn(conversation_id, payload.get("lane", ratelimit.INTERACTIVE), payload.get("content") or {},
                     wa_id, reply_to, meta_graph.GraphAccount(base_url, number, waba, token))


def _consent_holds(session: Session, turn: _Turn) -> bool:
    """A marketing template still has its contact's consent at send time (it may be withdrawn while queued)."""
    if turn.content.get("type") != "template":
        return True
    try:
        check_marketing_consent(session, session.get(Conversation, turn.conversation_id), turn.content)
    except MarketingConsentRequired:
        return False
    return True


def _claim(message_id: int, turn: _Turn) -> str:
    """`queued` -> `sending` if it is still this message's turn: one conditional UPDATE, atomic on the row.

    No conversation lock is needed here: an older queued message or a `sending` one blocks the claim in every
    snapshot, so two claims in one conversation cannot both pass. The claim commits before the Graph call.
    A closed 24-hour window fails the message here instead.
    """
    with session_scope() as session:
        now = utcnow()
        if needs_open_window(turn.content) and not outbound.is_window_open(session.exec(
                select(Conversation.last_customer_message_at).where(Conversation.id == turn.conversation_id)).one(),
                now):
            message = _locked_message(session, message_id)
            if message is None or message.status != MessageStatus.QUEUED:
                return "skipped"
            _finish_failed(session, message, WINDOW_CLOSED_CODE, "Re-engagement message: the 24-hour window is closed")
            return "window-closed"
        if not _consent_holds(session, turn):
            message = _locked_message(session, message_id)
            if message is None or message.status != MessageStatus.QUEUED:
                return "skipped"
            _finish_failed(session, message, None, "Marketing template: the contact has no marketing consent")
            return "no-consent"
        # The message's lock, then its conversation's (the order of every path that finishes a message): a resend
        # moves a message back into the line, so without the lock a claim could miss it and two would fly.
        if _locked_message(session, message_id) is None:
            return "skipped"
        claimed = session.execute(
            update(Message).where(Message.id == message_id, Message.status == MessageStatus.QUEUED,
                                  (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
                                  ~_goes_first())
            .values(status=MessageStatus.SENDING, claimed_at=now, next_attempt_at=None).returning(Message.id)).first()
        return "claimed" if claimed else "waiting"


def _uploaded(message_id: int, turn: _Turn) -> dict[str, Any]:
    """Upload a stored file to Meta once, and keep its media id for retries."""
    content = media.upload_for_sending(turn.account, turn.content)
    if content is not turn.content:
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.payload = {**(message.payload or {}), "content": content}
            session.add(message)
    return content


def retry_delay(code: int | None, attempt: int) -> float:
    """Seconds before the next try after failed attempt number `attempt` (0 for the first).

    131056 (too many messages to one customer) follows Meta's advice, 4^attempt seconds. Anything else
    waits 1, then up to 2, 4, 8… seconds (full jitter, capped at 30 s), so a burst of refusals spreads out.
    With the default 5 attempts a message is given up about 15 s (131056: 85 s) after its first try.
    """
    if code == PAIR_RATE_LIMIT_CODE:
        return float(min(4 ** attempt, 300))
    return random.uniform(1.0, min(30.0, 2.0 ** attempt))


def _locked_message(session: Session, message_id: int) -> Message | None:
    """The message, locked, then its conversation's lock, which a release needs (see `_release_next`).

    Always the message row first: a transaction that finishes a message touches `messages` before
    `conversations`, never the other way round.
    """
    message = session.exec(select(Message).where(Message.id == message_id).with_for_update()
                           .execution_options(populate_existing=True)).first()
    if message is not None:
        _lock_conversation(session, message.conversation_id)
    return message


def _after_error(message_id: int, exc: ExternalServiceError, *, claimed: bool = False) -> str:
    """Count the attempt; re-queue a retryable error for later, else fail the message and release the next.

    `claimed`: the error came from the Graph call of our claim. If the message is no longer `sending` by then
    (a worker stalled past the lease, and the sweeper failed it), the outcome is someone else's to handle.
    """
    with session_scope() as session:
        message = _locked_message(session, message_id)
        expected = MessageStatus.SENDING if claimed else MessageStatus.QUEUED
        if message is None or message.status != expected:
            return "skipped"
        message.send_attempts += 1
        if not exc.retryable or message.send_attempts >= get_settings().wa_send_attempts:
            _finish_failed(session, message, exc.code, exc.details or exc.message)
            log.info("message %s failed with Graph code %s", message_id, exc.code)
            return "failed"
        delay, attempt = retry_delay(exc.code, message.send_attempts - 1), message.send_attempts
        message.status, message.claimed_at = MessageStatus.QUEUED, None
        message.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
        session.add(message)
        tag = f"retry-{attempt}-{time.time_ns()}"  # unique: a resend starts the attempts over
        after_commit(session, lambda: enqueue_delivery(message_id, tag=tag, delay=delay))
    log.info("message %s re-queued in %.1f s after Graph code %s", message_id, delay, exc.code)
    return "retry"


def _mark_sent(message_id: int, conversation_id: int, wamid: str) -> str:
    """Store the wamid and `sent` (unless a status webhook moved it on already), then release the next."""
    with session_scope() as session:
        moved = session.execute(
            update(Message).where(Message.id == message_id, Message.status.in_(PENDING))
            .values(status=MessageStatus.SENT, sent_at=func.coalesce(Message.sent_at, utcnow()), wa_message_id=wamid,
                    claimed_at=None).returning(Message.tenant_id)).first()
        if moved:
            _publish_status(session, moved[0], conversation_id, message_id, MessageStatus.SENT)
            outbox.emit(session, moved[0], "message.sent", {
                "message_id": message_id, "conversation_id": conversation_id, "kind": None, "status": "sent",
                "wa_message_id": wamid})
        else:
            session.execute(update(Message).where(Message.id == message_id)
                            .values(wa_message_id=wamid, claimed_at=None))
        _lock_conversation(session, conversation_id)
        _release_next(session, conversation_id, message_id)
    return "sent"


def _finish_failed(session: Session, message: Message, code: int | None, reason: str | None) -> None:
    """Fail the message for good (under its conversation's lock) and let the next one go."""
    _fail(message, code, reason)
    if code == MARKETING_OPTED_OUT:
        jobs.enqueue_after_commit(session, "apply_meta_opt_out", message.id)
    message.claimed_at = message.next_attempt_at = None
    session.add(message)
    _publish_status(session, message.tenant_id, message.conversation_id, message.id, message.status)
    outbox.emit(session, message.tenant_id, "message.failed", {
        "message_id": message.id, "conversation_id": message.conversation_id, "kind": str(message.kind),
        "status": "failed", "wa_message_id": message.wa_message_id, "error_code": code})
    _release_next(session, message.conversation_id, message.id)


def _release_next(session: Session, conversation_id: int, done_id: int) -> None:
    """After commit, queue the conversation's next message, unless its own scheduled retry will.

    The caller holds the conversation's lock, as `_insert` does when it decides whether a new message needs
    its own job: so either the insert sees this message finished and queues itself, or this sees the insert.
    """
    following = session.exec(select(Message.id, Message.next_attempt_at).where(
        Message.conversation_id == conversation_id, Message.status == MessageStatus.QUEUED,
        Message.id != done_id).order_by(Message.id).limit(1)).first()
    if following is None or (following[1] is not None and following[1] > utcnow()):
        return
    next_id = following[0]
    after_commit(session, lambda: enqueue_delivery(next_id, tag=f"after-{done_id}"))


def _publish_status(session: Session, tenant_id: int, conversation_id: int, message_id: int, status: str) -> None:
    realtime.publish_after_commit(session, tenant_id, "message.status", conversation_id=conversation_id,
                                  data={"message_id": message_id, "status": str(status)})


def _fail(message: Message, code: int | None, reason: str | None) -> None:
    message.status, message.failed_at = MessageStatus.FAILED, utcnow()
    message.error_code = code
    message.error_reason = (reason or classify(code).reason_en)[:500]


def sweep_queued_messages(older_than_seconds: int = 60) -> int:
    """Recover deliveries whose job was lost, and conversations held by a dead worker. Returns jobs queued.

    A message left `sending` past `SEND_LEASE` had its worker die mid-call: Meta may or may not have it, so
    it is marked failed with a reason (the attendant decides whether to send it again) and the next message
    of its conversation goes. The first queued message of each conversation, when it was due more than
    `older_than_seconds` ago, gets its job again; the ones behind it follow through the usual releases.
    """
    now = utcnow()
    with session_scope() as session:
        stuck = session.exec(select(Message.id).where(
            Message.status == MessageStatus.SENDING,
            func.coalesce(Message.claimed_at, Message.created_at) < now - SEND_LEASE).limit(500)).all()
    for message_id in stuck:
        _fail_interrupted(message_id, now)
    heads = _overdue_heads(now - dt.timedelta(seconds=older_than_seconds))
    for message_id in heads:
        enqueue_delivery(message_id, tag=f"sweep-{int(now.timestamp())}")
    return len(heads)


def _fail_interrupted(message_id: int, now: dt.datetime) -> None:
    with session_scope() as session:
        message = _locked_message(session, message_id)
        if message is not None and message.status == MessageStatus.SENDING \
                and (message.claimed_at or message.created_at) < now - SEND_LEASE:
            _finish_failed(session, message, None,
                           "The send was interrupted and its outcome is unknown; check before resending")


def _overdue_heads(cutoff: dt.datetime) -> list[int]:
    """Per conversation, its first queued outbound message if that was due before `cutoff`, oldest first.

    A message waiting for a retry or a rate-limit slot is due at its `next_attempt_at`, so a long backlog
    is not taken for lost jobs. Filtered in SQL before the limit, so overdue heads are never crowded out.
    """
    with session_scope() as session:
        return list(session.exec(select(Message.id).where(
            Message.status == MessageStatus.QUEUED, Message.direction == Direction.OUTBOUND,
            func.coalesce(Message.next_attempt_at, Message.created_at) < cutoff, ~_goes_first())
            .order_by(Message.id).limit(500)).all())
