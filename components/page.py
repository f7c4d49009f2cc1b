"""The page decorator: route, title, guard and required role in one place."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from crm_app.domain.access import PAGE_ROLES
from crm_app.state.session import SessionState

REGISTERED: list[tuple[str, Callable[[], rx.Component], str, list]] = []


def app_page(route: str, title: str, on_load: list | None = None):
    """Register a logged-in page. Its roles come from `PAGE_ROLES[route]`.

    The guard runs first in `on_load`; the page's own loaders run after it and
    check the role again themselves.
    """
    if route not in PAGE_ROLES:
        raise ValueError(f"{route} has no entry in PAGE_ROLES")

    def decorator(fn: Callable[[], rx.Component]):
        events = [SessionState.check_page_access(route), *(on_load or [])]
        REGISTERED.append((route, fn, title, events))
        return fn

    return decorator


def public_page(route: str, title: str, on_load: list | None = None):
    """Register a page that anyone may open (login, access denied)."""

    def decorator(fn: Callable[[], rx.Component]):
        REGISTERED.append((route, fn, title, list(on_load or [])))
        return fn

    return decorator


def add_pages(app: rx.App) -> None:
    """Add every registered page to `app`."""
    for route, fn, title, events in REGISTERED:
        app.add_page(fn, route=route, title=title, on_load=events or None)
