"""System lines are stored as a code plus parameters and read as sentences in each reader's language."""

from __future__ import annotations

import re

import pytest

from crm_app.services.bot import ai
from crm_app.services.conversations import log
from crm_app.services.inbox import views

SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
# What the bot, its flows and the AI pass as a handoff reason, today and in lines stored before.
KNOWN_REASONS = ["handoff", "menu", "exit_keyword", "dead_end", "max_retries", "flow_changed", "flow", "loop",
                 "bad_node", "inactivity", "out_of_hours", *ai.OUTCOMES, *(f"ai_{o}" for o in ai.OUTCOMES)]
LANGUAGES = ("pt-BR", "en")


def handoff_line(lang: str, reason: str, team: str = "Vendas") -> str:
    return log.render_line(lang, "America/Sao_Paulo", "assignment.system.handoff", {"team": team, "reason": reason})


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("reason", KNOWN_REASONS)
def test_every_known_reason_reads_as_words(lang, reason):
    line = handoff_line(lang, reason)
    assert line and not SNAKE_CASE.search(line), line
    assert log.describe_reason(lang, reason) != reason


@pytest.mark.parametrize("reason", KNOWN_REASONS)
def test_each_reason_has_its_own_words_in_each_language(reason):
    assert log.describe_reason("pt-BR", reason) != log.describe_reason("en", reason)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_flow_authors_reason_is_shown_as_typed(lang):
    assert "Cliente VIP" in handoff_line(lang, "Cliente VIP")
    assert "cliente_vip" in handoff_line(lang, "cliente_vip")  # the author's words, even shaped like a code


def test_no_team_reads_as_a_word():
    assert "equipe: nenhuma" in handoff_line("pt-BR", "menu", team=log.NO_TEAM)
    assert "team: none" in handoff_line("en", "menu", team=log.NO_TEAM)


def test_a_stored_line_with_a_code_is_rendered_for_each_reader():
    payload = {"system": {"key": "assignment.system.handoff", "params": {"team": "-", "reason": "ai_low_confidence"}}}
    pt = views.system_text("pt-BR", "America/Sao_Paulo", payload)
    en = views.system_text("en", "America/Sao_Paulo", payload)
    assert pt == ("O bot transferiu a conversa para atendimento humano "
                  "(equipe: nenhuma; motivo: a IA não teve confiança na resposta)")
    assert en == ("The bot handed the conversation to a person "
                  "(team: none; reason: the AI was not confident in its answer)")


def test_a_line_whose_parameters_do_not_fit_falls_back_to_the_stored_body():
    assert views.system_text("en", "UTC", {"system": {"key": "inbox.system.take_over", "params": {}}}) is None
    assert views.system_text("en", "UTC", {"content": {}}) is None


@pytest.mark.parametrize("params", [{"actor": "Ana", "until": "not a date"}, {"actor": "Ana", "until": 123}, "junk"])
def test_a_stored_line_that_no_longer_fits_shows_its_body(params):
    payload = {"system": {"key": "inbox.system.snooze", "params": params}}
    assert views.system_text("pt-BR", "UTC", payload) is None


def test_a_line_that_does_not_fit_its_parameters_fails_the_change():
    with pytest.raises(ValueError, match="inbox.system.transfer"):
        log._stored_body("UTC", "inbox.system.transfer", {"actor": "Ana"})
