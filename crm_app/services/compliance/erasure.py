"""Erasure (LGPD art. 18 VI): a person's personal data replaced by tombstones wherever it lives.

The job runs named steps in order, each in its own transaction (messages in batches), and records the
step it finished on the request, so a job killed midway resumes where it stopped, and running a step
twice changes nothing. Rows stay (analytics counts stay true); their personal values go. The steps that
need the person's values (to find them in raw webhooks, Redis, files, the audit trail) run before the
contact's own fields are erased.

Every erasure goes into the erasure ledger (contact id and time only), in the database and as a file in
the storage; `reapply_ledger` runs each recorded erasure again after a restore.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.crypto import derive_key
from crm_app.db import after_commit, session_scope, utcnow
from crm_app.domain import consent as rules
from crm_app.domain.phones import digits
from crm_app.errors import Conflict, NotFound
from crm_app.integrations.storage import get_storage
from crm_app.models import (
    BotSession,
    ConsentEvent,
    Contact,
    ContactInbox,
    Conversation,
    CsatSurvey,
    Email,
    ErasureRecord,
    InboundEvent,
    LegalHold,
    Message,
    PrivacyRequest,
)
from crm_app.queue import get_redis
from crm_app.services.audit import personal

log = logging.getLogger(__name__)

BATCH = 500
LEDGER_KEY = "privacy/erasure-ledger-{tenant_id}.jsonl"


@dataclass(frozen=True)
class Person:
    """What the steps look for: ids and, while the contact is not yet erased, the person's values."""

    tenant_id: int
    contact_id: int
    needles: tuple[str, ...]
    wa_ids: tuple[str, ...]


def active_hold(session: Session, contact_id: int) -> LegalHold | None:
    """The contact's legal hold in force, if any."""
    return session.exec(select(LegalHold).where(LegalHold.contact_id == contact_id,
                                                LegalHold.released_at.is_(None))).first()


def is_erased(session: Session, tenant_id: int, contact_id: int) -> bool:
    """Whether the contact is in the erasure ledger."""
    return session.exec(select(ErasureRecord.id).where(ErasureRecord.tenant_id == tenant_id,
                                                       ErasureRecord.contact_id == contact_id)).first() is not None


