"""Tenant session timeouts, the 2FA policy, and revoking sessions (one, all, on password change)."""

import datetime as dt
import json

import pytest
import reflex as rx
from sqlmodel import select

from crm_app.errors import NotFound, PermissionDenied
from crm_app.models import AuditLog, UserSession
from crm_app.services import settings
from crm_app.services.access import account, logins, mfa, sessions
from crm_app.state.account import AccountState
from crm_app.state.session import SessionState
from crm_app.state.settings_security import SecuritySettingsState
from tests.factories import BROWSER, PASSWORD, make_tenant, make_user

NEW_PASSWORD = "a quiet river at dawn 7"
IDLE = "security.session_idle_minutes"


@pytest.fixture(autouse=True)
def _fresh_throttle(redis_client):
    keys = list(redis_client.scan_iter("crm:throttle:*"))
    if keys:
        redis_client.delete(*keys)


def _login(db, actor):
    token, _ = logins.authenticate(db, email=actor.email, password=PASSWORD, ip="203.0.113.5",
                                 user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36")
    db.commit()
    return token


def _age(db, token, *, idle=None, since_login=None):
    row = db.exec(select(UserSession).where(UserSession.token_hash == sessions.hash_token(token))).one()
    if idle is not None:
        row.last_seen_at = row.last_seen_at - idle
    if since_login is not None:
        row.created_at = row.created_at - since_login
    db.add(row)
    db.commit()


def test_defaults_are_30_minutes_idle_and_12_hours_absolute(db):
    tenant = make_tenant(db)
    assert sessions.session_timeouts(db, tenant.id) == (dt.timedelta(minutes=30), dt.timedelta(hours=12))
    token = _login(db, make_user(db, tenant.id))
    row = db.exec(select(UserSession)).one()
    assert dt.timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=12)
    _age(db, token, idle=dt.timedelta(minutes=29))
    assert sessions.resolve_session(db, token=token) is not None
    _age(db, token, idle=dt.timedelta(minutes=31))
    assert sessions.resolve_session(db, token=token) is None


