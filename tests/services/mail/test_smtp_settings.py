"""A tenant's own SMTP settings: saved only after the server accepted a login with them, write-only password."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_app.errors import PermissionDenied, ValidationError
from crm_app.models import SettingChange, SettingValue
from crm_app.services import settings
from crm_app.services.mail import SmtpRefused, smtp_settings
from tests.factories import make_tenant, make_user
from tests.support.mail import smtp_sandbox


@pytest.fixture(scope="module")
def sandbox():
    with smtp_sandbox() as box:
        yield box


@pytest.fixture
def admin(db, sandbox):
    sandbox.reset()
    tenant = make_tenant(db)
    return make_user(db, tenant.id, "admin")


def _own(sandbox, **overrides) -> dict:
    values = {k: v for k, v in sandbox.global_settings().items()}
    values.update({"mail.from_address": "reservas@pousada.example", "mail.from_name": "Pousada Sol"}, **overrides)
    return values


def _stored(db, tenant_id) -> list:
    return db.exec(select(SettingValue).where(SettingValue.tenant_id == tenant_id)).all()


def test_a_login_the_server_refuses_saves_nothing(db, admin, sandbox):
    with pytest.raises(SmtpRefused) as refused:
        smtp_settings.save(db, actor=admin, changes=_own(sandbox, **{"mail.smtp_password": "wrong"}))
    assert refused.value.params["field"] == "mail.smtp_password" and "refused the login" in refused.value.message
    db.rollback()
    assert _stored(db, admin.tenant_id) == [] and db.exec(select(SettingChange)).all() == []
    assert settings.source(db, "mail.smtp_host", tenant_id=admin.tenant_id) == "default"
    assert sandbox.control()["logins"]["refused"] >= 1  # smtplib tries PLAIN, then LOGIN


def test_a_server_that_is_down_saves_nothing(db, admin, sandbox):
    sandbox.control(mode="refuse")
    with pytest.raises(SmtpRefused) as refused:
        smtp_settings.save(db, actor=admin, changes=_own(sandbox))
    assert refused.value.params["field"] == "mail.smtp_host"
    db.rollback()
    assert _stored(db, admin.tenant_id) == []


def test_a_good_login_saves_and_the_password_is_write_only(db, admin, sandbox):
    view = smtp_settings.save(db, actor=admin, changes=_own(sandbox), reason="our own server")
    db.commit()
    assert view.overridden and view.password_set and view.from_name == "Pousada Sol"
    assert not hasattr(view, "password")
    assert settings.source(db, "mail.from_address", tenant_id=admin.tenant_id) == "tenant"
    # Saving again with the password left blank keeps it (and still checks the login).
    again = smtp_settings.save(db, actor=admin, changes=_own(sandbox, **{"mail.smtp_password": "",
                                                                          "mail.from_name": "Pousada Lua"}))
    db.commit()
    assert again.password_set and again.from_name == "Pousada Lua"
    assert smtp_settings.smtp_config(db, tenant_id=admin.tenant_id).password == \
        sandbox.global_settings()["mail.smtp_password"]
    smtp_settings.reset(db, actor=admin)
    db.commit()
    assert settings.source(db, "mail.from_address", tenant_id=admin.tenant_id) != "tenant"


def test_bad_values_and_roles_are_refused(db, admin, sandbox):
    with pytest.raises(ValidationError) as bad_port:
        smtp_settings.save(db, actor=admin, changes=_own(sandbox, **{"mail.smtp_port": 70000}))
    db.rollback()
    assert bad_port.value.params["field"] == "mail.smtp_port"
    with pytest.raises(ValidationError):
        smtp_settings.save(db, actor=admin, changes={"mail.smtp_host": ""})
    with pytest.raises(ValidationError):
        smtp_settings.save(db, actor=admin, changes={"security.session_idle_minutes": 5})
    supervisor = make_user(db, admin.tenant_id, "supervisor")
    with pytest.raises(PermissionDenied):
        smtp_settings.save(db, actor=supervisor, changes=_own(sandbox))
    with pytest.raises(PermissionDenied):
        smtp_settings.view(db, actor=supervisor)
    assert _stored(db, admin.tenant_id) == []


def test_the_demo_seed_points_the_platform_at_the_sandbox_once(db, sandbox):
    from crm_app.config import get_settings
    from crm_app.services.mail import seed_demo

    assert seed_demo(db) is True
    db.commit()
    config = smtp_settings.smtp_config(db, tenant_id=make_tenant(db).id)  # any tenant inherits it
    assert (config.host, config.port, config.security, config.username) == (
        "127.0.0.1", get_settings().sandbox_smtp_port, "none", get_settings().sandbox_smtp_username)
    settings.update(db, actor=None, changes={"mail.smtp_host": "smtp.operator.example"}, tenant_id=None)
    db.commit()
    assert seed_demo(db) is False  # an operator's server is left alone
    assert settings.value(db, "mail.smtp_host", tenant_id=None) == "smtp.operator.example"


def test_the_platforms_password_is_never_lent_to_a_tenants_own_server(db, admin, sandbox):
    from crm_app.services.mail import smtp_settings as module

    settings.update(db, actor=None, changes=sandbox.global_settings(), tenant_id=None)
    db.commit()
    before = sandbox.control()["logins"]
    # Through this page: a server of its own and no password of its own is refused before any connection.
    with pytest.raises(module.SmtpPasswordNeeded):
        smtp_settings.save(db, actor=admin, changes={"mail.smtp_host": "localhost", "mail.smtp_password": ""})
    db.rollback()
    assert sandbox.control()["logins"] == before and _stored(db, admin.tenant_id) == []
    # A host of the tenant's own (as this page saves it, after its login) gets no password from the platform.
    settings.update(db, actor=admin, changes={"mail.smtp_host": "localhost"}, tenant_id=admin.tenant_id,
                    checked_on=smtp_settings.PAGE)
    db.commit()
    assert smtp_settings.smtp_config(db, tenant_id=admin.tenant_id).password == ""
    assert smtp_settings.smtp_config(db, tenant_id=make_tenant(db).id).password == \
        sandbox.global_settings()["mail.smtp_password"]  # tenants on the platform's server still use it


def test_a_tenant_sets_its_smtp_values_on_the_email_page_only(db, admin, sandbox):
    """The general page, the API, a rollback or a template would skip the login check: refused, nothing written."""
    from crm_app.services.settings import templates

    with pytest.raises(ValidationError) as elsewhere:
        settings.update(db, actor=admin, changes={"mail.smtp_host": "smtp.elsewhere.example", "mail.smtp_port": 25},
                        tenant_id=admin.tenant_id)
    problems = elsewhere.value.params["problems"]
    assert problems["mail.smtp_host"] == {"type": "own_page", "page": smtp_settings.PAGE}
    assert problems["mail.smtp_port"]["type"] == "own_page"
    db.rollback()
    assert _stored(db, admin.tenant_id) == [] and db.exec(select(SettingChange)).all() == []
    views = {v.key: v for v in settings.describe(db, actor=admin, tenant_id=admin.tenant_id)}
    assert not views["mail.smtp_host"].editable and views["security.session_idle_minutes"].editable
    with pytest.raises(ValidationError) as in_template:
        templates.save_template(db, actor=None, name="Pousada", description="",
                                values={"mail.smtp_host": "smtp.elsewhere.example"})
    assert in_template.value.params["problems"]["mail.smtp_host"]["type"] == "own_page"
    db.rollback()
    # Going back to the platform's server checks nothing, so the registry allows it anywhere; the platform's
    # own (global) values are the operators' and stay editable on their page.
    smtp_settings.save(db, actor=admin, changes=_own(sandbox))
    db.commit()
    settings.update(db, actor=admin, changes={"mail.smtp_host": None}, tenant_id=admin.tenant_id)
    db.commit()
    assert settings.source(db, "mail.smtp_host", tenant_id=admin.tenant_id) != "tenant"
    assert {v.key: v for v in settings.describe(db, actor=None, tenant_id=None)}["mail.smtp_host"].editable


def test_a_tenants_own_server_is_reached_under_the_outbound_url_policy(db, admin, sandbox):
    """Where private addresses are refused: a loopback host and a non-mail port are refused before any
    connection, with one text whatever the cause; the platform's own server (an operator's) is not judged."""
    from crm_app.integrations import smtp

    settings.update(db, actor=None, changes={**sandbox.global_settings(),
                                             "system.allow_private_outbound_urls": False}, tenant_id=None)
    db.commit()
    before = sandbox.control()["logins"]
    with pytest.raises(SmtpRefused) as port:
        smtp_settings.save(db, actor=admin, changes=_own(sandbox))  # the sandbox listens on a random port
    assert "port" in port.value.message
    db.rollback()
    with pytest.raises(SmtpRefused) as private:
        smtp_settings.save(db, actor=admin, changes=_own(sandbox, **{"mail.smtp_port": 587}))
    assert private.value.message == smtp.UNREACHABLE and private.value.params["field"] == "mail.smtp_host"
    db.rollback()
    assert sandbox.control()["logins"] == before and _stored(db, admin.tenant_id) == []
    smtp.check_login(smtp_settings.smtp_config(db, tenant_id=admin.tenant_id))  # the platform's: allowed


def test_a_server_that_never_answers_is_cut_off_by_the_total_deadline():
    import socket
    import time

    from crm_app.integrations import smtp
    from crm_app.integrations.errors import ExternalServiceError

    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody ever greets
        config = smtp.SmtpConfig(host="127.0.0.1", port=silent.getsockname()[1], security="none", username="",
                                 password="", from_address="a@b.example", timeout=60)
        started = time.monotonic()
        with pytest.raises(ExternalServiceError) as cut:
            smtp.check_login(config, deadline=0.5)
        assert time.monotonic() - started < 30  # the read's own 60 s timeout never came into play
        assert cut.value.retryable


def test_a_sender_name_or_login_with_a_line_break_is_refused(db):
    for key in ("mail.from_name", "mail.smtp_username"):
        with pytest.raises(ValidationError) as caught:
            settings.update(db, actor=None, changes={key: "Pousada\r\nBcc: x@evil.example"}, tenant_id=None)
        assert caught.value.params["field"] == key
        db.rollback()
