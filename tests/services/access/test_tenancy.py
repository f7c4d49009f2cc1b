"""A user of tenant A can neither read nor change tenant B's objects: not found."""

import pytest

from crm_app.errors import NotFound, PermissionDenied
from crm_app.services.access import users
from crm_app.services.channel import numbers
from crm_app.services.routing import teams
from tests.factories import make_inbox, make_tenant, make_user


@pytest.fixture
def two_tenants(db):
    a, b = make_tenant(db), make_tenant(db)
    admin_a = make_user(db, a.id, "admin")
    admin_b = make_user(db, b.id, "admin")
    attendant_b = make_user(db, b.id, "attendant")
    inbox_b = make_inbox(db, b.id)
    team_b = teams.create_team(db, actor=admin_b, name="Vendas")
    db.commit()
    return admin_a, admin_b, attendant_b, inbox_b, team_b


def test_reads_across_tenants_are_not_found(db, two_tenants):
    admin_a, _, attendant_b, inbox_b, _ = two_tenants
    with pytest.raises(NotFound):
        users.get_user(db, actor=admin_a, user_id=attendant_b.user_id)
    with pytest.raises(NotFound):
        numbers.get_inbox(db, actor=admin_a, inbox_id=inbox_b.id)
    assert attendant_b.email not in {u.email for u in users.list_users(db, actor=admin_a)}
    assert inbox_b.id not in {i.id for i in numbers.list_inboxes(db, actor=admin_a)}


def test_writes_across_tenants_are_not_found_and_change_nothing(db, two_tenants):
    admin_a, admin_b, attendant_b, inbox_b, team_b = two_tenants
    attempts = [
        lambda: users.change_role(db, actor=admin_a, user_id=attendant_b.user_id, role="admin"),
        lambda: users.set_active(db, actor=admin_a, user_id=attendant_b.user_id, active=False),
        lambda: numbers.rename_inbox(db, actor=admin_a, inbox_id=inbox_b.id, name="hijacked"),
        lambda: teams.add_member(db, actor=admin_a, team_id=team_b.id, user_id=admin_a.user_id),
        lambda: users.ensure_user(db, actor=admin_a, tenant_id=admin_b.tenant_id, email="x@example.com",
                                  name="X", role="admin", password="long-enough-1"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
        db.rollback()
    row = users.get_user(db, actor=admin_b, user_id=attendant_b.user_id)
    assert row.role == "attendant" and row.is_active
    assert numbers.get_inbox(db, actor=admin_b, inbox_id=inbox_b.id).name == "Recepção"
    assert teams.list_teams(db, actor=admin_b)[0].member_count == 0


def test_a_missing_id_gets_the_same_answer_as_a_foreign_one(db, two_tenants):
    admin_a, _, attendant_b, _, _ = two_tenants
    with pytest.raises(NotFound) as foreign:
        users.get_user(db, actor=admin_a, user_id=attendant_b.user_id)
    with pytest.raises(NotFound) as missing:
        users.get_user(db, actor=admin_a, user_id=999_999)
    assert foreign.value.message == missing.value.message


def test_roles_are_checked_inside_the_services(db, two_tenants):
    _, admin_b, attendant_b, _, _ = two_tenants
    with pytest.raises(PermissionDenied):
        users.list_users(db, actor=attendant_b)
    with pytest.raises(PermissionDenied):
        users.change_role(db, actor=attendant_b, user_id=attendant_b.user_id, role="admin")
    with pytest.raises(PermissionDenied):
        teams.create_team(db, actor=attendant_b, name="Nope")
    with pytest.raises(PermissionDenied):
        users.change_role(db, actor=admin_b, user_id=admin_b.user_id, role="attendant")


def test_admin_changes_are_audited_in_the_same_transaction(db, two_tenants):
    from sqlmodel import select

    from crm_app.models import AuditLog

    _, admin_b, attendant_b, _, _ = two_tenants
    users.change_role(db, actor=admin_b, user_id=attendant_b.user_id, role="supervisor")
    db.rollback()  # the change and its audit row go together
    assert users.get_user(db, actor=admin_b, user_id=attendant_b.user_id).role == "attendant"
    assert db.exec(select(AuditLog).where(AuditLog.action == "user.role_change")).all() == []
    users.change_role(db, actor=admin_b, user_id=attendant_b.user_id, role="supervisor")
    db.commit()
    log = db.exec(select(AuditLog).where(AuditLog.action == "user.role_change")).one()
    assert (log.before, log.after, log.tenant_id) == ({"role": "attendant"}, {"role": "supervisor"},
                                                       admin_b.tenant_id)
