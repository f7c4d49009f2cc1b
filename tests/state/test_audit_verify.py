"""/compliance/audit's Verificar integridade as a tab sees it: the click only queues, the status row then shows
the progress and the result."""

from __future__ import annotations

import pages  # noqa: F401  (registers every page and its states)
from crm_app.models import User
from crm_app.queue import get_redis
from crm_app.services.access import sessions
from crm_app.services.audit import tasks, verify
from crm_app.state.compliance_audit import AuditLogState
from tests.factories import make_tenant, make_user
from tests.support.isolation import fresh_state, run_handler


async def test_the_click_queues_the_check_and_the_status_row_shows_its_result(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    cookie = sessions.open_session(db, user=db.get(User, admin.user_id), ip="127.0.0.1")
    db.commit()
    get_redis().delete(f"crm:audit:verify:{tenant.id}")
    _root, state = fresh_state(AuditLogState, cookie)
    produced = await run_handler(state, "verify_chain", (), depth=0)
    assert any("watch_verification" in str(p) for p in produced)  # the tab then polls; nothing ran yet
    assert state.verifying and state.verify_message == state.t["audit.verify.queued"]
    pending = verify.verification_status(db, actor=admin)
    tasks.verify_audit_chain(tenant.id, admin.user_id, None, pending.token)
    assert state._refresh_verification() is False
    assert not state.verifying and state.verify_ok
    done = verify.verification_status(db, actor=admin)
    assert done.state == "done" and state.verify_message == state.t["audit.verify.ok"].format(checked=done.checked)
