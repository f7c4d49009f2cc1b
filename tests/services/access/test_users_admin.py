"""Admins manage their tenant's users: create or invite, roles, (de)activation, reset links, the audit log."""

import dataclasses
import datetime as dt
import secrets

import pytest
from sqlmodel import select

from crm_app.errors import Conflict, InvalidCredentials, NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, User
from crm_app.services.access import invites, logins, sessions, users
from crm_app.services.core import audit
from tests.factories import PASSWORD, make_tenant, make_user

IP = "203.0.113.7"
NEW_PASSWORD = "lua-de-mel-em-paraty"


def _login(db, email, password=PASSWORD):
    token, actor = logins.authenticate(db, email=email, password=password, ip=IP)
    db.commit()
    return token, actor


def _actions(db, tenant_id):
    return db.exec(select(AuditLog.action).where(AuditLog.tenant_id == tenant_id).order_by(AuditLog.id)).all()


@pytest.fixture
def tenant(db):
    return make_tenant(db)


@pytest.fixture
def admin(db, tenant):
    return dataclasses.replace(make_user(db, tenant.id, "admin"), ip=IP)


def test_admin_creates_a_user_with_a_password_that_can_log_in_at_once(db, admin):
    row, token = users.create_user(db, actor=admin, email=" Carla@Example.com ", name="Carla Souza",
                                   role="supervisor", password=NEW_PASSWORD)
    db.commit()
    assert token is None and row.email == "carla@example.com" and row.role == "supervisor" and row.is_active
    _, carla = _login(db, "carla@example.com", NEW_PASSWORD)
    assert carla.user_id == row.id and carla.tenant_id == admin.tenant_id
    log = db.exec(select(AuditLog).where(AuditLog.action == "user.create", AuditLog.target_id == str(row.id))).one()
    assert log.actor_user_id == admin.user_id and log.ip == IP
    assert log.after == {"name": "Carla Souza", "email": "carla@example.com", "role": "supervisor",
                         "method": "password"}


@pytest.mark.parametrize("password, problem", [("curta", "password.too_short"), ("password123", "password.common"),
                                               ("carlasouza2024", "password.personal")])
def test_a_weak_initial_password_is_refused_with_the_policys_reasons(db, admin, password, problem):
    with pytest.raises(ValidationError) as refused:
        users.create_user(db, actor=admin, email="carla@example.com", name="Carla Souza", role="attendant",
                          password=password)
    assert refused.value.params["field"] == "password" and problem in refused.value.params["problems"]
    db.rollback()
    assert users.find_user_by_email(db, "carla@example.com") is None


@pytest.mark.parametrize("field, values", [("email", {"email": "not-an-email"}), ("name", {"name": "  "}),
                                           ("role", {"role": "owner"})])
def test_bad_fields_are_named_for_inline_errors(db, admin, field, values):
    args = {"email": "carla@example.com", "name": "Carla", "role": "attendant", **values}
    with pytest.raises(ValidationError) as refused:
        users.create_user(db, actor=admin, **args)
    assert refused.value.params["field"] == field


def test_an_e_mail_in_use_anywhere_is_refused_the_same_way(db, admin):
    other_tenant = make_tenant(db)
    elsewhere = make_user(db, other_tenant.id, "attendant")
    here = make_user(db, admin.tenant_id, "attendant")
    for email in (elsewhere.email, here.email.upper()):
        with pytest.raises(Conflict) as taken:
            users.create_user(db, actor=admin, email=email, name="X", role="attendant")
        assert taken.value.params["field"] == "email" and taken.value.message == "e-mail already in use"


