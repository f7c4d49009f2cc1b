"""The golden case: one person with messages, media, notes, labels, bot variables, consents and audit entries.

The access bundle holds all of it and nothing of another person; erasure (killed midway, then resumed by a
real worker) leaves nothing of the person in any text or JSON column of the database, the media directory or
Redis; analytics counts stay; a restore followed by the ledger's re-application keeps the person erased.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
import zipfile

import psutil
import pytest
from sqlalchemy import text
from sqlmodel import select

from crm_app.config import get_settings
from crm_app.db import get_engine, session_scope, utcnow
from crm_app.errors import Conflict, NotFound
from crm_app.integrations.storage import get_storage
from crm_app.models import (
    AuditLog,
    BotSession,
    Contact,
    Conversation,
    CsatSurvey,
    Direction,
    Email,
    Message,
    PrivacyRequest,
    SenderType,
    WebhookEndpoint,
)
from crm_app.queue import get_queue, get_redis
from crm_app.services import inbox
from crm_app.services.channel import ingest
from crm_app.services.compliance import bundle, consent, erasure, holds, requests
from crm_app.services.conversations import contacts, labels
from crm_app.services.core import jobs
from tests.factories import make_tenant, make_user
from tests.support.inbox import fresh_tenant
from tests.support.whatsapp import encode, fixture, run_burst_worker, signed_headers, worker_argv

WA_A, NAME_A, EMAIL_A, CPF_A = "5548999990001", "Zuleide Pitanga Quaresma", "zuleide.q@example.com", "52998224725"
PHRASE_A = "abacaxi quantico azul 7731"
WA_B, NAME_B, PHRASE_B = "5511977770002", "Bartolomeu Outrem", "goiaba solar 4242"


def wamid_for(wa_id: str) -> str:
    """A wamid as Meta makes them: base64 that carries the customer's phone ("HBgN" + "5548…")."""
    raw = b"\x1c\x18\x0d" + wa_id.encode() + b"\x15\x02\x00\x12\x18\x16" + uuid.uuid4().hex[:22].upper().encode()
    return "wamid." + base64.b64encode(raw).decode()


def writes(wa_id: str, name: str, body: str, wamid: str | None = None) -> str:
    payload = fixture("message", "text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": wa_id, "profile": {"name": name}})
    wamid = wamid or wamid_for(wa_id)
    value["messages"] = [{"from": wa_id, "id": wamid, "timestamp": str(int(dt.datetime.now(dt.UTC).timestamp())),
                          "type": "text", "text": {"body": body}}]
    raw = encode(payload)
    outcome = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
    if outcome.event_id is not None:
        ingest.process_inbound_event(outcome.event_id)
    return wamid


def status_webhook(wamid: str, recipient: str) -> None:
    payload = fixture("message", "text")
    value = payload["entry"][0]["changes"][0]["value"]
    value.pop("messages"), value.pop("contacts")
    value["statuses"] = [{"id": wamid, "status": "delivered", "timestamp": str(int(dt.datetime.now(dt.UTC)
                                                                                   .timestamp())),
                          "recipient_id": recipient}]
    raw = encode(payload)
    outcome = ingest.store_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
    ingest.process_inbound_event(outcome.event_id)


def contact_of(wa_id: str) -> Contact:
    with session_scope() as s:
        return s.exec(select(Contact).where(Contact.phone_e164 == f"+{wa_id}")).one()


def conversation_of(contact_id: int) -> Conversation:
    with session_scope() as s:
        return s.exec(select(Conversation).where(Conversation.contact_id == contact_id)).one()


