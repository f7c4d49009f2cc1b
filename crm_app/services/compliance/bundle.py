"""The access bundle (LGPD art. 18 II and V): a ZIP of everything about one person, with a signed manifest.

`data.json` holds the contact, consents, conversations, messages (private notes included), labels, the bot's
session variables (what the bot collected: e-mail, order number...), CSAT answers and the audit entries about
them; `media/` their files; `manifest.json` the SHA-256 of every file, and `manifest.sig` its HMAC-SHA256 under a
per-tenant key derived from ENCRYPTION_KEY (HKDF), so the tenant can later show that a bundle is the one it gave.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Callable

from sqlmodel import Session, select

from crm_app.crypto import derive_key
from crm_app.db import session_scope, utcnow
from crm_app.integrations.storage import get_storage
from crm_app.models import (
    BotSession,
    ConsentEvent,
    Contact,
    Conversation,
    ConversationLabel,
    CsatSurvey,
    Label,
    Message,
)
from crm_app.services.audit import personal

BUNDLE_KEY = "privacy/bundles/{tenant_id}/{request_id}.zip"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def manifest_key(tenant_id: int) -> bytes:
    """The tenant's manifest-signing key (HKDF from ENCRYPTION_KEY)."""
    return derive_key(f"privacy-manifest:{tenant_id}")


def sign_manifest(tenant_id: int, manifest: bytes) -> str:
    """Hex HMAC-SHA256 of the manifest bytes under the tenant's key."""
    return hmac.new(manifest_key(tenant_id), manifest, hashlib.sha256).hexdigest()


def verify_bundle(tenant_id: int, data: bytes) -> bool:
    """True when the bundle's manifest is signed by the tenant's key and every file matches its hash."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = archive.read("manifest.json")
        if not hmac.compare_digest(sign_manifest(tenant_id, manifest), archive.read("manifest.sig").decode()):
            return False
        files = json.loads(manifest)["files"]
        names = set(archive.namelist()) - {"manifest.json", "manifest.sig"}
        return names == set(files) and all(
            hashlib.sha256(archive.read(n)).hexdigest() == digest for n, digest in files.items())


def csat_answers(session: Session, contact_id: int) -> list[dict]:
    """The person's CSAT surveys: which conversation, when it was sent, their rating and comment, and when."""
    surveys = session.exec(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id).order_by(CsatSurvey.id)).all()
    return [{"survey_id": c.id, "conversation_id": c.conversation_id, "cycle": c.cycle, "sent_at": _iso(c.sent_at),
             "rating": c.rating, "rated_at": _iso(c.rated_at), "comment": c.comment,
             "commented_at": _iso(c.commented_at)} for c in surveys]


def _messages(session: Session, conversation_ids: list[int]) -> list[Message]:
    return list(session.exec(select(Message).where(Message.conversation_id.in_(conversation_ids))
                             .order_by(Message.id)).all())


def collect(session: Session, tenant_id: int, contact_id: int) -> tuple[dict, list[Message]]:
    """Everything about the person as JSON, and their messages that carry a stored file."""
    contact = session.get(Contact, contact_id)
    conversations = session.exec(select(Conversation).where(Conversation.tenant_id == tenant_id,
                                                            Conversation.contact_id == contact_id)).all()
    ids = [c.id for c in conversations]
    messages = _messages(session, ids)
    labels = session.exec(select(ConversationLabel.conversation_id, Label.name).join(
        Label, Label.id == ConversationLabel.label_id).where(ConversationLabel.conversation_id.in_(ids))).all()
    consents = session.exec(select(ConsentEvent).where(ConsentEvent.contact_id == contact_id)
                            .order_by(ConsentEvent.id)).all()
    bot_sessions = session.exec(select(BotSession).where(BotSession.tenant_id == tenant_id,
                                                         BotSession.conversation_id.in_(ids))
                                .order_by(BotSession.id)).all()
    data = {
        "contact": {"id": contact.id, "phone": contact.phone_e164, "name": contact.name, "email": contact.email,
                    "attributes": contact.custom_attributes, "created_at": _iso(contact.created_at)},
        "consents": [{"purpose": e.purpose, "granted": e.granted, "legal_basis": e.legal_basis, "source": e.source,
                      "policy_version": e.policy_version, "proof": e.proof, "at": _iso(e.created_at)}
                     for e in consents],
        "conversations": [{"id": c.id, "status": c.status, "created_at": _iso(c.created_at),
                           "closed_at": _iso(c.closed_at),
                           "labels": sorted(n for cid, n in labels if cid == c.id)} for c in conversations],
        "messages": [{"id": m.id, "conversation_id": m.conversation_id, "direction": m.direction,
                      "sender": m.sender_type, "kind": m.kind, "body": m.body, "payload": m.payload,
                      "status": m.status, "at": _iso(m.created_at),
                      "file": f"media/{m.id}" if m.media_storage_key else None} for m in messages],
        "bot_sessions": [{"conversation_id": b.conversation_id, "node_id": b.node_id, "status": b.status,
                          "variables": b.variables, "updated_at": _iso(b.updated_at)} for b in bot_sessions],
        "csat": csat_answers(session, contact_id),
        "audit": personal.entries_about(session, tenant_id, contact_id),
    }
    return data, [m for m in messages if m.media_storage_key]


def build_bundle(tenant_id: int, contact_id: int, request_id: int,
                 on_progress: Callable[[int, int], None] | None = None) -> str:
    """Write the bundle to the storage and return its key. Run twice, it writes the same content again."""
    with session_scope() as session:
        data, with_files = collect(session, tenant_id, contact_id)
        files = [(m.id, m.media_storage_key) for m in with_files]
    storage, hashes, buffer = get_storage(), {}, io.BytesIO()
    total = len(files) + 1
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        payload = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        archive.writestr("data.json", payload)
        hashes["data.json"] = hashlib.sha256(payload).hexdigest()
        for done, (message_id, key) in enumerate(files, start=1):
            if storage.exists(key):
                content = storage.read(key)
                archive.writestr(f"media/{message_id}", content)
                hashes[f"media/{message_id}"] = hashlib.sha256(content).hexdigest()
            if on_progress:
                on_progress(done, total)
        manifest = json.dumps({"tenant_id": tenant_id, "contact_id": contact_id, "request_id": request_id,
                               "created_at": utcnow().isoformat(), "algorithm": "HMAC-SHA256/HKDF-SHA256",
                               "files": hashes}, sort_keys=True).encode()
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sig", sign_manifest(tenant_id, manifest))
    key = BUNDLE_KEY.format(tenant_id=tenant_id, request_id=request_id)
    storage.put(key, buffer.getvalue())
    if on_progress:
        on_progress(total, total)
    return key
