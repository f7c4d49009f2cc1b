"""API token scopes, one rule for every area: `area:read` to see, `area:write` to change.

Each area of the REST API adds its pair here (and a label for each scope in both catalogues, under
`tokens.scope.<scope>`); routes ask for `scope(area, write=...)`, so a misspelt scope fails at import,
not at a customer's first request. An area with nothing to change over the API yet is read-only.

A scope covers its area wherever it appears: an object of one area embedded in another's answer (a
conversation's contact, its last message) is shown only to tokens that may read that area too, and is
otherwise cut down to what identifies it (`crm_app/api/v1.py`).
"""

from __future__ import annotations

READ, WRITE = "read", "write"

# area -> the modes it offers, in the order the settings page lists them
AREAS: dict[str, tuple[str, ...]] = {
    "conversations": (READ, WRITE),
    "messages": (READ, WRITE),
    "contacts": (READ, WRITE),
    "users": (READ,),
    "settings": (READ, WRITE),
    "webhooks": (READ, WRITE),
    "privacy": (READ, WRITE),
    "metrics": (READ,),
    "exports": (READ, WRITE),
    "csat": (READ,),
    "sla": (READ, WRITE),
}

SCOPES: tuple[str, ...] = tuple(f"{area}:{mode}" for area, modes in AREAS.items() for mode in modes)


def scope(area: str, *, write: bool = False) -> str:
    """The scope that lets a token read (or change) `area`; a ValueError names an unknown pair."""
    name = f"{area}:{WRITE if write else READ}"
    if name not in SCOPES:
        raise ValueError(f"no scope {name!r}: add the area's pair to crm_app/services/access/scopes.py")
    return name
