"""The read models a settings page loads in one call: what the separate reads gave, of the actor's tenant only."""

from __future__ import annotations

import pytest

from crm_app.errors import NotFound, PermissionDenied
from crm_app.services import access, bot, channel, routing
from crm_app.services.access import logins
from crm_app.services.core import audit
from tests.factories import PASSWORD, make_tenant, make_user


@pytest.fixture
def tenant(db):
    return make_tenant(db)


@pytest.fixture
def admin(db, tenant):
    return make_user(db, tenant.id, "admin")


@pytest.fixture
def other_admin(db):
    return make_user(db, make_tenant(db).id, "admin")


def test_account_overview_is_the_account_and_its_own_sessions(db, admin, other_admin):
    token, _ = logins.authenticate(db, email=admin.email, password=PASSWORD, ip="203.0.113.7")
    logins.authenticate(db, email=other_admin.email, password=PASSWORD, ip="203.0.113.8")
    db.commit()
    overview = access.account_overview(db, actor=admin, current_token=token)
    assert overview.info == access.account_info(db, actor=admin)
    assert overview.sessions == access.list_sessions(db, actor=admin, current_token=token)
    assert [s.current for s in overview.sessions] == [True]  # the other tenant's session is not listed


def test_audit_log_overview_has_the_filter_choices_and_the_first_page(db, admin, other_admin):
    routing.create_team(db, actor=admin, name="Vendas")
    routing.create_team(db, actor=other_admin, name="Outro")
    db.commit()
    overview = access.audit_log_overview(db, actor=admin, limit=1)
    assert overview.actions == audit.list_actions(db, actor=admin)
    assert [u.id for u in overview.users] == [admin.user_id]
    assert overview.page == audit.list_entries(db, actor=admin, limit=1)
    assert all(e.actor_label != other_admin.name for e in overview.page.entries)
    only = access.audit_log_overview(db, actor=admin, user_id=other_admin.user_id)
    assert only.page.entries == []  # filters reach the entries


def test_audit_log_overview_is_for_admins(db, tenant):
    with pytest.raises(PermissionDenied):
        access.audit_log_overview(db, actor=make_user(db, tenant.id, "supervisor"))


def test_settings_overview_lists_the_tenants_rows(db, tenant, admin, other_admin):
    access.create(db, actor=admin, name="Integração", scopes=["conversations:read"], user_id=admin.user_id)
    db.commit()
    overview = channel.settings_overview(db, actor=admin)
    assert overview.users == access.list_users(db, actor=admin)
    assert [t.name for t in overview.tokens] == ["Integração"]
    assert overview.dead_events == channel.list_dead_events(db, actor=admin)
    assert overview.unsupported == channel.list_unsupported(db, actor=admin)


def test_settings_overview_is_for_admins(db, tenant):
    with pytest.raises(PermissionDenied):
        channel.settings_overview(db, actor=make_user(db, tenant.id, "supervisor"))


def test_teams_overview_shows_the_chosen_team_or_else_the_first(db, tenant, admin, other_admin):
    sales = routing.create_team(db, actor=admin, name="Vendas")
    support = routing.create_team(db, actor=admin, name="Atendimento")
    foreign = routing.create_team(db, actor=other_admin, name="Outro")
    attendant = make_user(db, tenant.id, "attendant")
    routing.add_member(db, actor=admin, team_id=sales.id, user_id=attendant.user_id)
    db.commit()
    chosen = routing.teams_overview(db, actor=admin, team_id=sales.id)
    assert chosen.teams == routing.list_teams(db, actor=admin)
    assert chosen.selected.detail == routing.team_detail(db, actor=admin, team_id=sales.id)
    assert chosen.selected.candidates == routing.candidates(db, actor=admin, team_id=sales.id)
    assert attendant.user_id not in [i for i, _ in chosen.selected.candidates]
    first = routing.teams_overview(db, actor=admin, team_id=foreign.id)  # not listed: the first team instead
    assert first.selected.detail.id == support.id  # "Atendimento" sorts first
    assert routing.teams_overview(db, actor=admin).selected.detail.id == support.id


def test_a_tenant_with_no_team_selects_none(db, admin):
    assert routing.teams_overview(db, actor=admin, team_id=None) == routing.TeamsOverview([], None)


def test_team_view_of_another_tenants_team_is_not_found(db, admin, other_admin):
    foreign = routing.create_team(db, actor=other_admin, name="Outro")
    db.commit()
    with pytest.raises(NotFound):
        routing.team_view(db, actor=admin, team_id=foreign.id)


def test_knowledge_overview_is_the_settings_the_usage_and_the_entries(db, admin, other_admin):
    bot.create_entry(db, actor=admin, title="Wi-Fi", content="A senha está na recepção.", tags=["wifi"])
    bot.create_entry(db, actor=admin, title="Estacionamento", content="R$ 45 a diária.", tags=["garagem"])
    bot.create_entry(db, actor=other_admin, title="Segredo", content="De outro tenant.")
    db.commit()
    overview = bot.knowledge_overview(db, actor=admin)
    assert overview.settings == bot.get_ai_settings(db, actor=admin)
    assert overview.usage == bot.month_usage(db, actor=admin)
    assert sorted(e.title for e in overview.entries) == ["Estacionamento", "Wi-Fi"]
    assert [e.title for e in bot.knowledge_overview(db, actor=admin, query="wifi").entries] == ["Wi-Fi"]


def test_knowledge_overview_is_for_admins(db, tenant):
    with pytest.raises(PermissionDenied):
        bot.knowledge_overview(db, actor=make_user(db, tenant.id, "attendant"))
