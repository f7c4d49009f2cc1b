"""API tokens: hashed at rest, admin-only management, and every reason a token stops working."""

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import ApiToken, AuditLog, Tenant, User
from crm_app.services.access import api_tokens, scopes, users
from tests.factories import make_tenant, make_user


def _create(db, actor, **kw):
    values = dict(name="Integração ERP", scopes=["conversations:read"])
    values.update(kw)
    row, secret = api_tokens.create(db, actor=actor, **values)
    db.commit()
    return row, secret


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(db):
    admin = make_user(db, make_tenant(db).id, "admin")
    row, secret = _create(db, admin, scopes=["messages:write", "conversations:read", "messages:write"])
    assert secret.startswith("crm_") and len(secret) >= 40
    stored = db.exec(select(ApiToken)).one()
    assert stored.token_hash == api_tokens.hash_secret(secret) and secret not in stored.token_hash
    assert row.prefix == secret[:12] == stored.prefix
    assert row.scopes == ["conversations:read", "messages:write"] and row.user_id == admin.user_id
    assert api_tokens.resolve(db, secret) == admin
    audit = db.exec(select(AuditLog).where(AuditLog.action == "api_token.create")).one()
    assert audit.after["prefix"] == row.prefix and secret not in str(audit.after)


def test_only_admins_manage_tokens_and_only_for_their_own_tenant(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    supervisor = make_user(db, tenant.id, "supervisor")
    other_user = make_user(db, make_tenant(db).id, "attendant")
    with pytest.raises(PermissionDenied):
        api_tokens.create(db, actor=supervisor, name="x", scopes=["users:read"])
    with pytest.raises(PermissionDenied):
        api_tokens.list_tokens(db, actor=supervisor)
    with pytest.raises(NotFound):
        api_tokens.create(db, actor=admin, name="x", scopes=["users:read"], user_id=other_user.user_id)
    row, _ = _create(db, admin)
    other_admin = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(NotFound):
        api_tokens.revoke(db, actor=other_admin, token_id=row.id)
    assert api_tokens.list_tokens(db, actor=other_admin) == []
    with pytest.raises(PermissionDenied):
        api_tokens.revoke(db, actor=supervisor, token_id=row.id)


def test_name_and_scopes_are_validated(db):
    admin = make_user(db, make_tenant(db).id, "admin")
    for kw in (dict(name=" ", scopes=["users:read"]), dict(name="x", scopes=[]),
               dict(name="x", scopes=["admin:all"]), dict(name="x" * 81, scopes=["users:read"]),
               dict(name="x", scopes=["users:read"], expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(1))):
        with pytest.raises(ValidationError):
            api_tokens.create(db, actor=admin, **kw)


def test_a_token_acts_as_its_user(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    attendant = make_user(db, tenant.id, "attendant")
    row, secret = _create(db, admin, user_id=attendant.user_id, scopes=["conversations:read", "users:read"])
    found = api_tokens.authenticate_token(db, secret, ip="10.0.0.9")
    assert found.actor.user_id == attendant.user_id and found.actor.role == "attendant"
    assert found.actor.ip == "10.0.0.9" and found.scopes == {"conversations:read", "users:read"}
    assert [t.user_name for t in api_tokens.list_tokens(db, actor=admin)] == [attendant.name]


def test_revoked_expired_inactive_and_suspended_tokens_resolve_to_nobody(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    attendant = make_user(db, tenant.id, "attendant")
    revoked, revoked_secret = _create(db, admin)
    api_tokens.revoke(db, actor=admin, token_id=revoked.id)
    api_tokens.revoke(db, actor=admin, token_id=revoked.id)
    db.commit()
    assert api_tokens.resolve(db, revoked_secret) is None
    assert len(db.exec(select(AuditLog).where(AuditLog.action == "api_token.revoke")).all()) == 1
    expiring, expiring_secret = _create(db, admin, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    db.get(ApiToken, expiring.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    assert api_tokens.resolve(db, expiring_secret) is None
    _, user_secret = _create(db, admin, user_id=attendant.user_id)
    users.set_active(db, actor=admin, user_id=attendant.user_id, active=False)
    db.commit()
    assert api_tokens.resolve(db, user_secret) is None
    _, tenant_secret = _create(db, admin)
    assert api_tokens.resolve(db, tenant_secret) == admin
    db.get(Tenant, tenant.id).is_active = False
    db.commit()
    assert api_tokens.resolve(db, tenant_secret) is None
    for junk in (None, "", "crm_", "nope", "crm_" + "a" * 200, tenant_secret + "x"):
        assert api_tokens.resolve(db, junk) is None


def test_last_used_is_written_at_most_once_a_minute(db):
    admin = make_user(db, make_tenant(db).id, "admin")
    row, secret = _create(db, admin)
    assert row.last_used_at is None
    api_tokens.resolve(db, secret)
    db.commit()
    first = db.get(ApiToken, row.id).last_used_at
    assert first is not None
    api_tokens.resolve(db, secret)
    db.commit()
    assert db.get(ApiToken, row.id).last_used_at == first
    db.get(ApiToken, row.id).last_used_at = first - dt.timedelta(minutes=2)
    db.commit()
    api_tokens.resolve(db, secret)
    db.commit()
    assert db.get(ApiToken, row.id).last_used_at > first


def test_deleting_the_user_takes_the_token_along(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    attendant = make_user(db, tenant.id, "attendant")
    _create(db, admin, user_id=attendant.user_id)
    db.delete(db.get(User, attendant.user_id))
    db.commit()
    assert db.exec(select(ApiToken)).all() == []


def test_the_request_slot_counts_per_token_and_window(redis_client, monkeypatch):
    for key in redis_client.scan_iter("crm:api-rl:*"):
        redis_client.delete(key)
    now = [1_700_000_095.5]
    monkeypatch.setattr(api_tokens, "_clock", lambda: now[0])
    assert [api_tokens.take_request_slot(990001, limit=2) for _ in range(2)] == [0, 0]
    assert api_tokens.take_request_slot(990001, limit=2) == 5
    assert api_tokens.take_request_slot(990002, limit=2) == 0
    now[0] += 5
    assert api_tokens.take_request_slot(990001, limit=2) == 0


def test_a_token_stops_when_the_admin_who_made_it_is_deactivated(db):
    tenant = make_tenant(db)
    leaving, staying = make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "admin")
    _, secret = _create(db, leaving, user_id=staying.user_id)  # acts as a colleague
    assert api_tokens.resolve(db, secret) == staying
    users.set_active(db, actor=staying, user_id=leaving.user_id, active=False)
    db.commit()
    assert api_tokens.resolve(db, secret) is None


def test_scopes_follow_one_rule_and_keep_the_first_seven():
    import re

    from crm_app.i18n import CATALOGUES

    assert api_tokens.SCOPES == scopes.SCOPES
    assert all(re.fullmatch(r"[a-z_]+:(read|write)", name) for name in scopes.SCOPES)
    assert {"conversations:read", "conversations:write", "messages:read", "messages:write", "contacts:read",
            "contacts:write", "users:read"} <= set(scopes.SCOPES)
    for catalogue in CATALOGUES.values():
        assert all(f"tokens.scope.{name}" in catalogue for name in scopes.SCOPES)


def test_a_scope_outside_the_registry_is_refused_at_once():
    assert scopes.scope("messages", write=True) == "messages:write"
    with pytest.raises(ValueError, match="users:write"):
        scopes.scope("users", write=True)
    with pytest.raises(ValueError):
        scopes.scope("invoices")
