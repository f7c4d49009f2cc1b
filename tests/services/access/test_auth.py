import datetime as dt

import pytest
from sqlmodel import select

from crm_app.errors import InvalidCredentials
from crm_app.models import AuditLog, User, UserSession
from crm_app.services.access import logins, sessions, users
from tests.factories import BROWSER, PASSWORD, make_tenant, make_user


@pytest.fixture(autouse=True)
def _no_throttle(redis_client):
    """Failures of earlier tests must not lock these accounts."""
    keys = list(redis_client.scan_iter("crm:throttle:*"))
    if keys:
        redis_client.delete(*keys)


def _login(db, email, password=PASSWORD):
    token, actor = logins.authenticate(db, email=email, password=password, ip="203.0.113.7")
    db.commit()
    return token, actor


def test_login_success_opens_a_session_storing_only_the_token_hash(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    token, actor = _login(db, admin.email.upper())  # e-mail is case-insensitive
    assert actor.user_id == admin.user_id and actor.tenant_id == tenant.id
    row = db.exec(select(UserSession).where(UserSession.user_id == admin.user_id)).one()
    assert row.token_hash == sessions.hash_token(token) and token not in row.token_hash
    assert sessions.resolve_session(db, token=token).user_id == admin.user_id
    assert db.get(User, admin.user_id).last_login_at is not None


def test_wrong_password_and_unknown_email_fail_alike_and_are_audited(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    with pytest.raises(InvalidCredentials) as wrong:
        _login(db, admin.email, "not-the-password")
    with pytest.raises(InvalidCredentials) as unknown:
        _login(db, "nobody@example.com")
    assert wrong.value.message == unknown.value.message
    assert db.exec(select(UserSession)).all() == []
    db.commit()
    actions = db.exec(select(AuditLog.action).where(AuditLog.target_id == str(admin.user_id))).all()
    assert "auth.login_failed" in actions


def test_inactive_user_cannot_log_in(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    other = make_user(db, tenant.id, "attendant")
    users.set_active(db, actor=admin, user_id=other.user_id, active=False)
    db.commit()
    with pytest.raises(InvalidCredentials):
        _login(db, other.email)


def test_idle_session_expires(db):
    tenant = make_tenant(db)
    token, _ = _login(db, make_user(db, tenant.id).email)
    row = db.exec(select(UserSession)).one()
    row.last_seen_at = row.last_seen_at - dt.timedelta(minutes=121)
    db.add(row)
    db.commit()
    assert sessions.resolve_session(db, token=token) is None


def test_absolute_expiry_ends_even_an_active_session(db):
    tenant = make_tenant(db)
    token, _ = _login(db, make_user(db, tenant.id).email)
    row = db.exec(select(UserSession)).one()
    row.expires_at = row.created_at - dt.timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert sessions.resolve_session(db, token=token) is None


def test_logout_kills_the_session_on_the_server(db):
    tenant = make_tenant(db)
    token, _ = _login(db, make_user(db, tenant.id).email)
    assert sessions.logout(db, token=token) is True
    db.commit()
    assert sessions.resolve_session(db, token=token) is None
    assert sessions.logout(db, token=token) is False  # idempotent
    assert db.exec(select(UserSession)).one().revoked_at is not None


def test_deactivating_a_user_revokes_their_sessions(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id)
    other = make_user(db, tenant.id, "attendant")
    token, _ = _login(db, other.email)
    users.set_active(db, actor=admin, user_id=other.user_id, active=False)
    db.commit()
    assert sessions.resolve_session(db, token=token) is None


def test_forged_or_empty_tokens_resolve_to_nobody(db):
    assert sessions.resolve_session(db, token=None) is None
    assert sessions.resolve_session(db, token="forged-token") is None


def test_login_ticket_is_one_time_and_short_lived(clean_db, redis_client):
    ticket = sessions.issue_login_ticket("session-token-123", browser=BROWSER)
    ttl = redis_client.ttl(sessions.TICKET_PREFIX + sessions.hash_token(ticket))
    assert 0 < ttl <= 30
    assert sessions.redeem_login_ticket(ticket, browser=BROWSER) == "session-token-123"
    assert sessions.redeem_login_ticket(ticket, browser=BROWSER) is None
    assert sessions.redeem_login_ticket("x" * 500, browser=BROWSER) is None


def test_a_login_ticket_only_redeems_in_the_browser_it_was_issued_to(clean_db):
    """Bound to the pre-login cookie: another browser (or none) gets nothing, and the ticket is used up."""
    for other in ("another-browser-with-its-own-prelogin-cookie", None, BROWSER[:20]):
        ticket = sessions.issue_login_ticket("session-token-123", browser=BROWSER)
        assert sessions.redeem_login_ticket(ticket, browser=other) is None
        assert sessions.redeem_login_ticket(ticket, browser=BROWSER) is None
    with pytest.raises(ValueError):  # an unbound ticket is what login CSRF needs: never issued
        sessions.issue_login_ticket("session-token-123", browser="")


def test_login_facade_commits_the_session_before_issuing_the_ticket(clean_db, db):
    tenant = make_tenant(db)
    user = make_user(db, tenant.id)
    ticket, actor = logins.login(user.email, PASSWORD, browser=BROWSER)
    token = sessions.redeem_login_ticket(ticket, browser=BROWSER)
    assert sessions.resolve_actor(token).user_id == user.user_id


def test_a_push_reads_the_session_without_keeping_it_alive(db):
    tenant = make_tenant(db)
    attendant = make_user(db, tenant.id, "attendant")
    token, _ = _login(db, attendant.email)
    row = db.exec(select(UserSession).where(UserSession.user_id == attendant.user_id)).one()
    an_hour_ago = row.last_seen_at - dt.timedelta(minutes=20)  # quiet for a while, inside the 30-min idle limit
    row.last_seen_at = an_hour_ago
    db.add(row)
    db.commit()
    actor = sessions.peek_actor(token, ip="203.0.113.9")
    assert (actor.user_id, actor.tenant_id, actor.role, actor.ip) == (attendant.user_id, tenant.id, "attendant",
                                                                      "203.0.113.9")
    db.refresh(row)
    assert row.last_seen_at == an_hour_ago  # not activity: the idle clock keeps running
    assert sessions.peek_actor("not-a-token") is None and sessions.peek_actor(None) is None
    row.last_seen_at = row.last_seen_at - dt.timedelta(hours=2)  # past the idle limit
    db.add(row)
    db.commit()
    assert sessions.peek_actor(token) is None


def test_a_push_stops_for_a_revoked_session_or_a_deactivated_user(db):
    tenant = make_tenant(db)
    first, second = make_user(db, tenant.id, "attendant"), make_user(db, tenant.id, "attendant")
    revoked, _ = _login(db, first.email)
    deactivated, _ = _login(db, second.email)
    assert sessions.peek_actor(revoked) is not None and sessions.peek_actor(deactivated) is not None
    assert sessions.logout(db, token=revoked)
    db.get(User, second.user_id).is_active = False
    db.commit()
    assert sessions.peek_actor(revoked) is None and sessions.peek_actor(deactivated) is None
