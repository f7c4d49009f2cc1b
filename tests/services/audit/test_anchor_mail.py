"""The daily anchor is e-mailed to the tenant's DPO when the tenant asks for it: once a day, signed, through the
outbox; never when the setting is off."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from crm_app.models import Email
from crm_app.services import settings
from crm_app.services.audit import anchors, chain
from crm_app.services.core import audit
from tests.factories import make_tenant, make_user
from tests.support.mail import smtp_sandbox
from tests.support.whatsapp import run_burst_worker

NOW = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sandbox():
    with smtp_sandbox() as box:
        yield box


@pytest.fixture
def world(db, sandbox):
    sandbox.reset()
    settings.update(db, actor=None, changes=sandbox.global_settings(), tenant_id=None)
    db.commit()
    asking, quiet = make_tenant(db), make_tenant(db)
    admin = make_user(db, asking.id, "admin")
    dpo = make_user(db, asking.id, "dpo")
    make_user(db, quiet.id, "dpo")
    for tenant_id, actor in ((asking.id, admin), (quiet.id, None)):
        audit.record(db, actor=actor, tenant_id=tenant_id, action="user.update", target_type="user", target_id=1)
    settings.update(db, actor=admin, tenant_id=asking.id, changes={"privacy.email_audit_anchor": True})
    db.commit()
    chain.seal_pending(db)
    return asking, dpo


def test_the_dpo_gets_the_days_anchor_once_and_only_where_asked(db, world, sandbox):
    tenant, dpo = world
    assert anchors.write_anchors(db, now=NOW) >= 2
    assert anchors.write_anchors(db, now=NOW + dt.timedelta(hours=1)) >= 2  # the same day again: no second mail
    db.commit()
    emails = db.exec(select(Email)).all()
    assert [(e.tenant_id, e.recipient) for e in emails] == [(tenant.id, dpo.email)]
    assert run_burst_worker("default").returncode == 0
    [message] = sandbox.messages(to=dpo.email)
    latest = anchors.read_anchors(tenant.id, today=NOW.date())[0]
    assert latest.valid and latest.hash in message["text"] and str(latest.seq) in message["text"]
    assert "2026-12-06" in message["subject"]