def test_an_invite_link_is_random_stored_hashed_single_use_and_lets_the_person_choose_a_password(db, admin):
    row, token = users.create_user(db, actor=admin, email="dora@example.com", name="Dora Lima", role="attendant")
    db.commit()
    assert len(token) >= 43 and invites.link_url(token).endswith(f"/invite#{token}")  # 256 bits, in the fragment
    user = db.get(User, row.id)
    assert user.password_token_hash == invites.hash_link_token(token) and token not in user.password_token_hash
    assert users.get_user(db, actor=admin, user_id=row.id).link_pending
    with pytest.raises(InvalidCredentials):  # no password works before the link is used
        _login(db, "dora@example.com", "")
    info = invites.peek(db, token=token)
    assert (info.email, info.name, info.purpose) == ("dora@example.com", "Dora Lima", "invite")

    with pytest.raises(ValidationError) as weak:
        invites.accept(db, token=token, password="123456789")
    assert "password.common" in weak.value.params["problems"]
    db.rollback()
    assert invites.accept(db, token=token, password=NEW_PASSWORD, ip=IP) == "dora@example.com"
    db.commit()
    _login(db, "dora@example.com", NEW_PASSWORD)
    with pytest.raises(invites.InviteInvalid):
        invites.accept(db, token=token, password="another-fine-passphrase")
    with pytest.raises(invites.InviteInvalid):
        invites.peek(db, token=token)
    assert not users.get_user(db, actor=admin, user_id=row.id).link_pending
    assert "user.password_set" in _actions(db, admin.tenant_id)


def test_an_invite_link_expires_after_72_hours(db, admin):
    row, token = users.create_user(db, actor=admin, email="eva@example.com", name="Eva", role="attendant")
    user = db.get(User, row.id)
    assert dt.timedelta(hours=71, minutes=59) < user.password_token_expires_at - user.created_at \
        <= dt.timedelta(hours=72, seconds=5)
    user.password_token_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    for attempt in (lambda: invites.peek(db, token=token),
                    lambda: invites.accept(db, token=token, password=NEW_PASSWORD)):
        with pytest.raises(invites.InviteInvalid):
            attempt()
    assert not users.get_user(db, actor=admin, user_id=row.id).link_pending


@pytest.mark.parametrize("token", [None, "", "x" * 43, "y" * 5000])
def test_unknown_or_absurd_link_tokens_are_invalid(db, token):
    with pytest.raises(invites.InviteInvalid):
        invites.peek(db, token=token)


def test_deactivating_revokes_sessions_kills_the_link_and_reactivating_lets_them_log_in_again(db, admin):
    other = make_user(db, admin.tenant_id, "attendant")
    token, _ = _login(db, other.email)
    assert sessions.resolve_session(db, token=token) is not None
    row = users.set_active(db, actor=admin, user_id=other.user_id, active=False)
    db.commit()
    assert not row.is_active
    assert sessions.resolve_session(db, token=token) is None
    with pytest.raises(InvalidCredentials):
        _login(db, other.email)
    users.set_active(db, actor=admin, user_id=other.user_id, active=True)
    db.commit()
    assert sessions.resolve_session(db, token=token) is None  # the old session stays dead
    _login(db, other.email)
    logs = db.exec(select(AuditLog).where(AuditLog.action.in_(["user.deactivate", "user.reactivate"]))
                   .order_by(AuditLog.id)).all()
    assert [(r.action, r.before, r.after, r.ip) for r in logs] == [
        ("user.deactivate", {"is_active": True}, {"is_active": False}, IP),
        ("user.reactivate", {"is_active": False}, {"is_active": True}, IP)]


def test_a_deactivated_users_pending_invite_stops_working(db, admin):
    row, token = users.create_user(db, actor=admin, email="fabio@example.com", name="Fábio", role="attendant")
    users.set_active(db, actor=admin, user_id=row.id, active=False)
    db.commit()
    with pytest.raises(invites.InviteInvalid):
        invites.peek(db, token=token)


def test_the_last_active_admin_can_neither_demote_nor_deactivate_themselves(db, admin):
    for attempt in (lambda: users.change_role(db, actor=admin, user_id=admin.user_id, role="supervisor"),
                    lambda: users.set_active(db, actor=admin, user_id=admin.user_id, active=False)):
        with pytest.raises(users.LastAdmin) as refused:
            attempt()
        assert refused.value.code == "last_admin" and isinstance(refused.value, PermissionDenied)
        db.rollback()
    assert users.get_user(db, actor=admin, user_id=admin.user_id).role == "admin"