def check_erasable(session: Session, tenant_id: int, contact_id: int) -> Contact:
    """The contact, if it may be erased now; NotFound, or Conflict naming the hold or the earlier erasure."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.tenant_id != tenant_id:
        raise NotFound("contact not found")
    hold = active_hold(session, contact_id)
    if hold is not None:
        raise Conflict(f"contact is under legal hold: {hold.reason}", reason=hold.reason)
    if is_erased(session, tenant_id, contact_id):
        raise Conflict("contact was already erased")
    return contact


def wamid_key(tenant_id: int) -> bytes:
    """The per-tenant key of the wamid hash (HKDF from ENCRYPTION_KEY)."""
    return derive_key(f"privacy-wamid:{tenant_id}")


def _person(session: Session, tenant_id: int, contact_id: int) -> Person:
    contact = session.get(Contact, contact_id)
    wa_ids = tuple(w for w in session.exec(select(ContactInbox.wa_id).where(
        ContactInbox.contact_id == contact_id)).all() if not w.startswith("erased"))
    phone = "" if contact.phone_e164.startswith("erased") else contact.phone_e164
    values = {contact.name, contact.email, phone, digits(phone), *wa_ids}
    return Person(tenant_id, contact_id, tuple(sorted((v for v in values if v and len(v) >= 4), key=len,
                                                      reverse=True)), wa_ids)


def _conversation_ids(session: Session, person: Person) -> list[int]:
    return list(session.exec(select(Conversation.id).where(Conversation.tenant_id == person.tenant_id,
                                                           Conversation.contact_id == person.contact_id)).all())


def _step_audit(session: Session, person: Person) -> None:
    personal.forget_contact(session, person.tenant_id, person.contact_id)


def redis_values(redis, key: bytes) -> list[bytes]:
    """The values stored under `key`, whatever its type (strings, hashes, lists, sets)."""
    kind = redis.type(key)
    if kind == b"string":
        return [redis.get(key) or b""]
    if kind == b"hash":
        return [*redis.hgetall(key).values()]
    if kind == b"list":
        return redis.lrange(key, 0, -1)
    if kind in (b"set", b"zset"):
        return list(redis.smembers(key)) if kind == b"set" else redis.zrange(key, 0, -1)
    return []


def scrub_redis(needles: tuple[str, ...], clients: list | None = None, phones: tuple[str, ...] = ()) -> int:
    """Delete every Redis key (queues' db and the UI's state db) whose name or value holds one of `needles`, or a
    wamid or base64 run that decodes to one of `phones` (a base64 form alone may be a neighbour's number).

    Caches and tab states are rebuilt from PostgreSQL; a tab that held the person's messages reloads.
    """
    forms = tuple({f.encode() for p in phones for f in rules.phone_in_base64(p)})
    if not needles and not forms:
        return 0
    from redis import Redis

    clients = clients or [get_redis(), Redis.from_url(get_settings().reflex_redis_url)]
    wanted = [n.encode() for n in needles]
    removed = 0
    for redis in clients:
        for key in redis.scan_iter(count=1000):
            texts = [key, *redis_values(redis, key)]
            if any(w in t for w in wanted for t in texts) or any(
                    f in t and rules.mentions_phone(t.decode("utf-8", "replace"), phones)
                    for f in forms for t in texts):
                removed += redis.delete(key)
    return removed


def phone_digits(person: Person) -> tuple[str, ...]:
    """The person's phone numbers, as digits."""
    return tuple(sorted({n for n in person.needles if n.isdigit() and len(n) >= 8}))


def phone_forms(person: Person) -> tuple[str, ...]:
    """The person's phone numbers as they sit, base64-encoded, inside wamids (`rules.phone_in_base64`): a search
    filter only, each match decoded before anything is changed."""
    return tuple(sorted({f for p in phone_digits(person) for f in rules.phone_in_base64(p)}, key=len, reverse=True))


def _step_redis(session: Session, person: Person) -> None:
    scrub_redis(person.needles, phones=phone_digits(person))


def _rewrite_event(body: str, person: Person) -> str:
    """The webhook without the person's contacts, messages and statuses; any other mention replaced."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    ids = set(person.wa_ids)
    for entry in (payload or {}).get("entry", []) if isinstance(payload, dict) else []:
        for change in entry.get("changes", []):
            value = change.get("value", {})
            value["contacts"] = [c for c in value.get("contacts", []) if c.get("wa_id") not in ids]
            value["messages"] = [m for m in value.get("messages", []) if m.get("from") not in ids]
            value["statuses"] = [s for s in value.get("statuses", []) if s.get("recipient_id") not in ids]
    text = json.dumps(payload) if isinstance(payload, dict) else '{"erased": true}'
    for needle in person.needles:
        text = text.replace(needle, personal.TOMBSTONE)
    return text


def _step_inbound_events(session: Session, person: Person) -> None:
    needles = [*person.wa_ids, *(n for n in person.needles if n.isdigit())]
    if not needles:
        return
    events = session.exec(select(InboundEvent).where(
        InboundEvent.tenant_id == person.tenant_id, sa.or_(*(InboundEvent.body.contains(n) for n in needles)))).all()
    for event in events:
        event.body = _rewrite_event(event.body, person)
        session.add(event)


ERASURE_FILES = "erasure_files"  # session.info: files an erasure step lets go of


def delete_unshared_files(session: Session, tenant_id: int, keys: set[str], *,
                          leaving: list[int] | None = None) -> None:
    """After commit, delete the files of `keys` that no other message of the tenant still holds.

    Outbound attachments are stored by content (`{tenant}/out/{sha}`): the same file sent to two contacts is
    one file, and deleting it for one would break the other's message. The messages letting go of the files
    are either already flushed without their key, or are those of the conversations `leaving`.
    """
    if not keys:
        return
    query = select(Message.media_storage_key).where(Message.tenant_id == tenant_id,
                                                    Message.media_storage_key.in_(keys))
    if leaving is not None:
        query = query.where(Message.conversation_id.not_in(leaving))
    unshared = sorted(set(keys) - set(session.exec(query).all()))
    if ERASURE_FILES in session.info:  # an erasure step: `run_steps` deletes them once the step committed
        session.info[ERASURE_FILES].extend(unshared)
    else:
        after_commit(session, lambda: [get_storage().delete(key) for key in unshared])


def _step_files(session: Session, person: Person) -> None:
    storage, conversation_ids = get_storage(), _conversation_ids(session, person)
    keys = session.exec(select(Message.media_storage_key).where(
        Message.conversation_id.in_(conversation_ids), Message.media_storage_key.is_not(None))).all()
    delete_unshared_files(session, person.tenant_id, set(keys), leaving=conversation_ids)
    bundles = session.exec(select(PrivacyRequest).where(PrivacyRequest.contact_id == person.contact_id,
                                                        PrivacyRequest.result_key.is_not(None))).all()
    for key in [r.result_key for r in bundles]:
        storage.delete(key)
    for request in bundles:  # an access bundle is a copy of everything about the person
        request.result_key = request.download_token_hash = request.download_expires_at = None
        session.add(request)


def _erase_message(message: Message, key: bytes) -> None:
    message.body = message.search_text = message.edit_history = None
    message.payload = {"erased": True}
    message.media_storage_key = message.media_id = None
    if message.wa_message_id:
        message.wa_message_id = rules.hash_wamid(message.wa_message_id, key)
    if message.reply_to_wa_message_id:
        message.reply_to_wa_message_id = rules.hash_wamid(message.reply_to_wa_message_id, key)
    if message.error_reason:
        message.error_reason = None


def _step_messages(session: Session, person: Person) -> None:
    key, conversation_ids = wamid_key(person.tenant_id), _conversation_ids(session, person)
    after = 0
    while True:  # keyset batches, each committed: one huge transaction never holds the table
        batch = session.exec(select(Message).where(Message.conversation_id.in_(conversation_ids), Message.id > after)
                             .order_by(Message.id).limit(BATCH)).all()
        if not batch:
            return
        for message in batch:
            _erase_message(message, key)
            session.add(message)
        after = batch[-1].id
        session.commit()


def _step_conversations(session: Session, person: Person) -> None:
    conversation_ids = _conversation_ids(session, person)
    session.exec(sa.update(Conversation).where(Conversation.id.in_(conversation_ids))
                 .values(last_message_preview=None))
    session.exec(sa.update(BotSession).where(BotSession.conversation_id.in_(conversation_ids)).values(variables={}))
    erase_csat(session, person)


def erase_csat(session: Session, person: Person) -> None:
    """The person's CSAT answers keep their rating (the figures stay) and lose the comment; their wamids are
    hashed as the messages' are (a wamid carries the phone)."""
    key = wamid_key(person.tenant_id)
    for survey in session.exec(select(CsatSurvey).where(CsatSurvey.tenant_id == person.tenant_id,
                                                        CsatSurvey.contact_id == person.contact_id)).all():
        survey.comment = None
        if survey.rating_wa_message_id:
            survey.rating_wa_message_id = rules.hash_wamid(survey.rating_wa_message_id, key)
        if survey.comment_wa_message_id:
            survey.comment_wa_message_id = rules.hash_wamid(survey.comment_wa_message_id, key)
        session.add(survey)


def _step_consents(session: Session, person: Person) -> None:
    key = wamid_key(person.tenant_id)
    for event in session.exec(select(ConsentEvent).where(ConsentEvent.contact_id == person.contact_id)).all():
        if event.proof.startswith("wamid."):
            event.proof = rules.hash_wamid(event.proof, key)
            session.add(event)


def _step_emails(session: Session, person: Person) -> None:
    """E-mails the app sent about the person (e.g. "Conversa com Maria atribuída a você"): subject and the
    encrypted bodies lose the person's values."""
    after = 0
    while True:
        batch = session.exec(select(Email).where(Email.tenant_id == person.tenant_id, Email.id > after)
                             .order_by(Email.id).limit(BATCH)).all()
        if not batch:
            return
        for email in batch:
            for field in ("subject", "body_text", "body_html"):
                value = getattr(email, field) or ""
                cleaned = _replace_all(value, person.needles)
                if cleaned != value:
                    setattr(email, field, cleaned)
                    session.add(email)
        after = batch[-1].id
        session.commit()


def _replace_all(value: str, needles: tuple[str, ...]) -> str:
    for needle in needles:
        value = value.replace(needle, personal.TOMBSTONE)
    return value


# Tables whose rows the sweep leaves alone: other contacts' own names, the ledger, migrations, the audit trail.
_SWEEP_SKIP = {"contacts", "erasure_ledger", "alembic_version",
               "audit_logs", "audit_details"}  # the audit step deletes side values; entries never change


def sweep_needles(person: Person) -> tuple[str, ...]:
    """The values specific enough to replace anywhere in the tenant: phone, WhatsApp ids, e-mail and a full
    name (two words or more, 8 characters or more). A lone first name could be someone else's."""
    return tuple(n for n in person.needles if n.isdigit() or "@" in n or n.startswith("+")
                 or (" " in n.strip() and len(n) >= 8))


def _step_sweep(session: Session, person: Person) -> None:
    """Whatever the steps above do not know of (a column added later, another area's table): every text and
    JSON column of every tenant-owned table, read from the database's catalog, loses the person's values.

    WhatsApp message ids carry the phone in base64 (outgoing webhook events, raw webhooks, delivery logs hold
    them): a wamid with the person's phone in it becomes its keyed hash, the same one `messages` got.
    """
    needles, forms = sweep_needles(person), phone_forms(person)
    if not needles and not forms:
        return
    bind, key = session.connection(), wamid_key(person.tenant_id)
    inspector = sa.inspect(bind)
    for table in sorted(set(inspector.get_table_names()) - _SWEEP_SKIP):
        columns = inspector.get_columns(table)
        if "tenant_id" not in {c["name"] for c in columns}:
            continue
        primary_key = inspector.get_pk_constraint(table).get("constrained_columns") or []
        for column in columns:
            kind = str(column["type"]).upper()
            if not kind.startswith(("VARCHAR", "TEXT", "CHAR", "JSON")):
                continue
            _sweep_column(bind, table, column["name"], kind, person.tenant_id, needles)
            if forms and primary_key:
                _sweep_wamids(bind, _Column(table, column["name"], kind, tuple(primary_key)), person.tenant_id,
                              forms, phone_digits(person), key)
            elif forms:  # no row key to rewrite by: the phone's base64 text goes, the wamid is left broken
                _sweep_column(bind, table, column["name"], kind, person.tenant_id, forms)


@dataclass(frozen=True)
class _Column:
    table: str
    name: str
    kind: str
    primary_key: tuple[str, ...]


def _sweep_wamids(bind, column: _Column, tenant_id: int, forms: tuple[str, ...], phones: tuple[str, ...],
                  key: bytes) -> None:
    pg = bind.dialect.name == "postgresql"
    as_text = f'CAST("{column.name}" AS TEXT)'
    find = " OR ".join((f"strpos({as_text}, :f{i}) > 0" if pg else f"instr({as_text}, :f{i}) > 0")
                       for i in range(len(forms)))
    keys = ", ".join(f'"{c}"' for c in column.primary_key)
    params = {"tenant": tenant_id, **{f"f{i}": form for i, form in enumerate(forms)}}
    rows = bind.execute(sa.text(f'SELECT {keys}, {as_text} FROM "{column.table}" '
                                f"WHERE tenant_id = :tenant AND ({find})"), params).all()
    value = ":value"
    if column.kind.startswith("JSON") and pg:
        value = f"CAST(:value AS {'JSONB' if column.kind.startswith('JSONB') else 'JSON'})"
    where = " AND ".join(f'"{c}" = :k{i}' for i, c in enumerate(column.primary_key))
    for *row_key, text in rows:
        cleaned = rules.forget_wamids(text, phones, key, personal.TOMBSTONE)
        if cleaned == text:  # the form was another number's (it differs only in its last digits)
            continue
        bind.execute(sa.text(f'UPDATE "{column.table}" SET "{column.name}" = {value} WHERE {where}'),
                     {"value": cleaned, **{f"k{i}": k for i, k in enumerate(row_key)}})


def _sweep_column(bind, table: str, column: str, kind: str, tenant_id: int, needles: tuple[str, ...]) -> None:
    pg = bind.dialect.name == "postgresql"
    as_text = f'CAST("{column}" AS TEXT)' if pg else f'"{column}"'
    contains = f"strpos({as_text}, :needle) > 0" if pg else f"instr({as_text}, :needle) > 0"
    for needle in needles:
        value = f"replace({as_text}, :needle, :tomb)"
        if kind.startswith("JSON") and pg:
            value = f"CAST({value} AS {'JSONB' if kind.startswith('JSONB') else 'JSON'})"
        bind.execute(sa.text(f'UPDATE "{table}" SET "{column}" = {value} WHERE tenant_id = :tenant AND {contains}'),
                     {"needle": needle, "tomb": personal.TOMBSTONE, "tenant": tenant_id})


def _step_contact(session: Session, person: Person) -> None:
    contact = session.get(Contact, person.contact_id)
    contact.phone_e164 = f"erased:{contact.id}"
    contact.name = contact.email = None
    contact.custom_attributes, contact.search_text, contact.updated_at = {}, "", utcnow()
    session.add(contact)
    for link in session.exec(select(ContactInbox).where(ContactInbox.contact_id == person.contact_id)).all():
        link.wa_id = f"erased:{link.id}"
        session.add(link)


def _step_ledger(session: Session, person: Person) -> None:
    if not is_erased(session, person.tenant_id, person.contact_id):
        session.add(ErasureRecord(tenant_id=person.tenant_id, contact_id=person.contact_id, erased_at=utcnow()))
    append_ledger_file(person.tenant_id, person.contact_id)


STEPS: tuple[tuple[str, Callable[[Session, Person], None]], ...] = (
    ("audit", _step_audit), ("redis", _step_redis), ("inbound_events", _step_inbound_events),
    ("files", _step_files), ("messages", _step_messages), ("conversations", _step_conversations),
    ("consents", _step_consents), ("emails", _step_emails), ("sweep", _step_sweep), ("contact", _step_contact),
    ("ledger", _step_ledger),
)
STEP_NAMES = tuple(name for name, _ in STEPS)


def _ledger_bytes(tenant_id: int) -> bytes:
    storage, key = get_storage(), LEDGER_KEY.format(tenant_id=tenant_id)
    return storage.read(key) if storage.exists(key) else b""


def _ledger_ids(data: bytes) -> set[int]:
    ids = set()
    for line in data.decode(errors="replace").splitlines():
        try:
            ids.add(int(json.loads(line)["contact_id"]))
        except (ValueError, KeyError, TypeError):  # a blank line, or one torn by a crash mid-write
            continue
    return ids


def ledger_contacts(tenant_id: int) -> set[int]:
    """The contact ids in the tenant's ledger file (the copy that survives a database restore)."""
    return _ledger_ids(_ledger_bytes(tenant_id))


def append_ledger_file(tenant_id: int, contact_id: int) -> None:
    """Add one line (contact id and time) to the ledger file, once per contact.

    The line goes in one atomic append (`MediaStorage.append`), so erasures finishing at the same moment in
    two workers both stay in the file. Two racing appends of the same contact write it twice: harmless, the
    file is read as a set.
    """
    data = _ledger_bytes(tenant_id)
    if contact_id in _ledger_ids(data):
        return
    line = json.dumps({"contact_id": contact_id, "erased_at": utcnow().isoformat()}) + "\n"
    # a line torn by a crash must not swallow this one
    prefix = "\n" if data and not data.endswith(b"\n") else ""
    get_storage().append(LEDGER_KEY.format(tenant_id=tenant_id), (prefix + line).encode())


def run_steps(tenant_id: int, contact_id: int, *, start: int = 0,
              on_step: Callable[[int], None] | None = None) -> None:
    """Run the steps from `start`, each committed; `on_step(i)` is told after step i finished."""
    for index in range(start, len(STEPS)):
        name, step = STEPS[index]
        with session_scope() as session:
            session.info[ERASURE_FILES] = doomed = []
            step(session, _person(session, tenant_id, contact_id))
        # After the commit, and not swallowed: a delete that fails stops the job before the step counts as done,
        # so the resumed job runs the step again (its messages still name the files) instead of forgetting them.
        for key in doomed:
            get_storage().delete(key)
        log.info("erasure of contact %s: step %s done", contact_id, name)
        if on_step:
            on_step(index + 1)


def reapply_ledger(tenant_id: int) -> int:
    """After a restore: erase again everyone in the ledger file (and the database's ledger). Returns how many.

    A restored backup may predate an erasure, so its database ledger may not know it: the file does.
    """
    with session_scope() as session:
        in_db = set(session.exec(select(ErasureRecord.contact_id).where(ErasureRecord.tenant_id == tenant_id)).all())
    redone = 0
    for contact_id in sorted(ledger_contacts(tenant_id) | in_db):
        with session_scope() as session:
            if session.get(Contact, contact_id) is None:
                continue
        run_steps(tenant_id, contact_id)
        redone += 1
    return redone