@pytest.fixture
def world(db):
    shutil.rmtree(get_settings().data_dir / "media", ignore_errors=True)  # only this test's files
    tenant, box = fresh_tenant(db)
    admin, dpo = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "dpo")
    # an endpoint: every message and status becomes an outgoing webhook event, with its wamid, in webhook_events
    db.add(WebhookEndpoint(tenant_id=tenant.id, url="https://hooks.example.com/crm", secret="whsec_test",
                           headers_json="{}", enabled=False))
    db.commit()
    first = writes(WA_A, NAME_A, f"Oi! Sou a {NAME_A}, meu CPF é {CPF_A}. {PHRASE_A}")
    writes(WA_A, NAME_A, "Segue a foto")
    writes(WA_B, NAME_B, f"Olá, aqui {NAME_B}: {PHRASE_B}")
    a, b = contact_of(WA_A), contact_of(WA_B)
    conv_a, conv_b = conversation_of(a.id), conversation_of(b.id)
    with session_scope() as s:
        contacts.update_contact(s, actor=admin, contact_id=a.id, email=EMAIL_A, custom_attributes={"cpf": CPF_A})
        inbox.add_note(s, actor=admin, conversation_id=conv_a.id, body=f"Nota: {NAME_A} disse {PHRASE_A}")
        labels.add_label(s, actor=admin, conversation_id=conv_a.id, name="VIP")
        labels.add_label(s, actor=admin, conversation_id=conv_b.id, name="VIP")
        photo = s.exec(select(Message).where(Message.body == "Segue a foto")).one()
        photo.media_storage_key = f"{tenant.id}/media/{uuid.uuid4().hex}.jpg"
        photo.media_mime, photo.media_token = "image/jpeg", uuid.uuid4().hex
        get_storage().put(photo.media_storage_key, b"\xff\xd8JPEG " + PHRASE_A.encode())
        s.add(photo)
        s.add(BotSession(tenant_id=tenant.id, conversation_id=conv_a.id, node_id="email",
                         variables={"email": EMAIL_A, "nome": NAME_A}))
        s.add(BotSession(tenant_id=tenant.id, conversation_id=conv_b.id, node_id="pedido",
                         variables={"nome": NAME_B, "pedido": PHRASE_B}))
        out = Message(tenant_id=tenant.id, conversation_id=conv_a.id, direction=Direction.OUTBOUND,
                      sender_type=SenderType.ATTENDANT, kind="text", body=f"Olá {NAME_A}!", status="sent",
                      wa_message_id=wamid_for(WA_A))
        s.add(out)
        rated_by, commented_by = wamid_for(WA_A), wamid_for(WA_A)
        s.add(CsatSurvey(tenant_id=tenant.id, conversation_id=conv_a.id, contact_id=a.id,
                         contact_inbox_id=conv_a.contact_inbox_id, inbox_id=conv_a.inbox_id, status="done", rating=4,
                         rated_at=utcnow(), rating_wa_message_id=rated_by, comment=f"Adorei, {PHRASE_A}",
                         commented_at=utcnow(), comment_wa_message_id=commented_by))
        consent.record(s, tenant_id=tenant.id, contact_id=a.id, purpose="marketing", granted=True,
                       source="bot_step", proof=first)
        consent.record(s, tenant_id=tenant.id, contact_id=b.id, purpose="marketing", granted=True,
                       source="bot_step", proof="wamid.b")
        s.add(Email(tenant_id=tenant.id, recipient="ana@example.com", template="assigned", locale="pt-BR",
                    subject=f"Conversa com {NAME_A} atribuída a você", body_text=f"{NAME_A} (+{WA_A}) espera",
                    body_html=f"<p>{NAME_A}</p>", status="sent"))
    with get_engine().begin() as conn:  # a table the erasure steps do not know (another area's, a later one)
        conn.execute(text("CREATE TABLE IF NOT EXISTS future_notes (id serial PRIMARY KEY, tenant_id int NOT NULL, "
                          "note text, extra jsonb)"))
        conn.execute(text("INSERT INTO future_notes (tenant_id, note, extra) VALUES (:t, :n, CAST(:x AS jsonb))"),
                     {"t": tenant.id, "n": f"ligar para +{WA_A} ({NAME_A})", "x": json.dumps({"email": EMAIL_A})})
    status_webhook(out.wa_message_id, WA_A)
    other_file = f"{tenant.id}/media/b.jpg"
    get_storage().put(other_file, PHRASE_B.encode())
    get_redis().set(f"crm:test-cache:{a.id}", json.dumps({"name": NAME_A, "phone": WA_A}))
    get_redis().set(f"crm:test-cache:{b.id}", json.dumps({"name": NAME_B}))
    yield {"tenant": tenant, "admin": admin, "dpo": dpo, "a": a.id, "b": b.id,
           "wamids": [first, out.wa_message_id, rated_by, commented_by]}
    get_redis().delete(f"crm:test-cache:{a.id}", f"crm:test-cache:{b.id}")
    with get_engine().begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS future_notes"))