def test_an_inactive_second_admin_does_not_count(db, admin):
    second = make_user(db, admin.tenant_id, "admin")
    users.set_active(db, actor=admin, user_id=second.user_id, active=False)
    with pytest.raises(users.LastAdmin):
        users.change_role(db, actor=admin, user_id=admin.user_id, role="attendant")


def test_with_another_active_admin_an_admin_may_step_down(db, admin):
    second = make_user(db, admin.tenant_id, "admin")
    users.change_role(db, actor=admin, user_id=admin.user_id, role="supervisor")
    db.commit()
    assert users.get_user(db, actor=second, user_id=admin.user_id).role == "supervisor"
    with pytest.raises(users.LastAdmin):  # now `second` is the last one
        users.set_active(db, actor=second, user_id=second.user_id, active=False)


def test_role_change_is_audited_with_before_and_after(db, admin):
    other = make_user(db, admin.tenant_id, "attendant")
    users.change_role(db, actor=admin, user_id=other.user_id, role="admin")
    users.change_role(db, actor=admin, user_id=other.user_id, role="admin")  # no change, no row
    db.commit()
    log = db.exec(select(AuditLog).where(AuditLog.action == "user.role_change")).one()
    assert (log.before, log.after, log.actor_user_id, log.ip) == ({"role": "attendant"}, {"role": "admin"},
                                                                   admin.user_id, IP)


def test_reset_password_kills_the_old_password_and_sessions_and_gives_a_link(db, admin):
    other = make_user(db, admin.tenant_id, "attendant")
    session_token, _ = _login(db, other.email)
    _, link_token = users.reset_password(db, actor=admin, user_id=other.user_id)
    db.commit()
    assert sessions.resolve_session(db, token=session_token) is None
    with pytest.raises(InvalidCredentials):
        _login(db, other.email)
    assert invites.peek(db, token=link_token).purpose == "reset"
    _, second_link = users.reset_password(db, actor=admin, user_id=other.user_id)
    db.commit()
    with pytest.raises(invites.InviteInvalid):  # a newer link replaces the older one
        invites.peek(db, token=link_token)
    invites.accept(db, token=second_link, password=NEW_PASSWORD)
    db.commit()
    _login(db, other.email, NEW_PASSWORD)
    log = db.exec(select(AuditLog).where(AuditLog.action == "user.password_reset")).first()
    assert log.target_id == str(other.user_id) and log.ip == IP and "link_expires_at" in log.after


def test_reset_is_refused_for_oneself_and_for_an_inactive_user(db, admin):
    with pytest.raises(users.OwnAccount):
        users.reset_password(db, actor=admin, user_id=admin.user_id)
    other = make_user(db, admin.tenant_id, "attendant")
    users.set_active(db, actor=admin, user_id=other.user_id, active=False)
    with pytest.raises(ValidationError):
        users.reset_password(db, actor=admin, user_id=other.user_id)


def test_capacity_is_bounded_and_audited(db, admin):
    other = make_user(db, admin.tenant_id, "attendant")
    assert users.set_capacity(db, actor=admin, user_id=other.user_id, capacity=4).capacity == 4
    for bad in (-1, 101):
        with pytest.raises(ValidationError):
            users.set_capacity(db, actor=admin, user_id=other.user_id, capacity=bad)
    db.commit()
    assert db.exec(select(AuditLog).where(AuditLog.action == "user.capacity_change")).one().after == {"capacity": 4}


def test_list_shows_two_factor_last_login_and_pending_links(db, admin):
    other = make_user(db, admin.tenant_id, "attendant")
    user = db.get(User, other.user_id)
    user.totp_enabled_at = dt.datetime.now(dt.UTC)
    db.commit()
    _login(db, other.email)
    users.create_user(db, actor=admin, email="gil@example.com", name="Gil", role="attendant")
    rows = {r.email: r for r in users.list_users(db, actor=admin)}
    assert rows[other.email].two_factor and rows[other.email].last_login_at is not None
    assert rows["gil@example.com"].link_pending and not rows["gil@example.com"].two_factor


