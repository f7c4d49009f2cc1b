"""A customer's edits and deletions of messages they sent earlier.

Meta sends them as `edit` and `revoke` messages that name the original (`original_message_id`), or as an
`unsupported` message of type `edit` that names nothing. With an original we have, an edit replaces its
text and keeps every earlier one (`domain.edits`), and a deletion marks it deleted, keeping its text for
audit or blanking it as the tenant's setting `channel.keep_deleted_message_text` says. Without one, the inbound
path writes a system line instead (`line_for`), under the change's own wamid.

Every change is applied once: before anything else its wamid is looked up (a system line carries it),
an applied edit is known by its wamid in the history, a deletion by `deleted_at`. The original's row is
locked, so two workers with the same change apply it once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm_app.db import UTCDateTime
from crm_app.domain import edits, whatsapp
from crm_app.domain.inbox import compute_preview
from crm_app.domain.search import fold
from crm_app.models import Conversation, Direction, Message, SenderType
from crm_app.services import settings
from crm_app.services.core import realtime

APPLIED, DUPLICATE, MISSING = "applied", "duplicate", "missing"

_messages, _conversations = Message.__table__, Conversation.__table__

_KNOWN = sa.select(_messages.c.id).where(_messages.c.wa_message_id == sa.bindparam("wamid"))
# The customer's own message, on this identity (number and customer), locked against a concurrent change
# (NO KEY UPDATE: a reply being stored to it still passes its foreign-key check).
_LOCK_ORIGINAL = (
    sa.select(_messages.c.id, _messages.c.conversation_id, _messages.c.kind, _messages.c.body,
              _messages.c.payload, _messages.c.created_at, _messages.c.wa_message_id, _messages.c.edit_history,
              _messages.c.deleted_at)
    .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
    .where(_messages.c.tenant_id == sa.bindparam("tenant_id"),
           _messages.c.wa_message_id == sa.bindparam("wamid"),
           _messages.c.direction == Direction.INBOUND, _messages.c.sender_type == SenderType.CUSTOMER,
           _conversations.c.contact_inbox_id == sa.bindparam("link_id"))
    .with_for_update(of=_messages, key_share=True))
# The list's preview follows the message only while it is the conversation's latest.
_PREVIEW = (sa.update(_conversations)
            .where(_conversations.c.id == sa.bindparam("conversation"),
                   _conversations.c.last_message_at == sa.bindparam("sent_at", type_=UTCDateTime))
            .values(last_message_preview=sa.bindparam("preview", type_=sa.String)))


def apply_change(session: Session, *, tenant_id: int, link_id: int, message: whatsapp.InboundMessage) -> str:
    """Apply an edit or deletion to the customer's original message, once.

    Args:
        session: The inbound transaction.
        tenant_id: The tenant the webhook is for.
        link_id: The customer's identity on this number (already locked by the caller).
        message: The parsed change (`message.change` is "edit" or "revoke").

    Returns:
        APPLIED; DUPLICATE when this change was already handled; MISSING when Meta names no original or
        we do not have it (the caller writes a system line).
    """
    conn = session.connection()
    if conn.execute(_KNOWN, {"wamid": message.wa_message_id}).first() is not None:
        return DUPLICATE
    if not message.original_wa_message_id:
        return MISSING
    original = conn.execute(_LOCK_ORIGINAL, {"tenant_id": tenant_id, "wamid": message.original_wa_message_id,
                                             "link_id": link_id}).first()
    if original is None:
        return MISSING
    if original.deleted_at is not None:
        return DUPLICATE  # deleted stays deleted: a late edit or a second deletion changes nothing
    changed = _edit(conn, original, message) if message.change == "edit" else _delete(conn, tenant_id, original,
                                                                                       message)
    if not changed:
        return DUPLICATE
    realtime.publish_after_commit(session, tenant_id, "message.updated", conversation_id=original.conversation_id,
                                  data={"message_id": original.id, "change": message.change})
    return APPLIED


def line_for(message: whatsapp.InboundMessage) -> tuple[str, dict[str, str]]:
    """The system line (catalogue key, parameters) for a change whose original we do not have."""
    if message.change == "revoke":
        return "inbox.system.customer_deleted_missing", {}
    if not message.original_wa_message_id:
        return "inbox.system.customer_edited_unknown", {}
    return "inbox.system.customer_edited_missing", {"text": message.body or "—"}


def _edit(conn: Connection, original, message: whatsapp.InboundMessage) -> bool:
    history = edits.with_edit(original.edit_history,
                              edits.version(original.body, original.created_at, original.wa_message_id),
                              edits.version(message.body, message.sent_at, message.wa_message_id))
    if history is None:
        return False
    body = history[-1]["body"]
    conn.execute(sa.update(_messages).where(_messages.c.id == original.id).values(
        body=body, search_text=fold(body) or None, edit_history=history, edited_at=edits.edited_at(history)))
    _follow_preview(conn, original, compute_preview(str(original.kind), body))
    return True


def _delete(conn: Connection, tenant_id: int, original, message: whatsapp.InboundMessage) -> bool:
    values: dict = {"deleted_at": message.sent_at}
    keep = settings.value(None, "channel.keep_deleted_message_text", tenant_id=tenant_id)  # cached: no query
    if not keep:
        values.update(body=None, search_text=None, payload=edits.envelope(original.payload))
        if original.edit_history is not None:
            values["edit_history"] = edits.blanked(original.edit_history)
    conn.execute(sa.update(_messages).where(_messages.c.id == original.id).values(**values))
    _follow_preview(conn, original, edits.DELETED_PREVIEW)
    return True


def _follow_preview(conn: Connection, original, preview: str) -> None:
    conn.execute(_PREVIEW, {"conversation": original.conversation_id, "sent_at": original.created_at,
                            "preview": preview})
