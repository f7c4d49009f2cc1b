"""What the customer is told when the bot's handoff gives the conversation to someone at once, and the team's text."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_app.db import session_scope
from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, Team, Tenant, User
from crm_app.services.routing import teams
from tests.factories import make_user
from tests.services.routing.test_assignment import attendants, bot_conversations, bot_texts, hand, team_of
from tests.support.inbox import fresh_tenant, no_leftover_jobs  # noqa: F401  (an autouse fixture)


@pytest.fixture
def place(db):
    tenant, box = fresh_tenant(db)
    return tenant.id, box.id


def _named(db, actor, name: str):
    db.get(User, actor.user_id).name = name
    db.commit()
    return actor


def test_an_at_once_assignment_tells_the_customer_the_attendants_first_name(db, place):
    tenant_id, inbox_id = place
    (ana,) = attendants(db, tenant_id, 1)
    _named(db, ana, "Ana Paula Ribeiro")
    team_id = team_of(db, tenant_id, [ana])
    (cid,) = bot_conversations(db, inbox_id, 1)
    assert hand(tenant_id, cid, team_id, reason="exit_keyword").assignee_id == ana.user_id
    assert bot_texts(db, cid) == ["Já chamei Ana, que vai te responder em instantes."]


def test_the_default_text_is_in_the_tenants_language_and_a_team_may_word_its_own(db, place):
    tenant_id, inbox_id = place
    db.get(Tenant, tenant_id).locale = "en"
    db.commit()
    (bia,) = attendants(db, tenant_id, 1)
    _named(db, bia, "Beatriz")
    first, second = bot_conversations(db, inbox_id, 2)
    hand(tenant_id, first, None)  # no team: every attendant, the catalogue's text
    assert bot_texts(db, first) == ["I've called Beatriz, who will answer you in a moment."]
    team_id = team_of(db, tenant_id, [bia])
    db.get(Team, team_id).assigned_message = "{name} from the front desk is on it ({nome})."
    db.commit()
    hand(tenant_id, second, team_id)
    assert bot_texts(db, second) == ["Beatriz from the front desk is on it (Beatriz)."]


def test_nobody_free_gets_the_queue_position_and_no_assigned_text(db, place):
    tenant_id, inbox_id = place
    team_id = team_of(db, tenant_id, [])
    (cid,) = bot_conversations(db, inbox_id, 1)
    assert hand(tenant_id, cid, team_id).queue_position == 1
    assert bot_texts(db, cid) == ["Você é o 1º da fila. Em breve um atendente vai falar com você."]


def test_the_teams_text_is_admin_only_validated_audited_and_blank_means_the_default(db, place):
    tenant_id, _ = place
    admin, boss = make_user(db, tenant_id, "admin"), make_user(db, tenant_id, "supervisor")
    team_id = team_of(db, tenant_id, [])
    with session_scope() as s:
        detail = teams.set_assigned_message(s, actor=admin, team_id=team_id, message="  Já chamei {nome}!  ")
    assert detail.assigned_message == "Já chamei {nome}!"
    with session_scope() as s, pytest.raises(ValidationError) as too_long:
        teams.set_assigned_message(s, actor=admin, team_id=team_id, message="x" * 1001)
    assert too_long.value.params["field"] == "assigned_message"
    with session_scope() as s, pytest.raises(PermissionDenied):
        teams.set_assigned_message(s, actor=boss, team_id=team_id, message="pwned")
    other, _ = fresh_tenant(db, webhook_inbox=False)
    with session_scope() as s, pytest.raises(NotFound):
        teams.set_assigned_message(s, actor=make_user(db, other.id, "admin"), team_id=team_id, message="pwned")
    with session_scope() as s:
        assert teams.set_assigned_message(s, actor=admin, team_id=team_id, message="   ").assigned_message == ""
    db.expire_all()
    assert db.get(Team, team_id).assigned_message is None
    audits = db.exec(select(AuditLog).where(AuditLog.action == "team.assigned_message",
                                            AuditLog.tenant_id == tenant_id).order_by(AuditLog.id)).all()
    assert [(a.before["assigned_message"], a.after["assigned_message"]) for a in audits] == [
        (None, "Já chamei {nome}!"), ("Já chamei {nome}!", None)]


def test_a_customer_who_waited_hears_who_took_the_conversation_when_the_queue_gives_it(db, place):
    from crm_app.services.routing import presence, queue

    tenant_id, inbox_id = place
    (ana,) = attendants(db, tenant_id, 1, status=None)  # not here yet
    _named(db, ana, "Ana Paula")
    team_id = team_of(db, tenant_id, [ana])
    db.get(Team, team_id).assigned_message = "Pronto: {nome} vai te atender."
    db.commit()
    (cid,) = bot_conversations(db, inbox_id, 1)
    assert hand(tenant_id, cid, team_id).queue_position == 1
    presence.heartbeat(tenant_id, ana.user_id, "online")
    assert queue.assign_waiting(tenant_id) == 1
    assert bot_texts(db, cid) == ["Você é o 1º da fila. Em breve um atendente vai falar com você.",
                                  "Pronto: Ana vai te atender."]