def test_timeouts_come_from_the_tenant_and_apply_to_open_sessions(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    token = _login(db, admin)
    sessions.update_security_policy(db, actor=admin, require_2fa_roles=[], idle_minutes=10, absolute_hours=2)
    db.commit()
    _age(db, token, idle=dt.timedelta(minutes=11))
    assert sessions.resolve_session(db, token=token) is None  # 11 min idle > the tenant's 10
    fresh = _login(db, admin)
    _age(db, fresh, since_login=dt.timedelta(hours=2, seconds=1))
    assert sessions.resolve_session(db, token=fresh) is None and sessions.peek_actor(fresh) is None
    longer = make_tenant(db)
    other_admin = make_user(db, longer.id)
    sessions.update_security_policy(db, actor=other_admin, require_2fa_roles=[], idle_minutes=120, absolute_hours=24)
    db.commit()
    long_token = _login(db, other_admin)
    _age(db, long_token, idle=dt.timedelta(minutes=90), since_login=dt.timedelta(hours=13))
    assert sessions.resolve_session(db, token=long_token).user_id == other_admin.user_id


def test_only_admins_change_the_policy_within_limits_and_it_is_audited(db):
    tenant = make_tenant(db)
    admin, supervisor = make_user(db, tenant.id), make_user(db, tenant.id, "supervisor")
    with pytest.raises(PermissionDenied):
        sessions.update_security_policy(db, actor=supervisor, require_2fa_roles=[], idle_minutes=30, absolute_hours=12)
    for idle, absolute, roles in ((2, 12, []), (30, 500, []), (30, 12, ["root"]), (600, 8, [])):
        with pytest.raises(sessions.PolicyInvalid):
            sessions.update_security_policy(db, actor=admin, require_2fa_roles=roles, idle_minutes=idle,
                                        absolute_hours=absolute)
    policy = sessions.update_security_policy(db, actor=admin, require_2fa_roles=["supervisor", "admin"],
                                         idle_minutes=15, absolute_hours=8)
    db.commit()
    assert (policy.require_2fa_roles, policy.idle_minutes, policy.absolute_hours) == (["admin", "supervisor"], 15, 8)
    row = db.exec(select(AuditLog).where(AuditLog.action == "security.policy_change")).one()
    assert row.before["idle_minutes"] == 30 and row.after["require_2fa_roles"] == ["admin", "supervisor"]


def test_the_policy_is_kept_in_the_settings_registry_and_a_value_left_alone_keeps_inheriting(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    settings.update(db, actor=None, tenant_id=None, changes={IDLE: 45})  # the install's value
    db.commit()
    policy = sessions.get_security_policy(db, actor=admin)
    assert (policy.idle_minutes, policy.default_idle_minutes, policy.absolute_hours) == (45, 45, 12)
    sessions.update_security_policy(db, actor=admin, require_2fa_roles=["admin"], idle_minutes=45, absolute_hours=8)
    db.commit()
    assert settings.source(db, IDLE, tenant_id=tenant.id) == "global"  # unchanged: still the install's
    changed = [(c.key, c.old_display, c.new_display, c.actor_user_id)
               for c in settings.history(db, actor=admin, tenant_id=tenant.id)]
    assert sorted(changed) == [("security.require_2fa_roles", None, '["admin"]', admin.user_id),
                               ("security.session_absolute_hours", None, "8", admin.user_id)]
    settings.update(db, actor=None, tenant_id=None, changes={IDLE: 20})
    db.commit()
    assert sessions.session_timeouts(None, tenant.id) == (dt.timedelta(minutes=20), dt.timedelta(hours=8))


def test_a_required_role_without_2fa_is_sent_to_enrol_and_is_nobody_elsewhere(db, monkeypatch):
    tenant = make_tenant(db)
    admin, attendant = make_user(db, tenant.id), make_user(db, tenant.id, "attendant")
    sessions.update_security_policy(db, actor=admin, require_2fa_roles=["attendant"], idle_minutes=30,
                                    absolute_hours=12)
    db.commit()
    token, admin_token = _login(db, attendant), _login(db, admin)
    access = sessions.resolve_actor_access(token)
    assert access.must_enrol_2fa and sessions.resolve_actor(token) is None  # fail closed for routes and handlers
    assert not sessions.resolve_actor_access(admin_token).must_enrol_2fa

    tokens = {"value": token}
    monkeypatch.setattr(SessionState, "_session_token", lambda self: tokens["value"])
    root = rx.State(_reflex_internal_init=True)
    inbox_like = root.get_substate(SecuritySettingsState.get_full_name().split(".")[1:])
    account_state = root.get_substate(AccountState.get_full_name().split(".")[1:])
    redirect = SessionState.check_page_access.fn(inbox_like, "/inbox")
    assert "/account" in str(redirect)
    assert SessionState.check_page_access.fn(inbox_like, "/account") is None
    assert inbox_like._actor() is None  # every other page's handlers see nobody
    assert account_state._actor().user_id == attendant.user_id  # /account serves them, to enrol
    AccountState.load.fn(account_state)
    assert account_state.mfa_required and not account_state.mfa_enabled

    enrolment = mfa.start_enrolment(db, actor=attendant)
    db.commit()
    mfa.confirm_enrolment(db, actor=attendant, code=mfa.code_at(enrolment.secret, mfa.current_step()))
    db.commit()
    assert not sessions.resolve_actor_access(token).must_enrol_2fa
    assert SessionState.check_page_access.fn(inbox_like, "/inbox") is None
    with pytest.raises(mfa.MfaRefused):  # the policy also keeps them from turning it off
        mfa.disable(db, actor=attendant, password=PASSWORD)


def test_the_2fa_policy_binds_password_logins_not_single_sign_on(db):
    """An SSO login had its second factor at the company's identity provider."""
    tenant = make_tenant(db)
    admin, attendant = make_user(db, tenant.id), make_user(db, tenant.id, "attendant")
    sessions.update_security_policy(db, actor=admin, require_2fa_roles=["attendant"], idle_minutes=30,
                                    absolute_hours=12)
    db.commit()
    from crm_app.models import User

    user = db.get(User, attendant.user_id)
    sso_token = sessions.open_session(db, user=user, auth_method="sso")
    db.commit()
    password_token = _login(db, attendant)
    assert not sessions.resolve_actor_access(sso_token).must_enrol_2fa
    assert sessions.resolve_actor(sso_token).user_id == attendant.user_id
    assert sessions.resolve_actor_access(password_token).must_enrol_2fa


def test_logout_everywhere_and_revoking_one_session(db):
    tenant = make_tenant(db)
    user, stranger = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    first, second, third = _login(db, user), _login(db, user), _login(db, user)
    rows = sessions.list_sessions(db, actor=user, current_token=first)
    assert len(rows) == 3 and [r.current for r in rows].count(True) == 1
    assert rows[0].user_agent and rows[0].ip == "203.0.113.5"
    other_id = next(r.id for r in rows if not r.current)
    with pytest.raises(NotFound):  # someone else's session
        sessions.revoke_session(db, actor=stranger, session_id=other_id)
    sessions.revoke_session(db, actor=user, session_id=other_id)
    db.commit()
    assert len(sessions.list_sessions(db, actor=user)) == 2
    assert account.logout_everywhere(db, actor=user) == 2
    db.commit()
    assert all(sessions.resolve_session(db, token=t) is None for t in (first, second, third))
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_type.in_(["user", "session"]))).all()
    assert "auth.session_revoked" in actions and "auth.sessions_revoked" in actions


