"""`python -m crm_app` as operators run it: real processes against the test database."""

import subprocess
import sys

import pytest
from sqlalchemy import text


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_app", *args], capture_output=True, text=True,
                          input=stdin, timeout=60)


def test_create_tenant_is_idempotent_and_validates(clean_db):
    first = cli("create-tenant", "--name", "Pousada Sol", "--slug", "pousada-sol")
    assert first.returncode == 0 and "Created tenant 'pousada-sol'" in first.stdout
    again = cli("create-tenant", "--name", "Pousada Sol", "--slug", "pousada-sol")
    assert again.returncode == 0 and "Already exists" in again.stdout
    bad = cli("create-tenant", "--name", "X", "--slug", "Not A Slug")
    assert bad.returncode == 2 and "slug" in bad.stderr


def test_create_user_reads_the_password_from_stdin_and_reports_bad_input(clean_db, db):
    cli("create-tenant", "--name", "Loja", "--slug", "loja")
    made = cli("create-user", "--tenant", "loja", "--email", "Dona@Loja.com", "--name", "Dona",
               "--role", "admin", stdin="uma-senha-boa\n")
    assert made.returncode == 0 and "Created user dona@loja.com (admin)" in made.stdout
    stored = db.execute(text("SELECT password_hash FROM users WHERE email='dona@loja.com'")).scalar()
    assert stored.startswith("$2b$") and "uma-senha-boa" not in stored
    again = cli("create-user", "--tenant", "loja", "--email", "dona@loja.com", "--name", "Dona",
                "--role", "admin", stdin="uma-senha-boa\n")
    assert again.returncode == 0 and "Already exists" in again.stdout
    for args, message in [
        (("--tenant", "nope", "--email", "a@b.co"), "tenant 'nope' not found"),
        (("--tenant", "loja", "--email", "not-an-email"), "invalid e-mail"),
    ]:
        bad = cli("create-user", *args, "--name", "A", "--role", "admin", stdin="uma-senha-boa\n")
        assert bad.returncode == 2 and message in bad.stderr
    short = cli("create-user", "--tenant", "loja", "--email", "b@loja.com", "--name", "B", "--role",
                "attendant", stdin="curta\n")
    assert short.returncode == 2 and "password_too_short" in short.stderr
    wrong_role = cli("create-user", "--tenant", "loja", "--email", "c@loja.com", "--name", "C", "--role", "boss")
    assert wrong_role.returncode == 2 and "invalid choice" in wrong_role.stderr


def test_create_inbox_encrypts_and_is_idempotent(clean_db, db):
    cli("create-tenant", "--name", "Loja", "--slug", "loja")
    args = ("create-inbox", "--tenant", "loja", "--phone-number-id", "109876543210987", "--waba-id",
            "209876543210987", "--display-number", "+55 21 3000-0000", "--access-token", "tok-123",
            "--app-secret", "sec-456", "--verify-token", "ver-789", "--graph-base-url", "http://127.0.0.1:9/v23.0")
    first, again = cli(*args), cli(*args)
    assert first.returncode == 0 and "Created inbox" in first.stdout
    assert again.returncode == 0 and "Already exists" in again.stdout
    raw = db.execute(text("SELECT access_token FROM inboxes")).scalars().all()
    assert len(raw) == 1 and "tok-123" not in raw[0]


@pytest.mark.parametrize("command", ["migrate", "seed-demo"])
def test_migrate_and_seed_demo_are_idempotent(clean_db, db, command):
    for _ in range(2):
        result = cli(command)
        assert result.returncode == 0, result.stderr
    if command == "seed-demo":
        assert "already there" in result.stdout
        roles = db.execute(text("SELECT role, count(*) FROM users GROUP BY role ORDER BY role")).all()
        assert roles == [("admin", 1), ("attendant", 2), ("supervisor", 1)]
        assert db.execute(text("SELECT count(*) FROM inboxes")).scalar() == 1


