"""Migration 0010 moves the tenant options and the AI settings into the settings registry and back, on PostgreSQL
and SQLite: the values (the API key too, still encrypted) survive upgrade, downgrade and upgrade again."""

import datetime as dt
import json
import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from crm_app import crypto
from crm_app.db import make_engine
from crm_app.migrations import alembic_config
from tests.conftest import create_database, drop_database

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"crm_mig_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    yield url
    drop_database(name)


def _run(engine, sql: str, **params):
    with engine.begin() as conn:
        return conn.execute(text(sql), params).all() if sql.lstrip().upper().startswith("SELECT") else \
            conn.execute(text(sql), params)


def _seed_old_schema(engine) -> None:
    tenant = ("INSERT INTO tenants (id, name, slug, timezone, locale, is_active, created_at, require_2fa_roles, "
              "session_idle_minutes, session_absolute_hours, attendants_edit_any_contact, keep_deleted_message_text) "
              "VALUES (:id, :slug, :slug, 'America/Sao_Paulo', 'pt-BR', true, :now, :roles, :idle, :absolute, "
              ":any_contact, :keep)")
    _run(engine, tenant, id=1, slug="hotel", now=NOW, roles=json.dumps(["supervisor", "admin"]), idle=15, absolute=8,
         any_contact=True, keep=False)
    _run(engine, tenant, id=2, slug="pousada", now=NOW, roles="[]", idle=None, absolute=None, any_contact=False,
         keep=True)
    _run(engine, "INSERT INTO ai_settings (tenant_id, enabled, base_url, model, api_key, timeout_seconds, "
                 "min_confidence, input_cost_per_mtok, output_cost_per_mtok, monthly_budget_usd, system_prompt, "
                 "updated_at) VALUES (1, true, 'https://ai.example/v1', 'gpt-4.1', :key, 20, 0.7, 0.5, 1.5, 12.5, "
                 "'Seja breve.', :now)", key=crypto.encrypt("sk-hotel-secret"), now=NOW)
    _run(engine, "INSERT INTO labels (tenant_id, name, color, created_at) VALUES (1, 'VIP', 'gold', :now)", now=NOW)
    # an install-wide value of a "both" setting, which the old column could not hold per install
    _run(engine, "INSERT INTO setting_values (tenant_id, key, value, updated_at) "
                 "VALUES (NULL, 'security.session_idle_minutes', '45', :now)", now=NOW)


def _values(engine) -> dict:
    query = text("SELECT tenant_id, key, value, secret_value FROM setting_values").columns(value=sa.JSON)
    with engine.connect() as conn:
        return {(t, k): (v, s) for t, k, v, s in conn.execute(query)}


def test_options_move_into_the_registry_and_back(empty_db):
    cfg = alembic_config(empty_db)
    command.upgrade(cfg, "0009")
    engine = make_engine(empty_db)
    try:
        _seed_old_schema(engine)
        command.upgrade(cfg, "0010")

        found = _values(engine)
        secret = found.pop((1, "ai.api_key"))[1]
        assert secret.startswith(crypto.PREFIX) and "sk-hotel" not in secret  # still encrypted at rest
        assert json.loads(crypto.decrypt(secret)) == "sk-hotel-secret"
        assert {key: value for key, (value, _) in found.items()} == {
            (None, "security.session_idle_minutes"): 45,
            (1, "ai.base_url"): "https://ai.example/v1", (1, "ai.enabled"): True,
            (1, "ai.input_cost_per_mtok"): 0.5, (1, "ai.min_confidence"): 0.7, (1, "ai.model"): "gpt-4.1",
            (1, "ai.monthly_budget_usd"): 12.5, (1, "ai.output_cost_per_mtok"): 1.5,
            (1, "ai.system_prompt"): "Seja breve.", (1, "ai.timeout_seconds"): 20.0,
            (1, "channel.keep_deleted_message_text"): False, (1, "security.attendants_edit_any_contact"): True,
            (1, "security.require_2fa_roles"): ["admin", "supervisor"],
            (1, "security.session_absolute_hours"): 8, (1, "security.session_idle_minutes"): 15,
        }  # the pousada held only defaults: it stores nothing and inherits
        history = _run(engine, "SELECT tenant_id, key, old_set, new_set, actor_label FROM setting_changes")
        assert len(history) == 15 and all(r[2] is False or r[2] == 0 for r in history)
        columns = {r[0] for r in _run(engine, "SELECT column_name FROM information_schema.columns WHERE "
                                              "table_name = 'tenants'")} if engine.dialect.name == "postgresql" \
            else {r[1] for r in _run(engine, "PRAGMA table_info(tenants)")}
        assert not columns & {"require_2fa_roles", "session_idle_minutes", "keep_deleted_message_text"}

        assert _run(engine, "SELECT name FROM labels") == [("VIP",)]  # the tenant's other rows untouched

        command.downgrade(cfg, "0009")
        assert _run(engine, "SELECT name FROM labels") == [("VIP",)]
        tenants = _run(engine, "SELECT id, require_2fa_roles, session_idle_minutes, session_absolute_hours, "
                               "attendants_edit_any_contact, keep_deleted_message_text FROM tenants ORDER BY id")
        roles = [json.loads(r[1]) if isinstance(r[1], str) else r[1] for r in tenants]  # SQLite: JSON text
        assert roles == [["admin", "supervisor"], []]
        assert [tuple(r[2:]) for r in tenants] == [(15, 8, True, False), (45, None, False, True)]  # 45: install's
        ai_rows = _run(engine, "SELECT tenant_id, enabled, base_url, model, api_key, timeout_seconds, "
                               "monthly_budget_usd, system_prompt FROM ai_settings")
        assert len(ai_rows) == 1
        tenant_id, enabled, base_url, model, key, timeout, budget, prompt = ai_rows[0]
        assert (tenant_id, bool(enabled), base_url, model, timeout, budget, prompt) == (
            1, True, "https://ai.example/v1", "gpt-4.1", 20.0, 12.5, "Seja breve.")
        assert crypto.decrypt(key) == "sk-hotel-secret"  # the old format again: encrypted plain text
        assert set(_values(engine)) == {(None, "security.session_idle_minutes")}  # the tenant values went back

        command.upgrade(cfg, "head")  # and forward again: the same values
        again = _values(engine)
        assert json.loads(crypto.decrypt(again.pop((1, "ai.api_key"))[1])) == "sk-hotel-secret"
        # the pousada now holds the install's 45 itself: the downgrade wrote it into its column
        assert {k: v for k, (v, _) in again.items()} == {key: value for key, (value, _) in found.items()} | {
            (2, "security.session_idle_minutes"): 45}
    finally:
        engine.dispose()
