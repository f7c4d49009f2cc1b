"""Platform operators list, create, suspend and reactivate tenants; nobody else can."""

import dataclasses

import pytest
from sqlmodel import select

from crm_app.errors import Conflict, InvalidCredentials, NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, InboundEvent, Message, Tenant, User
from crm_app.services.access import invites, logins, sessions, tenants, users
from crm_app.services.channel import ingest
from tests.factories import PASSWORD, make_inbox, make_tenant, make_user
from tests.support.whatsapp import APP_SECRET, PHONE_NUMBER_ID, WABA_ID, encode, fixture, signed_headers

IP = "198.51.100.4"


def _login(db, email, password=PASSWORD):
    token, actor = logins.authenticate(db, email=email, password=password, ip=IP)
    db.commit()
    return token, actor


@pytest.fixture
def operator(db):
    platform = make_tenant(db, "platform")
    actor = make_user(db, platform.id, "admin")
    user = db.get(User, actor.user_id)
    user.is_platform_operator = True
    db.commit()
    return dataclasses.replace(actor, is_platform_operator=True, ip=IP)


@pytest.fixture
def customer(db):
    """A customer tenant with an admin and an attendant."""
    tenant = make_tenant(db, "pousada")
    return tenant, make_user(db, tenant.id, "admin"), make_user(db, tenant.id, "attendant")


def test_operator_lists_tenants_with_user_counts(db, operator, customer):
    rows = {r.slug: r for r in tenants.list_tenants(db, actor=operator)}
    assert rows["pousada"].users_count == 2 and rows["pousada"].is_active and not rows["pousada"].is_own
    assert rows["platform"].is_own and rows["platform"].users_count == 1


def test_operator_creates_a_tenant_whose_first_admin_sets_a_password_through_the_link(db, operator):
    row, token = tenants.create_tenant(db, actor=operator, name="Hotel Mar Azul", slug="Mar-Azul",
                                       admin_name="Marta Azul", admin_email="marta@marazul.example")
    db.commit()
    assert row.slug == "mar-azul" and len(token) >= 43
    with pytest.raises(InvalidCredentials):
        _login(db, "marta@marazul.example", "")
    info = invites.peek(db, token=token)
    assert (info.tenant_name, info.purpose) == ("Hotel Mar Azul", "invite")
    invites.accept(db, token=token, password="ondas-do-mar-azul")
    db.commit()
    _, marta = _login(db, "marta@marazul.example", "ondas-do-mar-azul")
    assert marta.tenant_id == row.id and marta.role == "admin" and not marta.is_platform_operator
    new_log = db.exec(select(AuditLog.action).where(AuditLog.tenant_id == row.id).order_by(AuditLog.id)).all()
    assert new_log[:2] == ["tenant.create", "user.create"]
    own = db.exec(select(AuditLog).where(AuditLog.tenant_id == operator.tenant_id, AuditLog.action == "tenant.create",
                                         AuditLog.actor_user_id.is_not(None))).one()
    assert own.actor_user_id == operator.user_id and own.ip == IP and own.after["tenant"] == "mar-azul"


def test_create_tenant_refuses_taken_slugs_and_e_mails_and_bad_fields(db, operator, customer):
    _, admin, _ = customer
    good = dict(name="X", slug="novo", admin_name="Y", admin_email="y@example.com")
    for override, error, field in [({"slug": "pousada"}, Conflict, "slug"),
                                   ({"admin_email": admin.email}, Conflict, "admin_email"),
                                   ({"slug": "Não vale"}, ValidationError, "slug"),
                                   ({"name": ""}, ValidationError, "name"),
                                   ({"admin_name": " "}, ValidationError, "admin_name"),
                                   ({"admin_email": "nope"}, ValidationError, "admin_email")]:
        with pytest.raises(error) as refused:
            tenants.create_tenant(db, actor=operator, **{**good, **override})
        assert refused.value.params["field"] == field
        db.rollback()
    assert tenants.find_tenant_by_slug(db, "novo") is None