def test_privacy_reapply_ledger_erases_again_whoever_the_ledger_file_names(clean_db, db):
    import shutil

    from crm_app.config import get_settings
    from crm_app.models import Contact
    from crm_app.services.compliance import erasure
    from tests.factories import make_tenant

    shutil.rmtree(get_settings().data_dir / "media" / "privacy", ignore_errors=True)  # earlier tests' ledgers
    tenant, other = make_tenant(db), make_tenant(db)
    erased = Contact(tenant_id=tenant.id, phone_e164="+5548999990001", name="Zuleide Restaurada")
    kept = Contact(tenant_id=tenant.id, phone_e164="+5548999990002", name="Cliente Ativa")
    db.add_all([erased, kept])
    db.commit()
    erasure.append_ledger_file(tenant.id, erased.id)  # erased once; a restored backup brought the row back
    first = cli("privacy-reapply-ledger", "--tenant", tenant.slug)
    assert first.returncode == 0, first.stderr
    assert f"tenant {tenant.slug!r}: 1 erased contacts erased again" in first.stdout
    db.expire_all()
    assert db.get(Contact, erased.id).name is None and db.get(Contact, erased.id).phone_e164.startswith("erased")
    assert db.get(Contact, kept.id).name == "Cliente Ativa"
    every = cli("privacy-reapply-ledger")  # every tenant; running it again changes nothing more
    assert every.returncode == 0, every.stderr
    assert f"tenant {tenant.slug!r}: 1 erased" in every.stdout and f"tenant {other.slug!r}: 0 erased" in every.stdout
    unknown = cli("privacy-reapply-ledger", "--tenant", "nope")
    assert unknown.returncode == 2 and "tenant 'nope' not found" in unknown.stderr


def _stored_files(db, tenant) -> list[str]:
    """Real files of `tenant` in the storage, each made by the code that makes it: an uploaded image, a monthly
    privacy report, a data-subject bundle and the erasure ledger."""
    import datetime as dt

    from crm_app.models import DpoReport
    from crm_app.services.channel import media
    from crm_app.services.compliance import bundle, erasure, report
    from tests.factories import make_conversation, make_inbox, make_user

    admin = make_user(db, tenant.id, "admin")
    conversation = make_conversation(db, make_inbox(db, tenant.id).id)
    db.commit()
    upload = media.store_outbound_file(actor=admin, kind="image", data=f"png of {tenant.slug}".encode(),
                                       mime="image/png", filename="quarto.png")
    report_id = report.generate(tenant.id, dt.date(2026, 1, 1))
    erasure.append_ledger_file(tenant.id, conversation.contact_id)
    return [upload["storage_key"], db.get(DpoReport, report_id).storage_key,
            bundle.build_bundle(tenant.id, conversation.contact_id, 1),
            erasure.LEDGER_KEY.format(tenant_id=tenant.id)]


def test_tenant_delete_needs_the_slug_twice_and_a_suspended_tenant_and_removes_its_files(clean_db, db):
    from crm_app.integrations.storage import get_storage
    from crm_app.models import Tenant
    from crm_app.services.audit import anchors
    from tests.factories import make_tenant

    gone, kept = make_tenant(db), make_tenant(db)
    files = {t.id: _stored_files(db, t) for t in (gone, kept)}
    storage = get_storage()
    assert all(storage.exists(key) for keys in files.values() for key in keys)
    mistyped = cli("tenant-delete", gone.slug, "--confirm", kept.slug)
    assert mistyped.returncode == 2 and f"--confirm {gone.slug}" in mistyped.stderr
    active = cli("tenant-delete", gone.slug, "--confirm", gone.slug)
    assert active.returncode == 2 and "suspend the tenant" in active.stderr
    db.get(Tenant, gone.id).is_active = False
    db.commit()
    deleted = cli("tenant-delete", gone.slug, "--confirm", gone.slug)
    assert deleted.returncode == 0, deleted.stderr
    assert f"Deleted tenant {gone.slug!r} (id {gone.id})" in deleted.stdout
    db.expire_all()
    assert db.get(Tenant, gone.id) is None and db.get(Tenant, kept.id) is not None
    assert [key for key in files[gone.id] if storage.exists(key)] == []
    assert all(storage.exists(key) for key in files[kept.id])  # another tenant's files stay
    assert anchors.read_purge_record(gone.id)["valid"]  # the proof of the deletion stays
    again = cli("tenant-delete", gone.slug, "--confirm", gone.slug)
    assert again.returncode == 2 and f"tenant {gone.slug!r} not found" in again.stderr
