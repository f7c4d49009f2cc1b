"""Settings history, rollback (itself recorded, refused when the old value no longer fits) and `describe`."""

from dataclasses import replace

import pytest
from sqlalchemy import text

from crm_app.errors import NotFound, PermissionDenied, ValidationError
from crm_app.services import settings
from tests.factories import make_tenant, make_user

IDLE = "security.session_idle_minutes"
ABSOLUTE = "security.session_absolute_hours"


def test_history_lists_who_when_old_new_and_reason_newest_first(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 45}, reason="mais tempo")
    db.commit()
    settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 20, "ai.model": "gpt-4.1"})
    db.commit()
    rows = settings.history(db, actor=admin, tenant_id=tenant.id)
    assert [(r.key, r.old_display, r.new_display, r.reason) for r in rows] == [
        ("ai.model", None, '"gpt-4.1"', None), (IDLE, "45", "20", None), (IDLE, None, "45", "mais tempo")]
    assert all(r.actor_label == admin.label and r.actor_user_id == admin.user_id for r in rows)
    assert [r.key for r in settings.history(db, actor=admin, tenant_id=tenant.id, key="ai.model")] == ["ai.model"]
    assert len(settings.history(db, actor=admin, tenant_id=tenant.id, limit=1)) == 1


def test_history_is_for_the_tenants_admins_and_the_global_one_for_operators(db):
    tenant, other = make_tenant(db), make_tenant(db)
    with pytest.raises(PermissionDenied):
        settings.history(db, actor=make_user(db, tenant.id, "attendant"), tenant_id=tenant.id)
    with pytest.raises(NotFound):
        settings.history(db, actor=make_user(db, other.id, "admin"), tenant_id=tenant.id)
    with pytest.raises(PermissionDenied):
        settings.history(db, actor=make_user(db, tenant.id, "admin"), tenant_id=None)
    operator = replace(make_user(db, other.id, "admin"), is_platform_operator=True)
    assert settings.history(db, actor=operator, tenant_id=None) == []
    assert settings.history(db, actor=operator, tenant_id=tenant.id) == []


def test_rollback_restores_the_old_value_and_is_itself_recorded(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    first = settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 45})[0]
    db.commit()
    second = settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 20})[0]
    db.commit()
    undo = settings.rollback(db, actor=admin, change_id=second.id, reason="voltou")
    db.commit()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 45
    assert (undo[0].old_display, undo[0].new_display, undo[0].rollback_of, undo[0].reason) == ("20", "45",
                                                                                              second.id, "voltou")
    settings.rollback(db, actor=admin, change_id=first.id)  # before the first change: no value, inherit
    db.commit()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 30
    assert settings.source(None, IDLE, tenant_id=tenant.id) == "default"
    assert [r.rollback_of for r in settings.history(db, actor=admin, tenant_id=tenant.id)][:2] == [first.id, second.id]


def test_rollback_of_a_secret_puts_the_old_secret_back(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    settings.update(db, actor=admin, tenant_id=tenant.id, changes={"ai.api_key": "sk-old"})
    db.commit()
    change = settings.update(db, actor=admin, tenant_id=tenant.id, changes={"ai.api_key": "sk-new"})[0]
    db.commit()
    settings.rollback(db, actor=admin, change_id=change.id)
    db.commit()
    assert settings.value(None, "ai.api_key", tenant_id=tenant.id) == "sk-old"


def test_rollback_of_a_value_whose_type_changed_since_is_refused_with_the_reason(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    change = settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 45})[0]
    db.commit()
    db.exec(text("UPDATE setting_changes SET old_set = true, old_value = '\"half an hour\"' WHERE id = :id")
            .bindparams(id=change.id))
    db.commit()
    with pytest.raises(ValidationError) as caught:
        settings.rollback(db, actor=admin, change_id=change.id)
    assert "type changed since" in caught.value.message and caught.value.params["field"] == IDLE
    db.rollback()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 45
    assert db.exec(text("SELECT count(*) FROM setting_changes")).one()[0] == 1


def test_rollback_of_another_tenants_change_is_not_found_and_attendants_are_refused(db):
    tenant, other = make_tenant(db), make_tenant(db)
    change = settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 45})[0]
    db.commit()
    with pytest.raises(NotFound):
        settings.rollback(db, actor=make_user(db, other.id, "admin"), change_id=change.id)
    with pytest.raises(NotFound):
        settings.rollback(db, actor=make_user(db, tenant.id, "admin"), change_id=change.id + 1000)
    with pytest.raises(PermissionDenied):
        settings.rollback(db, actor=make_user(db, tenant.id, "attendant"), change_id=change.id)


