"""Invitations and password resets are e-mailed (through the sandbox's SMTP server) when the tenant can send
e-mail; the link in the e-mail works once. Without an SMTP server nothing is queued and the caller is told."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from crm_app.models import Email, Tenant
from crm_app.services import settings
from crm_app.services.access import invites, users
from tests.factories import make_tenant, make_user
from tests.support.mail import smtp_sandbox
from tests.support.whatsapp import run_burst_worker

NEW_PASSWORD = "a-long-and-fine-passphrase-9"


@pytest.fixture(scope="module")
def sandbox():
    with smtp_sandbox() as box:
        yield box


@pytest.fixture
def admin(db, sandbox):
    sandbox.reset()
    settings.update(db, actor=None, changes=sandbox.global_settings(), tenant_id=None)
    db.commit()
    return make_user(db, make_tenant(db).id, "admin")


def _link(message: dict) -> str:
    return re.search(r"https?://\S+/invite#[\w-]+", message["text"]).group(0)


def test_an_invitation_is_emailed_in_the_tenants_language_and_its_link_sets_the_password(db, admin, sandbox):
    tenant = db.get(Tenant, admin.tenant_id)
    tenant.locale, tenant.name = "en", "Pousada <Sol>"
    db.commit()
    row, token = users.create_user(db, actor=admin, email="dora@example.com", name="Dora <Lima>", role="attendant")
    db.commit()
    assert row.link_emailed and token
    assert run_burst_worker("default").returncode == 0
    [message] = sandbox.messages(to="dora@example.com")
    assert message["subject"] == f"{admin.name} invited you to Pousada <Sol>"
    assert "Pousada &lt;Sol&gt;" in message["html"]
    assert "Choose my password" in message["html"] and "Dora &lt;Lima&gt;" in message["html"]
    assert _link(message) == invites.link_url(token)
    assert invites.accept(db, token=token, password=NEW_PASSWORD) == "dora@example.com"
    db.commit()
    email = db.exec(select(Email)).one()
    assert (email.template, email.status, email.user_id) == ("invite", "sent", row.id)
    assert token not in db.connection().exec_driver_sql("SELECT body_text FROM emails").scalar()  # encrypted


def test_a_reset_link_is_emailed_and_an_older_one_dies(db, admin, sandbox):
    other = make_user(db, admin.tenant_id, "attendant")
    _, first = users.reset_password(db, actor=admin, user_id=other.user_id)
    db.commit()
    row, second = users.reset_password(db, actor=admin, user_id=other.user_id)
    db.commit()
    assert row.link_emailed
    assert run_burst_worker("default").returncode == 0
    mails = sandbox.messages(to=other.email)
    assert len(mails) == 2 and all("Redefina a sua senha" in m["subject"] for m in mails)
    assert {_link(m) for m in mails} == {invites.link_url(first), invites.link_url(second)}
    with pytest.raises(invites.InviteInvalid):  # the first e-mail's link died with the second reset
        invites.peek(db, token=first)
    assert invites.peek(db, token=second).email == other.email


def test_without_an_smtp_server_nothing_is_queued_and_the_caller_is_told(db, sandbox):
    sandbox.reset()
    admin = make_user(db, make_tenant(db).id, "admin")  # no global mail.* values in this test
    row, token = users.create_user(db, actor=admin, email="eli@example.com", name="Eli", role="attendant")
    db.commit()
    assert token and not row.link_emailed
    assert db.exec(select(Email)).all() == []


def test_a_failed_reset_mail_is_resent_only_while_its_link_is_still_the_live_one(db, admin, sandbox):
    from crm_app.errors import Conflict
    from crm_app.services import mail

    other = make_user(db, admin.tenant_id, "attendant")
    sandbox.control(refuse_logins=True)  # both mails fail at once
    _, first = users.reset_password(db, actor=admin, user_id=other.user_id)
    db.commit()
    assert run_burst_worker("default").returncode == 0
    first_mail = db.exec(select(Email).where(Email.user_id == other.user_id)).one()
    assert first_mail.status == "failed"
    sandbox.control(refuse_logins=False)
    assert mail.resend_email(db, actor=admin, email_id=first_mail.id).status == "queued"  # the link still lives
    db.rollback()
    _, second = users.reset_password(db, actor=admin, user_id=other.user_id)  # a newer link kills the first
    db.commit()
    with pytest.raises(Conflict) as caught:
        mail.resend_email(db, actor=admin, email_id=first_mail.id)
    assert caught.value.code == "mail_link_dead"
    db.rollback()
    assert run_burst_worker("default").returncode == 0
    assert [_link(m) for m in sandbox.messages(to=other.email)] == [invites.link_url(second)]  # not the dead one