def needles(world) -> list[str]:
    """Her values, her wamids, and her phone as a wamid carries it (base64, after Meta's three-byte prefix)."""
    return [WA_A, f"+{WA_A}", NAME_A, "Zuleide", EMAIL_A, CPF_A, PHRASE_A, "abacaxi",
            *world["wamids"], *(w.removeprefix("wamid.")[:24] for w in world["wamids"]),
            base64.b64encode(WA_A.encode()[:12]).decode()]


def _text_columns() -> list[tuple[str, str]]:
    with get_engine().connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'character')"))]


def db_hits(words: list[str]) -> list[str]:
    hits = []
    with get_engine().connect() as conn:
        for table, column in _text_columns():
            for word in words:
                found = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :w'),
                                     {"w": f"%{word}%"}).scalar()
                if found:
                    hits.append(f"{table}.{column}: {word}")
    return hits


def file_hits(words: list[str]) -> list[str]:
    root = get_settings().data_dir / "media"
    return [f"{p}: {w}" for p in root.rglob("*") if p.is_file() for w in words if w.encode() in p.read_bytes()]


def redis_hits(words: list[str]) -> list[str]:
    redis, hits = get_redis(), []
    for key in redis.scan_iter(count=1000):
        values = [key, *erasure.redis_values(redis, key)]
        hits += [f"{key!r}: {w}" for w in words if any(w.encode() in v for v in values)]
    return hits


COUNTED = ("messages", "conversations", "contacts", "conversation_labels", "consent_events", "audit_logs",
           "inbound_events", "bot_sessions", "contact_inboxes", "csat_surveys")


def analytics_counts() -> dict:
    with get_engine().connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in COUNTED}
        counts["by_kind"] = sorted(tuple(r) for r in conn.execute(text(
            "SELECT direction, sender_type, kind, status, count(*) FROM messages GROUP BY 1, 2, 3, 4")))
        counts["by_status"] = sorted(tuple(r) for r in conn.execute(text(
            "SELECT status, count(*) FROM conversations GROUP BY 1")))
    return counts


RESTORED = ("contacts", "contact_inboxes", "conversations", "messages", "inbound_events", "audit_logs",
            "bot_sessions", "consent_events", "erasure_ledger", "privacy_requests", "conversation_labels",
            "csat_surveys")


def take_backup(tmp_path) -> None:
    """A stand-in for a backup until backups exist: copies of the tables and of the media directory."""
    with get_engine().begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS snap CASCADE; CREATE SCHEMA snap"))
        for table in RESTORED:
            conn.execute(text(f"CREATE TABLE snap.{table} AS SELECT * FROM public.{table}"))
    shutil.copytree(get_settings().data_dir / "media", tmp_path / "media")


def restore_backup(tmp_path) -> None:
    with get_engine().begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in RESTORED:
            conn.execute(text(f"DELETE FROM public.{table}"))
            conn.execute(text(f"INSERT INTO public.{table} SELECT * FROM snap.{table}"))
        conn.execute(text("DROP SCHEMA snap CASCADE"))
    ledger = get_settings().data_dir / "media" / "privacy"
    keep = {p.name: p.read_bytes() for p in ledger.glob("erasure-ledger-*")}  # the ledger file lives on
    shutil.rmtree(get_settings().data_dir / "media")
    shutil.copytree(tmp_path / "media", get_settings().data_dir / "media")
    ledger.mkdir(parents=True, exist_ok=True)
    for name, data in keep.items():
        (ledger / name).write_bytes(data)


