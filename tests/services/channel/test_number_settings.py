"""Admins add and edit WhatsApp numbers: validation per field, write-only secrets, roles and tenants, audit."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from crm_app import crypto
from crm_app.config import get_settings
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, Inbox
from crm_app.models.inboxes import DEFAULT_GRAPH_BASE_URL
from crm_app.services.channel import numbers
from crm_app.services.channel.numbers import NumberForm
from tests.factories import make_inbox, make_tenant, make_user

SECRETS = {"access_token": "EAAG-first-token", "app_secret": "first-app-secret", "verify_token": "first-verify-9876"}


def _form(**overrides) -> NumberForm:
    values = dict(name="Reservas", display_number="+55 11 4000-0777", phone_number_id="100000000000777",
                  waba_id="200000000000777", **SECRETS)
    values.update(overrides)
    return NumberForm(**values)


@pytest.fixture
def admin(db):
    return make_user(db, make_tenant(db).id, "admin")


def _create(db, admin, **overrides):
    row = numbers.save_number(db, actor=admin, inbox_id=None, form=_form(**overrides))
    db.commit()
    return row


def _raw(db, inbox_id: int) -> dict:
    db.rollback()
    return dict(db.execute(text("SELECT * FROM inboxes WHERE id = :id"), {"id": inbox_id}).one()._mapping)


def _refused(db, admin, inbox_id, form) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        numbers.save_number(db, actor=admin, inbox_id=inbox_id, form=form)
    db.rollback()
    return caught.value


def test_an_admin_adds_a_number_with_secrets_encrypted_and_an_audit_row_without_them(db, admin):
    row = _create(db, admin, access_token="  EAAG-first-token\n")
    assert (row.name, row.display_number, row.phone_number_id, row.waba_id, row.is_active) == (
        "Reservas", "+55 11 4000-0777", "100000000000777", "200000000000777", True)
    assert row.graph_base_url == DEFAULT_GRAPH_BASE_URL and row.quality_rating is None
    raw = _raw(db, row.id)
    for field, plain in SECRETS.items():
        assert raw[field].startswith(crypto.PREFIX) and plain not in raw[field]
    inbox = db.get(Inbox, row.id)
    assert (inbox.access_token, inbox.app_secret, inbox.verify_token) == tuple(SECRETS.values())
    [log] = db.exec(text("SELECT action, before, after FROM audit_logs "
                          "JOIN audit_details USING (digest) WHERE target_type = 'inbox'")).all()
    assert log.action == "inbox.create" and not log.before
    assert log.after["secrets_changed"] == ["access_token", "app_secret", "verify_token"]
    assert not any(secret in str(log.after) for secret in SECRETS.values())


def test_a_number_row_carries_no_secret_only_the_verify_tokens_last_characters(db, admin):
    row = _create(db, admin)
    assert row.verify_token_hint == "••••••9876"
    values = " ".join(str(v) for v in dataclasses.asdict(row).values())
    assert not any(secret in values for secret in SECRETS.values())
    page = numbers.numbers_page(db, actor=admin)
    assert [n.id for n in page.numbers] == [row.id]
    assert page.webhook_url == get_settings().app_url.rstrip("/") + "/api/whatsapp/webhook"


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"display_number": ""}, "display_number", "required"),
    ({"display_number": "+55 11"}, "display_number", "invalid"),
    ({"display_number": "call me maybe 1234567"}, "display_number", "invalid"),
    ({"name": "x" * 121}, "name", "invalid"),
    ({"phone_number_id": ""}, "phone_number_id", "required"),
    ({"phone_number_id": "10000000000077a"}, "phone_number_id", "invalid"),
    ({"waba_id": "12 34 56"}, "waba_id", "invalid"),
    ({"waba_id": ""}, "waba_id", "required"),
    ({"access_token": ""}, "access_token", "required"),
    ({"access_token": "EAAG with spaces"}, "access_token", "invalid"),
    ({"app_secret": "x" * 1025}, "app_secret", "invalid"),
    ({"verify_token": ""}, "verify_token", "required"),
])
def test_bad_input_names_its_field_and_writes_nothing(db, admin, overrides, field, reason):
    error = _refused(db, admin, None, _form(**overrides))
    assert (error.params["field"], error.params["reason"]) == (field, reason)
    assert db.execute(text("SELECT count(*) FROM inboxes")).scalar() == 0
    assert db.execute(text("SELECT count(*) FROM audit_logs WHERE action LIKE 'inbox.%'")).scalar() == 0


def test_a_phone_number_id_connected_anywhere_gets_one_answer_that_names_no_tenant(db, admin):
    other_tenant = make_tenant(db, slug="pousada-secreta")
    make_inbox(db, other_tenant.id, phone_number_id="100000000000888", name="Pousada Secreta")
    mine = _create(db, admin, phone_number_id="100000000000999")
    theirs = _refused(db, admin, None, _form(phone_number_id="100000000000888"))
    ours = _refused(db, admin, None, _form(phone_number_id="100000000000999"))
    moved = _refused(db, admin, mine.id, _form(phone_number_id="100000000000888", access_token=""))
    assert {(e.params["field"], e.params["reason"], e.message) for e in (theirs, ours, moved)} == {
        ("phone_number_id", "taken", numbers.TAKEN)}
    assert "pousada" not in numbers.TAKEN.lower() and "tenant" not in numbers.TAKEN.lower()
    assert _raw(db, mine.id)["phone_number_id"] == "100000000000999"


def test_an_edit_keeps_secrets_left_empty_and_replaces_the_ones_given(db, admin):
    row = _create(db, admin)
    before = _raw(db, row.id)
    edited = numbers.save_number(db, actor=admin, inbox_id=row.id, form=_form(
        name="Reservas e grupos", access_token="", app_secret="second-app-secret", verify_token="",
        is_active=False))
    db.commit()
    assert (edited.name, edited.is_active) == ("Reservas e grupos", False)
    inbox = db.get(Inbox, row.id)
    db.refresh(inbox)
    assert (inbox.access_token, inbox.app_secret, inbox.verify_token) == (
        "EAAG-first-token", "second-app-secret", "first-verify-9876")
    after = _raw(db, row.id)
    assert after["access_token"] == before["access_token"] and after["app_secret"] != before["app_secret"]
    log = db.exec(text("SELECT before, after FROM audit_logs "
                          "JOIN audit_details USING (digest) WHERE action = 'inbox.update'")).one()
    assert log.after["secrets_changed"] == ["app_secret"] and log.before["name"] == "Reservas"
    assert log.after["is_active"] is False and "second-app-secret" not in str(log.after)


def test_a_new_token_or_phone_number_id_forgets_the_last_verification(db, admin):
    row = _create(db, admin)
    db.execute(text("UPDATE inboxes SET quality_rating = 'GREEN', last_verify_ok = true, "
                    "last_verified_at = now() WHERE id = :id"), {"id": row.id})
    db.commit()
    renamed = numbers.save_number(db, actor=admin, inbox_id=row.id, form=_form(name="Só o nome", access_token=""))
    assert renamed.quality_rating == "GREEN" and renamed.last_verify_ok is True
    new_token = numbers.save_number(db, actor=admin, inbox_id=row.id, form=_form(access_token="EAAG-second"))
    assert new_token.quality_rating is None and new_token.last_verify_ok is None


def test_only_admins_of_the_tenant_add_edit_or_list_numbers(db, admin):
    row = _create(db, admin)
    before = _raw(db, row.id)
    for role in ("supervisor", "attendant"):
        user = make_user(db, admin.tenant_id, role)
        for attempt in (lambda u=user: numbers.save_number(db, actor=u, inbox_id=row.id, form=_form(name="x")),
                        lambda u=user: numbers.save_number(db, actor=u, inbox_id=None,
                                                           form=_form(phone_number_id="100000000000555")),
                        lambda u=user: numbers.numbers_page(db, actor=u)):
            with pytest.raises(PermissionDenied):
                attempt()
            db.rollback()
    stranger = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(NotFound):
        numbers.save_number(db, actor=stranger, inbox_id=row.id, form=_form(name="pwned", access_token=""))
    db.rollback()
    assert numbers.numbers_page(db, actor=stranger).numbers == []
    assert _raw(db, row.id) == before


def test_only_a_platform_operator_points_a_number_at_another_graph_address(db, admin):
    sandbox = "http://127.0.0.1:8765/graph/v23.0"
    error = _refused(db, admin, None, _form(graph_base_url=sandbox))
    assert (error.params["field"], error.params["reason"]) == ("graph_base_url", "operator_only")
    operator = dataclasses.replace(admin, is_platform_operator=True)
    assert _refused(db, operator, None, _form(graph_base_url="ftp://x")).params["field"] == "graph_base_url"
    row = numbers.save_number(db, actor=operator, inbox_id=None, form=_form(graph_base_url=sandbox + "/"))
    db.commit()
    assert row.graph_base_url == sandbox
    # An admin's later edit keeps the address the operator chose.
    kept = numbers.save_number(db, actor=admin, inbox_id=row.id, form=_form(name="Outro", access_token=""))
    assert kept.graph_base_url == sandbox


def test_the_audit_trail_has_one_row_per_change_in_the_same_transaction(db, admin):
    row = _create(db, admin)
    with pytest.raises(ValidationError):
        numbers.save_number(db, actor=admin, inbox_id=row.id, form=_form(waba_id="nope", access_token=""))
    db.rollback()
    actions = db.exec(text("SELECT action FROM audit_logs WHERE target_type = 'inbox' ORDER BY id")).all()
    assert [a.action for a in actions] == ["inbox.create"]
    assert db.get(AuditLog, db.exec(text("SELECT max(id) FROM audit_logs")).one()[0]).action == "inbox.create"


def test_two_admins_racing_for_one_phone_number_id_one_wins_and_the_other_is_told_it_is_taken(db, admin):
    """The second INSERT waits on the unique index for the first transaction, then gets the same answer."""
    import threading

    from sqlmodel import Session

    from crm_app.db import get_engine

    other_admin = make_user(db, make_tenant(db).id, "admin")
    first, second = Session(get_engine()), Session(get_engine())
    outcome: dict[str, object] = {}

    def race() -> None:
        try:
            numbers.save_number(second, actor=other_admin, inbox_id=None, form=_form())
            second.commit()
            outcome["second"] = "saved"
        except ValidationError as exc:
            second.rollback()
            outcome["second"] = (exc.params["field"], exc.params["reason"])

    try:
        numbers.save_number(first, actor=admin, inbox_id=None, form=_form())  # flushed, not committed yet
        thread = threading.Thread(target=race)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive(), "the second save should wait for the first transaction"
        first.commit()
        thread.join(timeout=10)
        assert outcome["second"] == ("phone_number_id", "taken")
    finally:
        first.close()
        second.close()
    db.rollback()
    assert db.execute(text("SELECT tenant_id FROM inboxes")).scalars().all() == [admin.tenant_id]
