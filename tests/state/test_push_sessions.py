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
