"""Verificar: the number's stored token checked against the sandbox's Graph API, over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest
from sqlalchemy import text

from crm_app.config import get_settings
from crm_app.errors import NotFound, PermissionDenied
from crm_app.services.channel import numbers
from crm_app.services.channel.numbers import NumberForm
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.sandbox import free_port, sandbox_in_thread

NOW = dt.datetime(2026, 12, 5, 12, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def meta():
    """The sandbox (fake Graph API) in a thread; a client on its control API."""
    with sandbox_in_thread() as url, httpx.Client(base_url=url, timeout=10) as client:
        client.base = url
        yield client


@pytest.fixture
def line(db, meta):
    """A tenant whose number is the sandbox's, its admin, and a freshly reset sandbox."""
    meta.delete("/sandbox/api/state").raise_for_status()
    settings = get_settings()
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    inbox = make_inbox(db, tenant.id, phone_number_id=settings.demo_wa_phone_number_id,
                       access_token=settings.demo_wa_access_token.get_secret_value(),
                       graph_base_url=f"{meta.base}/graph/v23.0")
    return admin, inbox


def _stored(db, inbox_id: int) -> dict:
    db.rollback()
    return dict(db.execute(text(
        "SELECT verified_name, quality_rating, messaging_limit, last_verified_at, last_verify_ok, "
        "last_verify_error_code, last_verify_error FROM inboxes WHERE id = :id"), {"id": inbox_id}).one()._mapping)


def test_a_valid_token_stores_the_verified_name_quality_and_tier(db, line):
    admin, inbox = line
    row = numbers.verify_number(actor=admin, inbox_id=inbox.id, now=NOW)
    assert (row.last_verify_ok, row.verified_name, row.quality_rating, row.messaging_limit) == (
        True, "Hotel Serra Azul (sandbox)", "GREEN", "TIER_250")
    assert _stored(db, inbox.id) == {
        "verified_name": "Hotel Serra Azul (sandbox)", "quality_rating": "GREEN", "messaging_limit": "TIER_250",
        "last_verified_at": NOW, "last_verify_ok": True, "last_verify_error_code": None, "last_verify_error": None}
    log = db.execute(text("SELECT after FROM audit_logs "
                          "JOIN audit_details USING (digest) WHERE action = 'inbox.verify'")).scalar_one()
    assert log == {"ok": True, "error_code": None, "quality_rating": "GREEN", "messaging_limit": "TIER_250"}


def test_quality_and_tier_follow_what_the_sandbox_is_told(db, meta, line):
    admin, inbox = line
    numbers.verify_number(actor=admin, inbox_id=inbox.id)
    meta.post("/sandbox/api/phone_number", json={"quality_rating": "YELLOW", "messaging_limit": "TIER_100K"})
    row = numbers.verify_number(actor=admin, inbox_id=inbox.id)
    assert (row.quality_rating, row.messaging_limit) == ("YELLOW", "TIER_100K")
    assert numbers.numbers_page(db, actor=admin).numbers[0].quality_rating == "YELLOW"  # no call to Meta on load


def test_a_token_changed_to_a_wrong_one_answers_190_and_is_kept_as_the_result(db, line):
    admin, inbox = line
    numbers.save_number(db, actor=admin, inbox_id=inbox.id, form=NumberForm(
        name=inbox.name, display_number=inbox.display_number, phone_number_id=inbox.phone_number_id,
        waba_id=inbox.waba_id, access_token="EAAG-a-wrong-token"))
    db.commit()
    row = numbers.verify_number(actor=admin, inbox_id=inbox.id, now=NOW)
    assert (row.last_verify_ok, row.last_verify_error_code) == (False, 190)
    assert "Invalid OAuth access token" in row.last_verify_error
    assert _stored(db, inbox.id)["last_verify_error_code"] == 190


def test_an_expired_token_keeps_the_last_known_quality_and_tier(db, meta, line):
    admin, inbox = line
    numbers.verify_number(actor=admin, inbox_id=inbox.id)
    meta.post("/sandbox/api/phone_number", json={"token_expired": True, "quality_rating": "RED"})
    row = numbers.verify_number(actor=admin, inbox_id=inbox.id)
    assert (row.last_verify_ok, row.last_verify_error_code) == (False, 190)
    assert row.last_verify_error.startswith("Error validating access token: Session has expired")
    assert (row.quality_rating, row.messaging_limit) == ("GREEN", "TIER_250")  # Meta's last word, not RED


def test_an_unreachable_graph_is_a_result_too_not_a_crash(db, line):
    admin, inbox = line
    operator = dataclasses.replace(admin, is_platform_operator=True)
    numbers.save_number(db, actor=operator, inbox_id=inbox.id, form=NumberForm(
        name=inbox.name, display_number=inbox.display_number, phone_number_id=inbox.phone_number_id,
        waba_id=inbox.waba_id, graph_base_url=f"http://127.0.0.1:{free_port()}/graph/v23.0"))
    db.commit()
    row = numbers.verify_number(actor=admin, inbox_id=inbox.id)
    assert (row.last_verify_ok, row.last_verify_error_code) == (False, None)
    assert "unreachable" in row.last_verify_error


def test_verify_is_for_the_numbers_own_admins_only(db, meta, line):
    admin, inbox = line
    before = _stored(db, inbox.id)
    for actor in (make_user(db, admin.tenant_id, "supervisor"), make_user(db, admin.tenant_id, "attendant")):
        with pytest.raises(PermissionDenied):
            numbers.verify_number(actor=actor, inbox_id=inbox.id)
    with pytest.raises(NotFound):
        numbers.verify_number(actor=make_user(db, make_tenant(db).id, "admin"), inbox_id=inbox.id)
    assert _stored(db, inbox.id) == before
    assert meta.get("/sandbox/api/phone_number").status_code == 200
    assert db.execute(text("SELECT count(*) FROM audit_logs WHERE action = 'inbox.verify'")).scalar() == 0
