"""Pushes trust a checked session for a few seconds, then check it again."""

import time

from crm_app.services.access import logins, sessions
from crm_app.state import inbox as inbox_state
from tests.factories import PASSWORD, make_tenant, make_user


def test_a_revoked_session_stops_receiving_pushes_once_its_check_expires(db, monkeypatch):
    monkeypatch.setattr(inbox_state, "PUSH_SESSION_TTL", 0.3)
    inbox_state._push_sessions.clear()
    tenant = make_tenant(db)
    attendant = make_user(db, tenant.id, "attendant")
    token, _ = logins.authenticate(db, email=attendant.email, password=PASSWORD)
    db.commit()
    assert inbox_state._push_actor(token, "198.51.100.4").user_id == attendant.user_id
    assert sessions.logout(db, token=token)
    db.commit()
    assert inbox_state._push_actor(token, "198.51.100.4").user_id == attendant.user_id  # still trusted
    time.sleep(0.35)
    assert inbox_state._push_actor(token, "198.51.100.4") is None
    assert inbox_state._push_actor(None, None) is None and inbox_state._push_actor("forged", None) is None
