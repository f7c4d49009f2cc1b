"""How a handler's failure reaches the user: one decorator for our errors, one handler for the rest.

`@toast_errors` (under `@rx.event`) turns a `CRMError` into a toast in the user's language. Anything
else is a bug: it is logged once, with a request id, the tenant and the user (never the exception's
message, which may quote a customer's text or phone), and the user sees a plain sentence with that id.
`backend_exception_handler` does the same for whatever escapes a handler without the decorator.
"""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
import uuid
from contextvars import ContextVar

import reflex as rx
from reflex.event import EventSpec

from crm_app.errors import CRMError
from crm_app.i18n import DEFAULT_LANGUAGE, translate

log = logging.getLogger("crm_app.state.errors")

# (tenant id, user id) of the actor the current event resolved; set by SessionState, read when logging.
current_ids: ContextVar[tuple[int | None, int | None]] = ContextVar("crm_actor_ids", default=(None, None))


def crm_error_text(lang: str, exc: CRMError) -> str:
    """The words for one of our errors, for an inline field message: its catalogue text, or its safe message."""
    key = f"error.{exc.code}"
    text = translate(lang, key)
    return exc.message if text == key else text


def crm_error_toast(lang: str, exc: CRMError) -> EventSpec:
    """The toast for one of our errors: its catalogue text, or its safe message."""
    return rx.toast.error(crm_error_text(lang, exc))


def unexpected_text(lang: str, exc: BaseException, where: str) -> str:
    """Log an unexpected error with a request id and return the friendly sentence that quotes it."""
    request_id = uuid.uuid4().hex[:8]
    tenant_id, user_id = current_ids.get()
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("request %s: %s in %s (tenant %s, user %s)\n%s", request_id, type(exc).__name__, where,
              tenant_id, user_id, stack)
    return translate(lang, "error.unexpected_with_id").format(request_id=request_id)


def unexpected_toast(lang: str, exc: BaseException, where: str) -> EventSpec:
    """Log an unexpected error with a request id and return the friendly toast that quotes it."""
    return rx.toast.error(unexpected_text(lang, exc, where))


def _handle(self, exc: Exception, where: str) -> EventSpec:
    lang = getattr(self, "lang", DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
    if isinstance(exc, CRMError):
        return crm_error_toast(lang, exc)
    return unexpected_toast(lang, exc, where)


def toast_errors(handler):
    """Wrap an event handler (plain, async, generator or async generator) so failures become toasts.

    Args:
        handler: The state method; put `@rx.event` above this decorator.

    Returns:
        The wrapped method, with the same signature.
    """
    where = handler.__qualname__
    if inspect.isasyncgenfunction(handler):
        @functools.wraps(handler)
        async def agen(self, *args, **kwargs):
            try:
                async for update in handler(self, *args, **kwargs):
                    yield update
            except Exception as exc:
                yield _handle(self, exc, where)
        return agen
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def gen(self, *args, **kwargs):
            try:
                yield from handler(self, *args, **kwargs)
            except Exception as exc:
                yield _handle(self, exc, where)
        return gen
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def coro(self, *args, **kwargs):
            try:
                return await handler(self, *args, **kwargs)
            except Exception as exc:
                return _handle(self, exc, where)
        return coro

    @functools.wraps(handler)
    def plain(self, *args, **kwargs):
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:
            return _handle(self, exc, where)
    return plain


def backend_exception_handler(exception: Exception) -> EventSpec:
    """Reflex's last resort, for errors outside `@toast_errors`: logged with an id, never shown raw."""
    if isinstance(exception, CRMError):
        return crm_error_toast(DEFAULT_LANGUAGE, exception)
    return unexpected_toast(DEFAULT_LANGUAGE, exception, "an event handler")
