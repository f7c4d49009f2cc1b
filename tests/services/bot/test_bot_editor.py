"""The flow editor's composed use cases: choices, a flow with its versions, and save-then-publish."""

from __future__ import annotations

import pytest

from crm_app.errors import PermissionDenied, ValidationError
from crm_app.services import bot
from tests.factories import make_user
from tests.support.inbox import fresh_tenant

FLOW = {"start": "hi", "nodes": {"hi": {"type": "close", "text": "Bye"}},
        "triggers": {"new_conversation": True, "keywords": []}, "settings": {}}


def test_choices_and_the_flow_with_its_versions(db):
    tenant, box = fresh_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    choices = bot.editor_choices(db, actor=admin)
    assert [i.id for i in choices.inboxes] == [box.id] and choices.teams == []
    editor = bot.get_flow_editor(db, actor=admin, inbox_id=box.id)
    assert editor.flow.published_version == 0 and editor.versions == []
    with pytest.raises(PermissionDenied):
        bot.get_flow_editor(db, actor=make_user(db, tenant.id, "attendant"), inbox_id=box.id)


def test_save_and_publish_keeps_a_refused_draft_saved(db):
    tenant, box = fresh_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    broken = {**FLOW, "start": "ghost"}
    refused = bot.save_and_publish(db, actor=admin, inbox_id=box.id, definition=broken)
    assert refused.version is None and refused.problems[0].code == "missing_start"
    assert bot.get_flow(db, actor=admin, inbox_id=box.id).draft["start"] == "ghost"
    done = bot.save_and_publish(db, actor=admin, inbox_id=box.id, definition=FLOW)
    assert done.version.version == 1 and done.problems == []
    assert [v.version for v in bot.get_flow_editor(db, actor=admin, inbox_id=box.id).versions] == [1]
    with pytest.raises(ValidationError):
        bot.save_and_publish(db, actor=admin, inbox_id=box.id, definition=["not", "a", "flow"])