def test_every_operation_refuses_other_tenants_ids_with_not_found(db, admin):
    other_tenant = make_tenant(db)
    foreign = make_user(db, other_tenant.id, "attendant")
    attempts = [
        lambda: users.get_user(db, actor=admin, user_id=foreign.user_id),
        lambda: users.change_role(db, actor=admin, user_id=foreign.user_id, role="admin"),
        lambda: users.set_active(db, actor=admin, user_id=foreign.user_id, active=False),
        lambda: users.reset_password(db, actor=admin, user_id=foreign.user_id),
        lambda: users.set_capacity(db, actor=admin, user_id=foreign.user_id, capacity=3),
        lambda: users.change_role(db, actor=admin, user_id=999_999, role="admin"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
        db.rollback()
    user = db.get(User, foreign.user_id)
    db.refresh(user)
    assert (user.role, user.is_active, user.capacity, user.password_token_hash) == ("attendant", True, 10, None)
    assert foreign.email not in {r.email for r in users.list_users(db, actor=admin)}


@pytest.mark.parametrize("role", ["supervisor", "attendant"])
def test_every_operation_refuses_non_admins(db, admin, role):
    actor = make_user(db, admin.tenant_id, role)
    target = make_user(db, admin.tenant_id, "attendant")
    attempts = [
        lambda: users.create_user(db, actor=actor, email="h@example.com", name="H", role="attendant"),
        lambda: users.change_role(db, actor=actor, user_id=target.user_id, role="admin"),
        lambda: users.set_active(db, actor=actor, user_id=target.user_id, active=False),
        lambda: users.reset_password(db, actor=actor, user_id=target.user_id),
        lambda: users.set_capacity(db, actor=actor, user_id=target.user_id, capacity=3),
        lambda: audit.list_entries(db, actor=actor),
        lambda: audit.list_actions(db, actor=actor),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
        db.rollback()


def _audit_at(db, tenant_id, action, when, user_id=None):
    row = AuditLog(tenant_id=tenant_id, actor_user_id=user_id, action=action, target_type="user",
                   created_at=when, digest=secrets.token_hex(32))  # no side values: the list copes without them
    db.add(row)
    db.flush()
    return row.id


def test_audit_list_is_newest_first_keyset_paged_filtered_and_of_one_tenant_only(db, admin):
    other_tenant = make_tenant(db)
    base = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    ids = [_audit_at(db, admin.tenant_id, f"user.step{i % 2}", base + dt.timedelta(days=i),
                     admin.user_id if i < 3 else None) for i in range(5)]
    foreign = _audit_at(db, other_tenant.id, "user.step0", base)
    db.commit()
    march = {"since": dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "until": dt.datetime(2026, 4, 1, tzinfo=dt.UTC)}
    first = audit.list_entries(db, actor=admin, limit=2, **march)
    assert [e.id for e in first.entries] == ids[::-1][:2] and first.next_before_id == ids[3]
    second = audit.list_entries(db, actor=admin, limit=2, before_id=first.next_before_id, **march)
    third = audit.list_entries(db, actor=admin, limit=2, before_id=second.next_before_id, **march)
    assert [e.id for e in second.entries + third.entries] == ids[::-1][2:] and third.next_before_id is None
    assert [e.id for e in audit.list_entries(db, actor=admin, action="user.step0").entries] == ids[4::-2]
    assert [e.id for e in audit.list_entries(db, actor=admin, action="user.step").entries] == []  # exact
    family = audit.list_entries(db, actor=admin, action="user.").entries
    assert set(ids) <= {e.id for e in family} and all(e.action.startswith("user.") for e in family)
    assert [e.id for e in audit.list_entries(db, actor=admin, user_id=admin.user_id, **march).entries] == \
        ids[2::-1]
    window = audit.list_entries(db, actor=admin, since=base + dt.timedelta(days=1), until=base + dt.timedelta(days=3))
    assert [e.id for e in window.entries] == [ids[2], ids[1]]
    everything = audit.list_entries(db, actor=admin, limit=100).entries
    assert foreign not in {e.id for e in everything} and {e.id for e in everything} >= set(ids)
    assert "user.step0" in audit.list_actions(db, actor=admin)
    assert audit.list_entries(db, actor=admin, limit=10_000).next_before_id is None  # capped, not refused