def _bundle(world) -> dict:
    with session_scope() as s:
        row = requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="access")
    result = run_burst_worker("bulk")
    assert result.returncode == 0, result.stderr[-2000:]
    with session_scope() as s:
        done = requests.get_request(s, actor=world["dpo"], request_id=row.id)
        assert done.status == "done" and done.has_bundle and done.progress["done"] == done.progress["total"]
        token = requests.create_download_link(s, actor=world["dpo"], request_id=row.id)
    for _ in range(2):  # twice within the hour: one read recorded
        with session_scope() as s:
            data, name = requests.read_download(s, actor=world["dpo"], token=token)
    assert name.endswith(".zip") and bundle.verify_bundle(world["tenant"].id, data)
    with session_scope() as s:
        [read] = s.exec(select(AuditLog).where(AuditLog.action == "privacy.bundle.download")).all()
        assert (read.target_type, read.target_id, read.actor_user_id) == ("privacy_request", str(row.id),
                                                                          world["dpo"].user_id)
        assert read.after == {"kind": "privacy_bundle", "contact_id": world["a"]}
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {n: archive.read(n) for n in archive.namelist()}


def test_the_access_bundle_holds_everything_about_the_person_and_nothing_of_another(world):
    files = _bundle(world)
    data = json.loads(files["data.json"])
    everything = files["data.json"].decode()
    assert data["contact"]["name"] == NAME_A and data["contact"]["email"] == EMAIL_A
    assert data["contact"]["attributes"] == {"cpf": CPF_A}
    assert [c["purpose"] for c in data["consents"]] == ["marketing"]
    assert data["conversations"][0]["labels"] == ["VIP"]
    bodies = [m["body"] for m in data["messages"]]
    assert any(PHRASE_A in (b or "") for b in bodies) and f"Nota: {NAME_A} disse {PHRASE_A}" in bodies
    assert any(m["sender"] == "note" for m in data["messages"])
    assert {e["action"] for e in data["audit"]} >= {"contact.update", "conversation.note"}
    assert [(b["node_id"], b["variables"]) for b in data["bot_sessions"]] == [
        ("email", {"email": EMAIL_A, "nome": NAME_A})]  # what the bot collected from her, not from him
    [answer] = data["csat"]  # her rating and comment, with its conversation
    assert (answer["rating"], answer["comment"]) == (4, f"Adorei, {PHRASE_A}")
    assert answer["conversation_id"] == data["conversations"][0]["id"]
    [media] = [n for n in files if n.startswith("media/")]
    assert PHRASE_A.encode() in files[media]
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == {"data.json", media}
    assert NAME_B not in everything and PHRASE_B not in everything and WA_B not in everything


def test_a_tampered_bundle_fails_verification(world):
    files = _bundle(world)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content.replace(b"Zuleide", b"Zulmira") if name == "data.json" else content)
    assert not bundle.verify_bundle(world["tenant"].id, buffer.getvalue())


