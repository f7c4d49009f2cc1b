"""Pushes trust a checked session for a few seconds, then check it again."""

from crm_app.services.access import logins, sessions
from crm_app.state.inbox import live as inbox_state
from tests.factories import PASSWORD, make_tenant, make_user


def test_a_revoked_session_stops_receiving_pushes_once_its_check_expires(db, monkeypatch):
    inbox_state._push_sessions.clear()
    tenant = make_tenant(db)
    attendant = make_user(db, tenant.id, "attendant")
    token, _ = logins.authenticate(db, email=attendant.email, password=PASSWORD)
    db.commit()
    assert inbox_state.push_actor(token, "198.51.100.4").user_id == attendant.user_id
    assert sessions.logout(db, token=token)
    db.commit()
    assert inbox_state.push_actor(token, "198.51.100.4").user_id == attendant.user_id  # still trusted
    monkeypatch.setattr(inbox_state, "PUSH_SESSION_TTL", 0)  # the check's time is up (no waiting for it)
    assert inbox_state.push_actor(token, "198.51.100.4") is None
    assert inbox_state.push_actor(None, None) is None and inbox_state.push_actor("forged", None) is None


def test_an_announced_revocation_ends_the_trust_at_once(db):
    """The listener hands announced session ids to `forget_revoked`: the next push checks the database again."""
    inbox_state._push_sessions.clear()
    tenant = make_tenant(db)
    attendant = make_user(db, tenant.id, "attendant")
    token, _ = logins.authenticate(db, email=attendant.email, password=PASSWORD)
    db.commit()
    assert inbox_state.push_actor(token, None).user_id == attendant.user_id
    session_id, _ = sessions.peek_session(token)
    assert sessions.logout(db, token=token)
    db.commit()
    inbox_state.forget_revoked([session_id + 1000])  # someone else's session: still trusted
    assert inbox_state.push_actor(token, None).user_id == attendant.user_id
    inbox_state.forget_revoked([session_id])
    assert inbox_state.push_actor(token, None) is None


def test_a_check_that_overlaps_an_announcement_is_used_once_and_not_kept(db, monkeypatch):
    """A session read just before its revocation committed must not be trusted for the next 10 s."""
    inbox_state._push_sessions.clear()
    tenant = make_tenant(db)
    attendant = make_user(db, tenant.id, "attendant")
    token, _ = logins.authenticate(db, email=attendant.email, password=PASSWORD)
    db.commit()
    peek = sessions.peek_session

    def peek_then_hear_an_announcement(*args, **kwargs):
        found = peek(*args, **kwargs)
        inbox_state.forget_revoked([found[0]])
        return found

    monkeypatch.setattr(inbox_state.access, "peek_session", peek_then_hear_an_announcement)
    assert inbox_state.push_actor(token, None).user_id == attendant.user_id
    assert inbox_state._push_sessions == {}