def test_suspending_revokes_every_session_blocks_login_and_links_and_is_audited(db, operator, customer):
    tenant, admin, attendant = customer
    tokens = [_login(db, admin.email)[0], _login(db, attendant.email)[0]]
    _, link = users.create_user(db, actor=admin, email="novo@pousada.example", name="Novo", role="attendant")
    db.commit()
    assert tenants.suspend_tenant(db, actor=operator, tenant_id=tenant.id) == 2
    db.commit()
    assert all(sessions.resolve_session(db, token=t) is None for t in tokens)
    for email in (admin.email, attendant.email):
        with pytest.raises(InvalidCredentials):
            _login(db, email)
    with pytest.raises(invites.InviteInvalid):
        invites.peek(db, token=link)
    row = next(r for r in tenants.list_tenants(db, actor=operator) if r.id == tenant.id)
    assert not row.is_active and row.suspended_at is not None
    log = db.exec(select(AuditLog).where(AuditLog.tenant_id == tenant.id, AuditLog.action == "tenant.suspend")).one()
    assert log.after["sessions_revoked"] == 2 and log.actor_user_id == operator.user_id
    assert db.exec(select(AuditLog).where(AuditLog.tenant_id == operator.tenant_id,
                                          AuditLog.action == "tenant.suspend")).one()

    tenants.reactivate_tenant(db, actor=operator, tenant_id=tenant.id)
    db.commit()
    assert all(sessions.resolve_session(db, token=t) is None for t in tokens)  # old sessions stay revoked
    _login(db, attendant.email)
    assert db.get(Tenant, tenant.id).suspended_at is None


def test_a_suspended_tenants_webhooks_are_still_stored_and_processed(db, operator, customer):
    tenant, _, _ = customer
    make_inbox(db, tenant.id, phone_number_id=PHONE_NUMBER_ID, waba_id=WABA_ID, app_secret=APP_SECRET)
    tenants.suspend_tenant(db, actor=operator, tenant_id=tenant.id)
    db.commit()
    raw = encode(fixture("message", "text"))
    outcome = ingest.receive_webhook(raw, signed_headers(raw)["X-Hub-Signature-256"])
    assert outcome.status == 200
    ingest.process_inbound_event(outcome.event_id)
    assert db.exec(select(InboundEvent.tenant_id)).one() == tenant.id
    assert db.exec(select(Message.tenant_id)).one() == tenant.id


def test_an_operator_cannot_suspend_their_own_tenant_and_missing_ids_are_not_found(db, operator):
    with pytest.raises(PermissionDenied):
        tenants.suspend_tenant(db, actor=operator, tenant_id=operator.tenant_id)
    for attempt in (lambda: tenants.suspend_tenant(db, actor=operator, tenant_id=999_999),
                    lambda: tenants.reactivate_tenant(db, actor=operator, tenant_id=999_999)):
        with pytest.raises(NotFound):
            attempt()


def test_only_platform_operators_with_the_admin_role_manage_tenants(db, operator, customer):
    tenant, admin, attendant = customer
    demoted = make_user(db, operator.tenant_id, "attendant")
    db.get(User, demoted.user_id).is_platform_operator = True
    db.commit()
    outsiders = [admin, attendant, dataclasses.replace(demoted, is_platform_operator=True)]
    calls = [(tenants.list_tenants, {}), (tenants.suspend_tenant, {"tenant_id": tenant.id}),
             (tenants.reactivate_tenant, {"tenant_id": tenant.id}),
             (tenants.create_tenant, {"name": "X", "slug": "xx", "admin_name": "X", "admin_email": "x@example.com"})]
    for actor in outsiders:
        for fn, kwargs in calls:
            with pytest.raises(PermissionDenied):
                fn(db, actor=actor, **kwargs)
            db.rollback()
    assert db.get(Tenant, tenant.id).is_active


def test_the_cli_grants_and_withdraws_the_operator_flag_to_active_admins_only(db, customer, capsys):
    from crm_app import cli

    _, admin, attendant = customer
    assert cli.main(["platform-operator", "--email", admin.email]) == 0
    assert "is now a platform operator" in capsys.readouterr().out
    db.expire_all()
    assert db.get(User, admin.user_id).is_platform_operator
    assert cli.main(["platform-operator", "--email", attendant.email]) == 2
    assert "must be active admins" in capsys.readouterr().err
    assert cli.main(["platform-operator", "--email", "nobody@example.com"]) == 2
    assert cli.main(["platform-operator", "--email", admin.email, "--revoke"]) == 0
    db.expire_all()
    assert not db.get(User, admin.user_id).is_platform_operator
    actions = [r.after for r in db.exec(select(AuditLog).where(AuditLog.action == "user.platform_operator")
                                        .order_by(AuditLog.id)).all()]
    assert actions == [{"is_platform_operator": True}, {"is_platform_operator": False}]
