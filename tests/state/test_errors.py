"""`@toast_errors` and the backend exception handler: our errors become catalogue toasts; anything else is logged
with a request id, the tenant and the user (never the exception's message) and shown as a sentence quoting that id.

The handlers are methods of a plain class (not a State), so no test-only state joins the app's state tree.
"""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import re

import pytest

from crm_app.errors import NotFound, PermissionDenied
from crm_app.i18n import DEFAULT_LANGUAGE, translate
from crm_app.state.errors import backend_exception_handler, current_ids, toast_errors

SECRET = "Maria +5511999998888 said hi"  # what an exception message may quote: it must never reach the log


def _text(spec) -> str:
    """The toast's text: the string argument Reflex keeps next to the JS it renders."""
    found = re.findall(r"""_args=\(('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"),\)""", repr(spec))
    assert found, f"no toast text in {spec!r}"
    return ast.literal_eval(found[-1])


def _shows(spec, text: str) -> bool:
    rendered = repr(spec)
    escaped = json.dumps(text)[1:-1]
    return any(form in rendered for form in (text, escaped, escaped.replace("\\", "\\\\")))


class _Tab:
    """Stands in for a state: `@toast_errors` only reads `lang`."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self.progress: list[str] = []

    @toast_errors
    def plain(self, exc: Exception | None):
        if exc:
            raise exc
        return "done"

    @toast_errors
    def generator(self, exc: Exception):
        self.progress.append("busy")
        yield "step"
        raise exc

    @toast_errors
    async def coroutine(self, exc: Exception):
        await asyncio.sleep(0)
        raise exc

    @toast_errors
    async def async_generator(self, exc: Exception):
        yield "step"
        raise exc


def _run(tab: _Tab, kind: str, exc: Exception) -> list:
    """Every value the handler returned or yielded, as Reflex would collect them."""
    if kind == "plain":
        return [tab.plain(exc)]
    if kind == "generator":
        return list(tab.generator(exc))
    if kind == "coroutine":
        return [asyncio.run(tab.coroutine(exc))]

    async def drain():
        return [item async for item in tab.async_generator(exc)]
    return asyncio.run(drain())


@pytest.fixture
def actor_ids():
    token = current_ids.set((7, 42))
    yield
    current_ids.reset(token)


KINDS = ("plain", "generator", "coroutine", "async_generator")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_our_error_becomes_the_catalogue_toast_in_the_users_language(kind, lang, caplog):
    caplog.set_level(logging.DEBUG, logger="crm_app.state.errors")
    produced = _run(_Tab(lang), kind, PermissionDenied("secret detail"))
    toast = produced[-1]
    assert _shows(toast, translate(lang, "error.permission_denied"))
    assert "secret detail" not in repr(toast)
    assert not caplog.records  # our errors are answers, not bugs: nothing is logged
    if kind.endswith("generator"):
        assert produced[0] == "step"  # what the handler yielded before failing still reaches the browser


def test_an_error_with_no_catalogue_entry_shows_its_safe_message():
    class Odd(NotFound):
        code = "no_such_code_in_the_catalogue"

    assert _shows(_Tab().plain(Odd("That row is gone.")), "That row is gone.")


def test_a_handler_that_succeeds_is_untouched():
    assert _Tab().plain(None) == "done"


@pytest.mark.parametrize("kind", KINDS)
def test_an_unexpected_error_is_logged_with_an_id_and_shown_without_its_message(kind, caplog, actor_ids):
    caplog.set_level(logging.ERROR, logger="crm_app.state.errors")
    tab = _Tab("pt-BR")
    toast = _run(tab, kind, RuntimeError(SECRET))[-1]
    shown = _text(toast)
    pattern = re.escape(translate("pt-BR", "error.unexpected_with_id")).replace(re.escape("{request_id}"),
                                                                                 "([0-9a-f]{8})")
    match = re.fullmatch(pattern, shown)
    assert match, shown
    request_id = match.group(1)
    assert SECRET not in shown and "5511999998888" not in shown
    [record] = caplog.records
    logged = record.getMessage()
    assert request_id in logged and "tenant 7" in logged and "user 42" in logged
    assert "RuntimeError" in logged and f"_Tab.{kind}" in logged
    assert SECRET not in logged and "5511999998888" not in logged
    assert record.exc_info is None  # a formatted exc_info would print the message again


def test_each_failure_gets_its_own_request_id(caplog):
    caplog.set_level(logging.ERROR, logger="crm_app.state.errors")
    first, second = _text(_Tab().plain(RuntimeError("a"))), _text(_Tab().plain(RuntimeError("b")))
    assert first != second


def test_the_backend_handler_treats_our_errors_and_the_rest_the_same_way(caplog, actor_ids):
    caplog.set_level(logging.ERROR, logger="crm_app.state.errors")
    assert _shows(backend_exception_handler(NotFound("x")), translate(DEFAULT_LANGUAGE, "error.not_found"))
    assert not caplog.records
    try:
        raise ValueError(SECRET)
    except ValueError as exc:
        shown = _text(backend_exception_handler(exc))
    request_id = re.search(r"\b[0-9a-f]{8}\b", shown).group(0)
    assert shown == translate(DEFAULT_LANGUAGE, "error.unexpected_with_id").format(request_id=request_id)
    [record] = caplog.records
    logged = record.getMessage()
    assert request_id in logged and "tenant 7" in logged and "user 42" in logged and "ValueError" in logged
    assert SECRET not in logged and "5511999998888" not in logged