def test_a_global_change_is_rolled_back_by_platform_operators_only(db):
    tenant = make_tenant(db)
    change = settings.update(db, actor=None, tenant_id=None, changes={IDLE: 45})[0]
    db.commit()
    with pytest.raises(PermissionDenied):
        settings.rollback(db, actor=make_user(db, tenant.id, "admin"), change_id=change.id)
    db.rollback()
    assert settings.value(None, IDLE, tenant_id=tenant.id) == 45
    operator = replace(make_user(db, tenant.id, "admin"), is_platform_operator=True)
    [undo] = settings.rollback(db, actor=operator, change_id=change.id, reason="política antiga")
    db.commit()
    assert (undo.tenant_id, undo.rollback_of, undo.actor_user_id) == (None, change.id, operator.user_id)
    assert settings.source(None, IDLE, tenant_id=tenant.id) == "default"


def test_idle_timeout_may_not_pass_the_session_length_whatever_scope_holds_them(db):
    tenant = make_tenant(db)
    settings.update(db, actor=None, tenant_id=tenant.id, changes={ABSOLUTE: 2})
    db.commit()
    with pytest.raises(ValidationError) as caught:
        settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 121})
    assert caught.value.params["field"] == IDLE
    settings.update(db, actor=None, tenant_id=tenant.id, changes={IDLE: 120})
    db.commit()
    with pytest.raises(ValidationError):
        settings.update(db, actor=None, tenant_id=tenant.id, changes={ABSOLUTE: 1})


def test_describe_gives_values_sources_and_field_shapes_and_never_a_secret(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    settings.update(db, actor=None, tenant_id=None, changes={"channel.keep_deleted_message_text": False})
    settings.update(db, actor=admin, tenant_id=tenant.id, changes={IDLE: 45, "ai.api_key": "sk-hidden"})
    db.commit()
    views = {v.key: v for v in settings.describe(db, actor=admin, tenant_id=tenant.id)}
    assert "system.trusted_proxies" not in views  # install-wide only
    assert (views[IDLE].value, views[IDLE].source, views[IDLE].kind, views[IDLE].minimum) == (45, "tenant",
                                                                                            "integer", 5)
    keep = views["channel.keep_deleted_message_text"]
    assert (keep.value, keep.source, keep.kind, keep.default) == (False, "global", "switch", True)
    key = views["ai.api_key"]
    assert (key.value, key.configured, key.secret, key.default) == (None, True, True, None)
    assert "sk-hidden" not in repr(views)
    assert views["security.require_2fa_roles"].choices == ("admin", "supervisor", "attendant")
    # Everything but what its own page sets (the SMTP values, after a login to the server) and the bot cap that
    # protects the other tenants (operators only) is editable here.
    assert {k for k, v in views.items() if not v.editable} == \
        {k for k in views if k.startswith("mail.")} | {"system.bot_tenant_concurrency"}
    operator = replace(admin, is_platform_operator=True)
    global_views = {v.key for v in settings.describe(db, actor=operator, tenant_id=None)}
    assert "system.trusted_proxies" in global_views and "ai.model" not in global_views


def test_field_shapes_follow_the_type():
    from typing import Literal

    from crm_app.services.settings import SettingSpec
    from crm_app.services.settings.views import field_shape

    select = SettingSpec("mail.smtp_security", Literal["starttls", "tls", "none"], "starttls", "notification", "both")
    assert field_shape(select) == {"kind": "select", "choices": ("starttls", "tls", "none")}
    assert field_shape(SettingSpec("mail.cc", list[str], [], "notification", "both"))["kind"] == "list"
    assert field_shape(SettingSpec("mail.on", bool, False, "notification", "both")) == {"kind": "switch"}


def test_a_rollback_of_a_value_set_on_its_own_page_says_so(db):
    from crm_app.services.mail import smtp_settings

    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    [change] = settings.update(db, actor=admin, changes={"mail.from_name": "Pousada Sol"}, tenant_id=tenant.id,
                               checked_on=smtp_settings.PAGE)
    db.commit()
    [undo] = settings.update(db, actor=admin, changes={"mail.from_name": None}, tenant_id=tenant.id)
    db.commit()
    with pytest.raises(ValidationError) as caught:
        settings.rollback(db, actor=admin, change_id=undo.id)
    assert caught.value.params["problems"]["mail.from_name"]["type"] == "own_page"
    assert change.key == "mail.from_name"