def test_erasure_killed_midway_resumes_and_leaves_nothing_of_the_person(world, tmp_path):
    words = needles(world)
    assert db_hits(words) and file_hits([PHRASE_A]) and redis_hits([NAME_A])  # the search can fail
    assert {h.split(":")[0] for h in db_hits(world["wamids"])} >= {"webhook_events.payload", "inbound_events.body"}
    _bundle(world)  # an export file of the person, which erasure must remove too
    before = analytics_counts()
    take_backup(tmp_path)
    with session_scope() as s:
        row = requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="erasure")

    class Killed(Exception):
        pass

    def die_after_four(step: int) -> None:
        requests.record_progress(row.id, step=step, done=step)
        if step == 4:
            raise Killed  # the worker dies after the fourth step committed

    with pytest.raises(Killed):
        erasure.run_steps(world["tenant"].id, world["a"], on_step=die_after_four)
    assert db_hits([PHRASE_A])  # half done: the messages are not erased yet
    result = run_burst_worker("bulk")  # the queued job resumes from step 4
    assert result.returncode == 0, result.stderr[-2000:]
    with session_scope() as s:
        done = requests.get_request(s, actor=world["dpo"], request_id=row.id)
        assert done.status == "done" and done.progress["step"] == len(erasure.STEPS)
    assert db_hits(words) == []
    with session_scope() as s:  # the encrypted bodies too
        email = s.exec(select(Email)).one()
        assert NAME_A not in email.body_text + email.body_html + email.subject and WA_A not in email.body_text
    assert file_hits(words) == []
    assert redis_hits(words) == []
    after = analytics_counts()
    assert {k: v for k, v in after.items() if k != "audit_logs"} == {k: v for k, v in before.items()
                                                                     if k != "audit_logs"}
    assert after["audit_logs"] >= before["audit_logs"]  # the request adds its own entries
    assert db_hits([NAME_B, PHRASE_B]) and file_hits([PHRASE_B])  # the other person is untouched

    with session_scope() as s, pytest.raises(Conflict, match="already erased"):
        requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="erasure")

    restore_backup(tmp_path)
    assert db_hits([PHRASE_A]) and file_hits([PHRASE_A])  # the old backup brought the person back
    assert erasure.reapply_ledger(world["tenant"].id) == 1
    assert db_hits(words) == [] and file_hits(words) == []


def test_a_person_who_writes_after_erasure_is_a_new_contact_and_duplicates_still_dedup(world):
    with session_scope() as s:
        requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="erasure")
    assert run_burst_worker("bulk").returncode == 0
    wamid = wamid_for(WA_A)
    writes(WA_A, NAME_A, "Voltei", wamid=wamid)
    writes(WA_A, NAME_A, "Voltei", wamid=wamid)  # Meta delivers it twice
    again = contact_of(WA_A)
    assert again.id != world["a"]
    with session_scope() as s:
        assert len(s.exec(select(Message).where(Message.wa_message_id == wamid)).all()) == 1
        assert s.get(Contact, world["a"]).name is None


def test_a_neighbour_whose_number_differs_in_the_last_digit_keeps_their_wamids(world):
    """Her number's base64 form is also the start of a neighbour's (5548999990001 vs 5548999990007): only wamids that
    decode to her whole number are hashed."""
    neighbour = WA_A[:-1] + "7"
    theirs = writes(neighbour, "Vizinha Quaresma", "oi, sou a vizinha")
    key = f"crm:test-cache:neighbour:{theirs}"
    get_redis().set(key, theirs)
    try:
        with session_scope() as s:
            requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="erasure")
        assert run_burst_worker("bulk").returncode == 0
        with session_scope() as s:
            assert s.exec(select(Message).where(Message.wa_message_id == theirs)).one().body == "oi, sou a vizinha"
        assert {h.split(":")[0] for h in db_hits([theirs])} >= {"messages.wa_message_id", "inbound_events.body"}
        assert get_redis().get(key) is not None
        assert db_hits(world["wamids"]) == []
    finally:
        get_redis().delete(key)


def test_a_file_delete_that_fails_stops_the_erasure_and_the_resumed_job_deletes_it(world, monkeypatch):
    """The step letting go of the files only counts once they are gone: a failed delete is not forgotten."""
    storage = type(get_storage())
    real_delete, failures = storage.delete, []

    def failing_once(self, key):
        if not failures:
            failures.append(key)
            raise OSError("disk went away")
        return real_delete(self, key)

    monkeypatch.setattr(storage, "delete", failing_once)
    done: list[int] = []
    with pytest.raises(OSError):
        erasure.run_steps(world["tenant"].id, world["a"], on_step=done.append)
    assert failures and file_hits([PHRASE_A])  # the photo is still there, and the step did not count
    erasure.run_steps(world["tenant"].id, world["a"], start=len(done))
    assert file_hits([PHRASE_A]) == [] and db_hits([PHRASE_A]) == []


