"""Settings templates: operators only, validated on save (the bad key named), previewed, applied at once."""

from dataclasses import replace

import pytest
from sqlalchemy import text

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.services import settings
from crm_app.services.settings import templates
from tests.factories import make_tenant, make_user

IDLE = "security.session_idle_minutes"
POUSADA = {IDLE: 60, "ai.model": "gpt-4.1-mini", "channel.keep_deleted_message_text": False}


@pytest.fixture
def operator(db):
    return replace(make_user(db, make_tenant(db).id, "admin"), is_platform_operator=True)


def test_only_operators_manage_templates(db, operator):
    admin = make_user(db, make_tenant(db).id, "admin")
    with pytest.raises(PermissionDenied):
        templates.save_template(db, actor=admin, name="Pousada padrão", values=POUSADA)
    with pytest.raises(PermissionDenied):
        templates.list_templates(db, actor=admin)
    row = templates.save_template(db, actor=operator, name="Pousada padrão", values=POUSADA)
    db.commit()
    for call in (lambda: templates.preview(db, actor=admin, template_id=row.id, tenant_id=admin.tenant_id),
                 lambda: templates.apply(db, actor=admin, template_id=row.id, tenant_id=admin.tenant_id),
                 lambda: templates.delete_template(db, actor=admin, template_id=row.id)):
        with pytest.raises(PermissionDenied):
            call()


@pytest.mark.parametrize(("values", "field"), [
    ({IDLE: 60, "nope.unknown": 1}, "nope.unknown"),
    ({IDLE: 2}, IDLE),
    ({"system.trusted_proxies": "10.0.0.0/8"}, "system.trusted_proxies"),
    ({"ai.api_key": "sk-in-a-template"}, "ai.api_key"),
    ({IDLE: None}, IDLE),
])
def test_a_template_with_an_unknown_key_or_a_bad_value_is_refused_naming_the_key(db, operator, values, field):
    with pytest.raises(ValidationError) as caught:
        templates.save_template(db, actor=operator, name="Ruim", values=values)
    assert caught.value.params["field"] == field and field in caught.value.message
    db.commit()
    assert db.exec(text("SELECT count(*) FROM setting_templates")).one()[0] == 0


def test_names_are_unique_and_a_template_can_be_edited_and_deleted(db, operator):
    first = templates.save_template(db, actor=operator, name="Pousada padrão", values=POUSADA, description="x")
    db.commit()
    with pytest.raises(ValidationError) as caught:
        templates.save_template(db, actor=operator, name="Pousada padrão", values={IDLE: 10})
    assert caught.value.params["field"] == "name"
    db.rollback()
    edited = templates.save_template(db, actor=operator, template_id=first.id, name="Pousada", values={IDLE: 10})
    db.commit()
    assert (edited.name, edited.values) == ("Pousada", {IDLE: 10})
    assert [t.name for t in templates.list_templates(db, actor=operator)] == ["Pousada"]
    templates.delete_template(db, actor=operator, template_id=first.id)
    db.commit()
    with pytest.raises(NotFound):
        templates.delete_template(db, actor=operator, template_id=first.id)


def test_preview_shows_the_diff_and_apply_changes_everything_with_the_templates_name(db, operator):
    tenant = make_tenant(db)
    settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 60})
    row = templates.save_template(db, actor=operator, name="Pousada padrão", values=POUSADA)
    db.commit()
    diff = {d.key: d for d in templates.preview(db, actor=operator, template_id=row.id, tenant_id=tenant.id)}
    assert (diff[IDLE].current, diff[IDLE].new, diff[IDLE].changes) == ("60", "60", False)
    assert (diff["ai.model"].current, diff["ai.model"].new, diff["ai.model"].changes) == (
        '"gpt-4o-mini"', '"gpt-4.1-mini"', True)
    assert diff["channel.keep_deleted_message_text"].changes
    changes = templates.apply(db, actor=operator, template_id=row.id, tenant_id=tenant.id)
    db.commit()
    assert sorted(c.key for c in changes) == ["ai.model", "channel.keep_deleted_message_text"]
    assert {c.reason for c in changes} == {"Modelo: Pousada padrão"}
    assert settings.values(None, list(POUSADA), tenant_id=tenant.id) == POUSADA


def test_apply_is_all_or_nothing_when_a_value_no_longer_fits(db, operator):
    tenant = make_tenant(db)
    row = templates.save_template(db, actor=operator, name="Velho", values={"ai.model": "m", IDLE: 60})
    db.commit()
    db.exec(text("UPDATE setting_templates SET \"values\" = '{\"ai.model\": \"m\", \"security.session_idle_minutes\""
                 ": 9999}'"))
    db.commit()
    with pytest.raises(ValidationError) as caught:
        templates.apply(db, actor=operator, template_id=row.id, tenant_id=tenant.id)
    assert caught.value.params["field"] == IDLE
    db.rollback()
    assert settings.value(None, "ai.model", tenant_id=tenant.id) == "gpt-4o-mini"
    with pytest.raises(NotFound):
        templates.apply(db, actor=operator, template_id=row.id, tenant_id=10_000)


def test_apply_writes_only_what_the_preview_calls_a_change(db, operator):
    tenant = make_tenant(db)
    row = templates.save_template(db, actor=operator, name="Quase padrão",
                                  values={IDLE: 30, "ai.model": "gpt-4.1-mini"})  # 30 is the default already
    db.commit()
    diff = {d.key: d.changes for d in templates.preview(db, actor=operator, template_id=row.id, tenant_id=tenant.id)}
    assert diff == {IDLE: False, "ai.model": True}
    changed = templates.apply(db, actor=operator, template_id=row.id, tenant_id=tenant.id)
    db.commit()
    assert [c.key for c in changed] == ["ai.model"]
    assert settings.source(db, IDLE, tenant_id=tenant.id) == "default"  # it keeps following the install
