"""/settings/numbers' state as a logged-in admin's tab: the words it shows, per-field errors, secrets never in it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

import pages  # noqa: F401  (registers every page and its states)
from crm_app.models import User
from crm_app.services.access import sessions
from crm_app.state.settings_numbers import NumbersSettingsState
from tests.factories import make_inbox, make_tenant, make_user
from tests.support.isolation import fresh_state, run_handler

SECRETS = ("EAAG-plain-access-token", "plain-app-secret", "plain-verify-token")


@pytest.fixture
def tab(db):
    tenant = make_tenant(db)
    admin = make_user(db, tenant.id, "admin")
    cookie = sessions.open_session(db, user=db.get(User, admin.user_id), ip="127.0.0.1")
    db.commit()
    inbox = make_inbox(db, tenant.id, name="Recepção", display_number="+55 11 4000-0099")
    _root, state = fresh_state(NumbersSettingsState, cookie)
    return state, inbox


async def _run(state, name, *args):
    return await run_handler(state, name, args)


def _set(db, inbox_id: int, **values) -> None:
    assignments = ", ".join(f"{k} = :{k}" for k in values)
    db.execute(text(f"UPDATE inboxes SET {assignments}, last_verified_at = now() WHERE id = :id"),
               {**values, "id": inbox_id})
    db.commit()


async def test_quality_tier_and_verification_are_shown_in_words_per_language(db, tab):
    state, inbox = tab
    await _run(state, "load")
    [row] = state.number_rows
    assert (row["quality"], row["quality_label"], row["tier_label"], row["verify_state"]) == (
        "", "Ainda não verificada", "Ainda não verificado", "never")
    assert state.webhook_url.endswith("/api/whatsapp/webhook")
    _set(db, inbox.id, quality_rating="YELLOW", messaging_limit="TIER_2K", last_verify_ok=True,
         verified_name="Pousada Azul")
    await _run(state, "load")
    [row] = state.number_rows
    assert (row["quality"], row["quality_label"], row["tier_label"]) == ("YELLOW", "Média", "2.000 conversas/dia")
    assert row["verify_state"] == "ok" and row["verify_text"].startswith("Verificado em ")
    assert row["verify_text"].endswith(": Pousada Azul")
    state.lang = "en"
    _set(db, inbox.id, messaging_limit="TIER_UNLIMITED", last_verify_ok=False, last_verify_error_code=190,
         last_verify_error="Error validating access token")
    await _run(state, "load")
    [row] = state.number_rows
    assert row["tier_label"] == "Unlimited" and row["verify_state"] == "error"
    assert "The access token has expired or is invalid" in row["verify_text"]
    state.lang = "pt-BR"
    _set(db, inbox.id, messaging_limit="TIER_100K", last_verify_error_code=131031, last_verify_error="locked")
    await _run(state, "load")
    [row] = state.number_rows
    assert row["tier_label"] == "100.000 conversas/dia"
    assert "A Meta recusou (código 131031): A conta do WhatsApp Business foi bloqueada" in row["verify_text"]


async def test_a_bad_field_shows_its_message_under_it_and_the_form_stays_open(db, tab):
    state, inbox = tab
    await _run(state, "load")
    await _run(state, "open_new")
    for name, value in {"display_number": "+55 11 4000-0777", "phone_number_id": inbox.phone_number_id,
                        "waba_id": "200000000000777", "access_token": "t", "app_secret": "s",
                        "verify_token": "v"}.items():
        await _run(state, "set_field", name, value)
    await _run(state, "save")
    assert state.form_open and list(state.errors) == ["phone_number_id"]
    assert "já está conectado nesta instalação" in state.errors["phone_number_id"]
    await _run(state, "set_field", "phone_number_id", "100000000000777")
    assert state.errors == {}
    await _run(state, "save")
    assert not state.form_open and state.form["access_token"] == ""
    assert {r["phone_number_id"] for r in state.number_rows} == {inbox.phone_number_id, "100000000000777"}


async def test_editing_never_puts_a_secret_in_the_tab(db, tab):
    state, inbox = tab
    await _run(state, "load")
    await _run(state, "open_edit", str(inbox.id))
    assert state.form["phone_number_id"] == inbox.phone_number_id
    assert all(state.form[f] == "" for f in ("access_token", "app_secret", "verify_token"))
    await _run(state, "set_field", "name", "Reservas")
    await _run(state, "save")
    assert [r["name"] for r in state.number_rows] == ["Reservas"]
    everything = json.dumps({k: getattr(state, k) for k in state.base_vars}, default=repr, ensure_ascii=False)
    assert not any(secret in everything for secret in SECRETS)
    assert "••••••oken" in everything  # only the verify token's hint
