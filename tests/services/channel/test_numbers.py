import pytest
from sqlalchemy import text

from crm_app import crypto
from crm_app.errors import ValidationError
from crm_app.models import Inbox
from tests.factories import make_inbox, make_tenant


def test_inbox_secrets_are_encrypted_at_rest(db):
    tenant = make_tenant(db)
    row = make_inbox(db, tenant.id)
    raw = db.execute(text("SELECT access_token, app_secret, verify_token FROM inboxes WHERE id = :id"),
                     {"id": row.id}).one()
    plaintexts = ("EAAG-plain-access-token", "plain-app-secret", "plain-verify-token")
    for stored, plain in zip(raw, plaintexts, strict=True):
        assert stored.startswith(crypto.PREFIX)
        assert plain not in stored
    inbox = db.get(Inbox, row.id)
    assert (inbox.access_token, inbox.app_secret, inbox.verify_token) == plaintexts


def test_same_secret_encrypts_differently_each_time_and_a_wrong_key_fails():
    a, b = crypto.encrypt("same"), crypto.encrypt("same")
    assert a != b and crypto.decrypt(a) == crypto.decrypt(b) == "same"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(a, key=b"\x00" * 32)


def test_inbox_rows_never_carry_secrets(db):
    row = make_inbox(db, make_tenant(db).id)
    assert not any("secret" in f or "token" in f for f in row.__dataclass_fields__)


def test_bad_inbox_input_is_refused_and_nothing_is_written(db):
    tenant = make_tenant(db)
    with pytest.raises(ValidationError):
        make_inbox(db, tenant.id, phone_number_id="not-numeric")
    with pytest.raises(ValidationError):
        make_inbox(db, tenant.id, app_secret="")
    db.rollback()
    assert db.execute(text("SELECT count(*) FROM inboxes")).scalar() == 0


def test_inbox_is_idempotent_on_phone_number_id(db):
    tenant = make_tenant(db)
    first = make_inbox(db, tenant.id, phone_number_id="123456789012345")
    second = make_inbox(db, tenant.id, phone_number_id="123456789012345")
    assert first.id == second.id
    other = make_tenant(db)
    with pytest.raises(ValidationError):
        make_inbox(db, other.id, phone_number_id="123456789012345")