def test_a_legal_hold_blocks_erasure_and_says_why(world, db):
    hold = holds.place_hold(db, actor=world["dpo"], contact_id=world["a"], reason="Processo 0001234-56.2026")
    db.commit()
    with pytest.raises(Conflict, match="Processo 0001234-56.2026"):
        requests.create_request(db, actor=world["dpo"], contact_id=world["a"], kind="erasure")
    db.rollback()
    assert db.exec(select(PrivacyRequest)).all() == []  # nothing half-done
    holds.release_hold(db, actor=world["dpo"], hold_id=hold.id)
    db.commit()
    requests.create_request(db, actor=world["dpo"], contact_id=world["a"], kind="erasure")
    db.commit()


def test_a_hold_placed_after_the_request_stops_the_job(world, db):
    row = requests.create_request(db, actor=world["dpo"], contact_id=world["a"], kind="erasure")
    db.commit()
    holds.place_hold(db, actor=world["admin"], contact_id=world["a"], reason="Fiscalização")
    db.commit()
    assert run_burst_worker("bulk").returncode == 0
    with session_scope() as s:
        failed = requests.get_request(s, actor=world["dpo"], request_id=row.id)
        assert failed.status == "failed" and "legal hold" in failed.error
        assert s.get(Contact, world["a"]).name == NAME_A


def test_requests_refuse_unknown_contacts_other_tenants_and_other_roles(world, db):
    with pytest.raises(NotFound, match="contact not found"):
        requests.create_request(db, actor=world["dpo"], contact_id=999_999, kind="access")
    other = make_user(db, make_tenant(db).id, "dpo")
    with pytest.raises(NotFound):
        requests.create_request(db, actor=other, contact_id=world["a"], kind="erasure")
    from crm_app.errors import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        requests.create_request(db, actor=make_user(db, world["tenant"].id, "supervisor"), contact_id=world["a"],
                                kind="access")
    with pytest.raises(ValidationError):
        requests.create_request(db, actor=world["dpo"], contact_id=world["a"], kind="delete-everything")


def test_due_dates_follow_the_tenant_calendar_and_the_list_warns_three_days_before(world, db):
    from crm_app.services import settings

    # 5 Nov 2026 + 15 days is Friday 20 Nov, a national holiday since 2024: due Monday 23 Nov.
    row = requests.create_request(db, actor=world["dpo"], contact_id=world["b"], kind="correction",
                                  today=dt.date(2026, 11, 5))
    assert row.due_on == dt.date(2026, 11, 23)
    settings.update(db, actor=world["admin"], tenant_id=world["tenant"].id,
                    changes={"privacy.due_in_business_days": True, "privacy.request_due_days": 5})
    db.commit()
    row2 = requests.create_request(db, actor=world["dpo"], contact_id=world["b"], kind="correction",
                                   today=dt.date(2026, 11, 16))
    assert row2.due_on == dt.date(2026, 11, 24)
    db.commit()
    listed = requests.list_requests(db, actor=world["dpo"])
    assert [r.id for r in listed] == [row.id, row2.id]  # by due date
    assert all(r.overdue and r.due_soon for r in listed)  # both are past today
    assert "Bartolomeu" not in json.dumps([r.log for r in listed])


def _append_ledger_lines(tenant_id: int, contact_ids: range) -> None:
    for contact_id in contact_ids:
        erasure.append_ledger_file(tenant_id, contact_id)


