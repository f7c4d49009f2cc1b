"""Two tenants for every isolation test: A (the attacker's) and B (the victim's, every text marked)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("REFLEX_SKIP_COMPILE", "1")


@pytest.fixture
def world(db):
    """(A, B): a tenant with a user of each role and one row of each kind; only B's texts carry the marker."""
    from tests.support.isolation import build_side

    return build_side(db, marker="attacker"), build_side(db, marker="VICTIMX")


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
