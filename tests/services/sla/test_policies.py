"""SLA policies: who may manage them, what is refused, the one default, audit rows, and which one applies."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.models import AuditLog, Contact, ConversationLabel, Label, SlaPolicy, Team
from crm_app.services import sla
from tests.factories import make_conversation, make_inbox, make_tenant, make_user


@pytest.fixture
def shop(db):
    tenant = make_tenant(db)
    supervisor = make_user(db, tenant.id, "supervisor")
    inbox = make_inbox(db, tenant.id)
    team = Team(tenant_id=tenant.id, name="Vendas")
    label = Label(tenant_id=tenant.id, name="vip")
    db.add_all([team, label])
    db.commit()
    return supervisor, inbox, team, label


def test_supervisors_and_admins_manage_attendants_do_not(db, shop):
    supervisor, *_ = shop
    admin = make_user(db, supervisor.tenant_id, "admin")
    attendant = make_user(db, supervisor.tenant_id, "attendant")
    created = sla.create_policy(db, actor=supervisor, name="Ouro", first_response_minutes=15)
    sla.create_policy(db, actor=admin, name="Padrão", is_default=True, resolution_minutes="480")
    db.commit()
    assert [(p.name, p.position) for p in sla.list_policies(db, actor=admin)] == [("Ouro", 0), ("Padrão", 1)]
    with pytest.raises(PermissionDenied):
        sla.list_policies(db, actor=attendant)
    with pytest.raises(PermissionDenied):
        sla.update_policy(db, actor=attendant, policy_id=created.id, enabled=False)


def test_another_tenants_policy_is_not_found(db, shop):
    supervisor, *_ = shop
    policy = sla.create_policy(db, actor=supervisor, name="Ouro")
    db.commit()
    other = make_user(db, make_tenant(db).id, "admin")
    for call in (lambda: sla.get_policy(db, actor=other, policy_id=policy.id),
                 lambda: sla.update_policy(db, actor=other, policy_id=policy.id, name="x"),
                 lambda: sla.delete_policy(db, actor=other, policy_id=policy.id)):
        with pytest.raises(NotFound):
            call()


@pytest.mark.parametrize(("fields", "field"), [
    ({"first_response_minutes": 0}, "first_response_minutes"),
    ({"resolution_minutes": "duas horas"}, "resolution_minutes"),
    ({"conditions": [{"kind": "weather", "value": 1}]}, "conditions"),
    ({"conditions": [{"kind": "attribute", "key": "plano", "value": ""}]}, "conditions"),
    ({"escalation": [{"action": "reassign_user"}]}, "escalation"),
    ({"escalation": [{"action": "notify_supervisor", "after_minutes": 30},
                     {"action": "raise_priority", "after_minutes": 10}]}, "escalation"),
    ({"business_hours_only": "yes"}, "business_hours_only"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_names_its_field(db, shop, fields, field):
    supervisor, *_ = shop
    with pytest.raises(ValidationError) as caught:
        sla.create_policy(db, actor=supervisor, name="Ouro", **fields)
    assert caught.value.params["field"] == field


def test_conditions_may_only_name_the_tenants_own_rows(db, shop):
    supervisor, inbox, team, _ = shop
    foreign_tenant = make_tenant(db)
    foreign = make_inbox(db, foreign_tenant.id)
    with pytest.raises(ValidationError, match=f"WhatsApp number {foreign.id} not found"):
        sla.create_policy(db, actor=supervisor, name="Ouro", conditions=[{"kind": "number", "value": foreign.id}])
    outsider = make_user(db, foreign_tenant.id, "attendant")
    with pytest.raises(ValidationError, match="person"):
        sla.create_policy(db, actor=supervisor, name="Ouro",
                          escalation=[{"action": "reassign_user", "user_id": outsider.user_id}])
    ok = sla.create_policy(db, actor=supervisor, name="Ouro", conditions=[
        {"kind": "number", "value": inbox.id}, {"kind": "team", "value": team.id}])
    assert len(ok.conditions) == 2


def test_one_default_names_are_unique_and_changes_are_audited(db, shop):
    supervisor, *_ = shop
    first = sla.create_policy(db, actor=supervisor, name="Padrão", is_default=True)
    second = sla.create_policy(db, actor=supervisor, name="Novo padrão", is_default=True)
    db.commit()
    defaults = db.exec(select(SlaPolicy.id).where(SlaPolicy.tenant_id == supervisor.tenant_id,
                                                  SlaPolicy.is_default)).all()
    assert defaults == [second.id]
    with pytest.raises(ValidationError, match="already exists"):
        sla.update_policy(db, actor=supervisor, policy_id=first.id, name="novo PADRÃO")
    sla.update_policy(db, actor=supervisor, policy_id=first.id, next_response_minutes=30)
    sla.delete_policy(db, actor=supervisor, policy_id=second.id)
    db.commit()
    actions = db.exec(select(AuditLog.action).where(AuditLog.tenant_id == supervisor.tenant_id,
                                                    AuditLog.target_type == "sla_policy").order_by(AuditLog.id)).all()
    assert actions == ["sla_policy.create", "sla_policy.create", "sla_policy.update", "sla_policy.delete"]


def test_the_first_matching_policy_wins_then_the_default(db, shop):
    supervisor, inbox, team, label = shop
    conversation = make_conversation(db, inbox.id)
    db.get(Contact, conversation.contact_id).custom_attributes = {"plano": "Ouro "}
    default = sla.create_policy(db, actor=supervisor, name="Padrão", is_default=True, position=0)
    by_label = sla.create_policy(db, actor=supervisor, name="VIP", position=5,
                                 conditions=[{"kind": "label", "value": label.id}])
    by_plan = sla.create_policy(db, actor=supervisor, name="Plano ouro", position=7,
                                conditions=[{"kind": "attribute", "key": "plano", "value": "ouro"}])
    both = sla.create_policy(db, actor=supervisor, name="Vendas no número", position=9,
                             conditions=[{"kind": "team", "value": team.id}, {"kind": "number", "value": inbox.id}])
    db.commit()
    assert sla.policy_for(db, conversation).id == by_plan.id
    db.add(ConversationLabel(tenant_id=conversation.tenant_id, conversation_id=conversation.id, label_id=label.id))
    db.flush()
    assert sla.policy_for(db, conversation).id == by_label.id  # lower position tried first
    sla.update_policy(db, actor=supervisor, policy_id=by_label.id, enabled=False)
    conversation.team_id = team.id
    assert sla.policy_for(db, conversation).id == by_plan.id
    sla.update_policy(db, actor=supervisor, policy_id=by_plan.id, position=20)
    assert sla.policy_for(db, conversation).id == both.id
    conversation.team_id = None  # all of a policy's conditions must hold
    assert sla.policy_for(db, conversation).id == by_plan.id
    db.get(Contact, conversation.contact_id).custom_attributes = {"plano": "prata"}
    db.flush()
    assert sla.policy_for(db, conversation).id == default.id
    sla.delete_policy(db, actor=supervisor, policy_id=default.id)
    db.flush()
    assert sla.policy_for(db, conversation) is None