def test_erasures_finishing_at_once_in_several_workers_all_stay_in_the_ledger_file():
    import multiprocessing

    tenant_id = uuid.uuid4().int % 10**9 + 10**9  # a ledger file of its own
    workers = [multiprocessing.get_context("fork").Process(target=_append_ledger_lines,
                                                           args=(tenant_id, range(i * 40, (i + 1) * 40)))
               for i in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * 6
    assert erasure.ledger_contacts(tenant_id) == set(range(240))
    key = erasure.LEDGER_KEY.format(tenant_id=tenant_id)
    get_storage().append(key, b'{"contact_id": 99')  # a crash tore the last line
    erasure.append_ledger_file(tenant_id, 1000)
    assert erasure.ledger_contacts(tenant_id) == {*range(240), 1000}


def _wait_for_lock_wait(pattern: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with get_engine().connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND query LIKE :q"), {"q": pattern}).scalar():
                return True
        time.sleep(0.1)
    return False


def test_an_erasure_whose_worker_was_killed_is_resumed_by_the_sweep_and_completes(world):
    words = needles(world)
    with session_scope() as s:
        row = requests.create_request(s, actor=world["dpo"], contact_id=world["a"], kind="erasure")
    blocker = get_engine().connect()
    trans = blocker.begin()  # the job gets through four steps, then waits to erase the messages
    blocker.execute(text("LOCK TABLE messages IN SHARE MODE"))
    worker = subprocess.Popen(worker_argv("bulk"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        assert _wait_for_lock_wait("UPDATE messages%"), "the worker never reached the messages step"
    finally:  # the worker and its work horse (in a process group of its own) die mid-step
        for process in psutil.Process(worker.pid).children(recursive=True):
            process.kill()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        trans.rollback()
        blocker.close()
    with session_scope() as s:
        stuck = requests.get_request(s, actor=world["dpo"], request_id=row.id)
    assert stuck.status == "in_progress" and stuck.progress["step"] == erasure.STEP_NAMES.index("messages")
    assert db_hits([PHRASE_A])  # half done, and nobody is still at it
    time.sleep(1)
    with session_scope() as s:
        assert requests.get_request(s, actor=world["dpo"], request_id=row.id).progress == stuck.progress

    assert requests.resume_stalled_requests() == 0  # not stalled yet: a live job could still be at work
    later = utcnow() + requests.STALLED_AFTER + dt.timedelta(seconds=1)
    assert requests.resume_stalled_requests(now=later) == 1
    assert requests.resume_stalled_requests(now=later) == 0  # queued once
    with session_scope() as s:
        resumed = requests.get_request(s, actor=world["dpo"], request_id=row.id)
    assert "queued again (attempt 1)" in resumed.log[-1]["event"] and resumed.progress["resumes"] == 1
    assert jobs.job_id("run_privacy_request", row.id, tag="resume-1") in get_queue("bulk").job_ids

    result = run_burst_worker("bulk")
    assert result.returncode == 0, result.stderr[-2000:]
    with session_scope() as s:
        done = requests.get_request(s, actor=world["dpo"], request_id=row.id)
    assert done.status == "done" and done.progress["step"] == len(erasure.STEPS)
    assert db_hits(words) == [] and file_hits(words) == [] and redis_hits(words) == []
    assert db_hits([NAME_B, PHRASE_B])  # the other person is untouched
    assert requests.resume_stalled_requests(now=later + requests.STALLED_AFTER * 2) == 0  # done is done


def test_a_request_that_keeps_dying_fails_after_the_last_resumption(world):
    with session_scope() as s:
        row = requests.create_request(s, actor=world["dpo"], contact_id=world["b"], kind="access")
    get_queue("bulk").empty()  # its job is lost (Redis flushed, or the worker died before it started)
    now = utcnow()
    for _ in range(requests.MAX_RESUMES):
        now += requests.STALLED_AFTER + dt.timedelta(seconds=1)
        assert requests.resume_stalled_requests(now=now) == 1
        get_queue("bulk").empty()  # and every resumption dies too
    now += requests.STALLED_AFTER + dt.timedelta(seconds=1)
    assert requests.resume_stalled_requests(now=now) == 0
    with session_scope() as s:
        failed = requests.get_request(s, actor=world["dpo"], request_id=row.id)
    assert failed.status == "failed" and "stopped" in failed.error
    assert sum("queued again" in e["event"] for e in failed.log) == requests.MAX_RESUMES
