"""Media: inbound files fetched from Meta and stored; outbound files stored and uploaded first."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets

from sqlmodel import Session, select

from crm_app.db import session_scope, utcnow
from crm_app.domain.media import base_mime, extension, max_bytes, media_problem, sha256_matches
from crm_app.errors import NotFound, ValidationError
from crm_app.integrations import ExternalServiceError, meta_graph
from crm_app.integrations.storage import get_storage
from crm_app.models import Conversation, Inbox, Message
from crm_app.services.conversations import access as conversation_access
from crm_app.services.core import jobs
from crm_app.services.core.actors import Actor, require_role

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SWEEP_AFTER = dt.timedelta(minutes=15)  # longer than the RQ retry schedule above
MEDIA_LIFETIME = dt.timedelta(days=7)
MEDIA_TOKEN_BYTES = 24
MEDIA_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")  # token_urlsafe(24)


def enqueue_download(message_id: int) -> None:
    """Fetch an inbound message's media on the bulk queue, retried with backoff."""
    jobs.enqueue("download_media", message_id)


def account_for(inbox: Inbox) -> meta_graph.GraphAccount:
    """The Graph credentials of an inbox."""
    return meta_graph.GraphAccount(inbox.graph_base_url, inbox.phone_number_id, inbox.waba_id, inbox.access_token)


def download_inbound_media(message_id: int) -> str:
    """Fetch, check and store one inbound file. Idempotent; retryable errors propagate for RQ to retry."""
    with session_scope() as session:
        message = session.get(Message, message_id)
        payload = (message.payload or {}) if message else {}
        if message is None or not message.media_id or message.media_storage_key or payload.get("media_error"):
            return "skipped"
        conversation = session.get(Conversation, message.conversation_id)
        account = account_for(session.get(Inbox, conversation.inbox_id))
        kind, media_id, tenant_id = str(message.kind), message.media_id, message.tenant_id
    try:
        info = meta_graph.media_info(account, media_id)
        mime, size = base_mime(info.get("mime_type")), int(info.get("file_size") or 0)
        problem = media_problem(kind, mime, size)
        if problem:
            return _give_up(message_id, problem)
        data = meta_graph.download(account, str(info["url"]), max_bytes=max_bytes(kind))
    except ExternalServiceError as exc:
        if exc.retryable and _count_attempt(message_id) < MAX_ATTEMPTS:
            raise
        return _give_up(message_id, exc.details or exc.message)
    if not sha256_matches(data, info.get("sha256")):
        if _count_attempt(message_id) < MAX_ATTEMPTS:
            raise ExternalServiceError("media sha256 does not match", retryable=True)
        return _give_up(message_id, "the file never matched Meta's sha256")
    key = f"{tenant_id}/{message_id}-{hashlib.sha256(data).hexdigest()[:16]}{extension(mime)}"
    get_storage().put(key, data)
    with session_scope() as session:
        message = session.get(Message, message_id)
        message.media_storage_key, message.media_mime = key, mime
        message.media_token = message.media_token or new_media_token()
        session.add(message)
    return "stored"


def _count_attempt(message_id: int) -> int:
    """Count one failed try in the message; the budget spans RQ retries and sweeps."""
    with session_scope() as session:
        message = session.get(Message, message_id)
        attempts = int((message.payload or {}).get("media_attempts", 0)) + 1
        message.payload = {**(message.payload or {}), "media_attempts": attempts}
        session.add(message)
    return attempts


def sweep_pending_media(now: dt.datetime | None = None) -> int:
    """Queue downloads that never finished: a lost enqueue, or retries used up while Meta was down.

    Meta keeps webhook media for 7 days; older files are not tried again.
    """
    now = now or utcnow()
    with session_scope() as session:
        rows = session.exec(select(Message.id, Message.payload).where(
            Message.media_id.is_not(None), Message.media_storage_key.is_(None),
            Message.created_at < now - SWEEP_AFTER, Message.created_at > now - MEDIA_LIFETIME,
        ).order_by(Message.id).limit(200)).all()
    pending = [message_id for message_id, payload in rows if not (payload or {}).get("media_error")]
    for message_id in pending:
        enqueue_download(message_id)
    return len(pending)


def _give_up(message_id: int, reason: str) -> str:
    with session_scope() as session:
        message = session.get(Message, message_id)
        message.payload = {**(message.payload or {}), "media_error": reason[:300]}
        session.add(message)
    log.info("media of message %s refused: %s", message_id, reason)
    return "refused"


def new_media_token() -> str:
    """The random name a stored file is fetched by (`/api/media/{token}`), so that its URL cannot be guessed."""
    return secrets.token_urlsafe(MEDIA_TOKEN_BYTES)


def is_media_token(value: str) -> bool:
    """Whether `value` has the shape of a media token (anything else is not looked up at all)."""
    return bool(MEDIA_TOKEN_SHAPE.fullmatch(value or ""))


def read_message_media(session: Session, *, actor: Actor, media_token: str) -> tuple[bytes, str, str]:
    """The stored file behind `media_token`: (bytes, mime, filename).

    Exactly the conversation's access rule applies (`conversations.access`): a file of another attendant's
    conversation is refused like the conversation itself; another tenant's or an unknown one is not found.
    """
    require_role(actor, "admin", "supervisor", "attendant", "executive")  # executives read the whole tenant
    if not is_media_token(media_token):
        raise NotFound("media not found")
    message = session.exec(select(Message).where(Message.media_token == media_token)).first()
    if message is None or message.tenant_id != actor.tenant_id:
        raise NotFound("media not found")
    conversation_access.access_conversation(session, actor=actor, conversation_id=message.conversation_id,
                                            read_only=True)
    if not message.media_storage_key or not get_storage().exists(message.media_storage_key):
        raise NotFound("media not found")
    filename = message.media_storage_key.rsplit("/", 1)[-1]
    return get_storage().read(message.media_storage_key), message.media_mime or "application/octet-stream", filename


def store_outbound_file(*, actor: Actor, kind: str, data: bytes, mime: str, filename: str) -> dict[str, str]:
    """Keep an attendant's file for sending; returns the media part of a message content."""
    require_role(actor, "admin", "supervisor", "attendant")
    problem = media_problem(kind, mime, len(data))
    if problem:
        raise ValidationError(problem)
    key = f"{actor.tenant_id}/out/{hashlib.sha256(data).hexdigest()}{extension(mime)}"
    get_storage().put(key, data)
    return {"type": "media", "kind": kind, "storage_key": key, "mime": base_mime(mime), "filename": filename}


def upload_for_sending(account: meta_graph.GraphAccount, content: dict) -> dict:
    """Outbound media is uploaded to Meta first; returns the content with its media id."""
    if content.get("type") != "media" or content.get("media_id") or content.get("link"):
        return content
    data = get_storage().read(str(content["storage_key"]))
    filename = str(content.get("filename") or content["storage_key"].rsplit("/", 1)[-1])
    media_id = meta_graph.upload_media(account, data, str(content["mime"]), filename)
    return {**content, "media_id": media_id}
