"""Two tenants for every isolation test: A (the attacker's) and B (the victim's, every text marked)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("REFLEX_SKIP_COMPILE", "1")


_WORLD: list = []  # the last capture of this process (tests/support/isolation.py, "the world, built once")


@pytest.fixture
def world(db):
    """(A, B): a tenant with a user of each role and one row of each kind; only B's texts carry the marker.

    Built for real at most every WORLD_TTL seconds; the tests in between get the same rows restored."""
    import time

    from tests.support.isolation import WORLD_TTL, build_side, build_world, restore_world

    if _WORLD and time.monotonic() - _WORLD[0].built_at < WORLD_TTL:
        return restore_world(db, _WORLD[0])
    _WORLD.clear()
    capture = build_world(db, lambda: (build_side(db, marker="attacker"), build_side(db, marker="VICTIMX")))
    if capture is None:
        raise AssertionError("the world wrote to a table the per-test truncate keeps: add it to conftest's TABLES")
    _WORLD.append(capture)
    import copy

    return copy.deepcopy(capture.sides)


@pytest.fixture(scope="package")
def backend(tmp_path_factory):
    """The real web process (no frontend build) on a free port: attack it over HTTP and its websocket."""
    from tests.support.live_backend import running

    with running(tmp_path_factory.mktemp("backend")) as (base, routes):
        yield Backend(base, routes)


@pytest.fixture
def live(backend):
    """The backend, left idle on the database after the test (the next test truncates every table)."""
    from tests.support.live_backend import wait_until_idle

    yield backend
    wait_until_idle()


@dataclass(frozen=True)
class Backend:
    base: str  # http://127.0.0.1:<port>, also the app's own origin
    routes: list[str]  # "POST /_upload", "Mount /_event", ... as the running app registered them