def test_changing_the_password_keeps_this_session_and_ends_the_others(db):
    tenant = make_tenant(db)
    user = make_user(db, tenant.id, "supervisor")
    here, elsewhere = _login(db, user), _login(db, user)
    with pytest.raises(account.WrongPassword):
        account.change_password(db, actor=user, current="nope", new=NEW_PASSWORD, current_token=here)
    with pytest.raises(account.PasswordRefused) as refused:
        account.change_password(db, actor=user, current=PASSWORD, new="password123", current_token=here)
    assert refused.value.problems == ["password.common"]
    assert account.change_password(db, actor=user, current=PASSWORD, new=NEW_PASSWORD, current_token=here) == 1
    db.commit()
    assert sessions.resolve_session(db, token=here) is not None
    assert sessions.resolve_session(db, token=elsewhere) is None
    token, _ = logins.authenticate(db, email=user.email, password=NEW_PASSWORD)
    assert token
    revoked = db.exec(select(AuditLog).where(AuditLog.action == "auth.sessions_revoked")).one()
    assert revoked.after == {"count": 1, "reason": "password_changed", "kept_current": True}
    assert "auth.password_changed" in db.exec(select(AuditLog.action)).all()


def test_revoke_user_sessions_keeps_the_contract_signature(db):
    tenant = make_tenant(db)
    admin, user = make_user(db, tenant.id), make_user(db, tenant.id, "attendant")
    keep, drop = _login(db, user), _login(db, user)
    assert sessions.revoke_user_sessions(db, user_id=user.user_id, actor=admin, reason="admin", except_token=keep) == 1
    db.commit()
    assert sessions.resolve_session(db, token=keep) and sessions.resolve_session(db, token=drop) is None
    row = db.exec(select(AuditLog).where(AuditLog.action == "auth.sessions_revoked")).one()
    assert row.actor_user_id == admin.user_id and row.after["reason"] == "admin"


async def test_a_new_login_in_the_same_browser_revokes_its_previous_session(db):
    """The exchange route that sets the new cookie ends the session of the cookie the browser sent."""
    import httpx

    from crm_app.api.routes import create_api

    user = make_user(db, make_tenant(db).id, "attendant")
    old = sessions.redeem_login_ticket(logins.login(user.email, PASSWORD, browser=BROWSER)[0], browser=BROWSER)
    ticket, _ = logins.login(user.email, PASSWORD, browser=BROWSER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()),
                                 base_url="http://127.0.0.1") as client:
        response = await client.post("/api/auth/exchange", json={"ticket": ticket, "next": "/inbox"}, headers={
            "cookie": f"{sessions.COOKIE_NAME}={old}; {sessions.PRELOGIN_COOKIE}={BROWSER}"})
    assert response.status_code == 200
    new = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert new != old and sessions.resolve_actor(new).user_id == user.user_id
    assert sessions.resolve_actor(old) is None


def test_every_revocation_is_announced_to_the_web_processes_after_commit(db, redis_client):
    """Logout, one session, all of a user's: the session ids go out on the revocation channel, only on commit."""
    from crm_app.services.core import realtime

    admin = make_user(db, make_tenant(db).id)
    tokens = [_login(db, admin) for _ in range(4)]
    ids = [sessions.peek_session(t)[0] for t in tokens]
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(realtime.revocations_channel())
    pubsub.get_message(timeout=1)  # the subscription's confirmation

    def announced() -> list[int] | None:
        message = pubsub.get_message(timeout=2)
        return json.loads(message["data"])["session_ids"] if message else None

    assert sessions.logout(db, token=tokens[0])
    db.rollback()  # rolled back: nothing announced, nothing revoked
    assert pubsub.get_message(timeout=0.2) is None
    assert sessions.logout(db, token=tokens[0])
    assert pubsub.get_message(timeout=0.2) is None  # not before the commit
    db.commit()
    assert announced() == [ids[0]]
    sessions.revoke_session(db, actor=admin, session_id=ids[1])
    db.commit()
    assert announced() == [ids[1]]
    assert sessions.revoke_user_sessions(db, user_id=admin.user_id, except_token=tokens[3]) == 1
    db.commit()
    assert announced() == [ids[2]]
    pubsub.close()


def test_a_warm_timeout_read_costs_no_query(db):
    """Every session check reads the timeouts: through the settings cache, not PostgreSQL."""
    from sqlalchemy import event

    from crm_app.db import get_engine

    tenant = make_tenant(db)
    settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 20})
    db.commit()
    assert sessions.session_timeouts(None, tenant.id)[0] == dt.timedelta(minutes=20)  # warms the cache
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        for _ in range(50):
            assert sessions.session_timeouts(None, tenant.id)[0] == dt.timedelta(minutes=20)
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    assert statements == []
