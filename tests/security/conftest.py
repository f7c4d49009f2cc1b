"""Two tenants for every isolation test: A (the attacker's) and B (the victim's, every text marked)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("REFLEX_SKIP_COMPILE", "1")


@pytest.fixture
def world(db):
    """(A, B): a tenant with a user of each role and one row of each kind; only B's texts carry the marker."""
    from tests.support.isolation import build_side

    return build_side(db, marker="attacker"), build_side(db, marker="VICTIMX")
