"""Validation of short user input."""

from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MIN_PASSWORD = 8


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased."""
    return value.strip().lower()


def is_email(value: str) -> bool:
    """A plausible e-mail address, at most 254 characters."""
    return len(value) <= 254 and bool(EMAIL_RE.match(value))


def is_slug(value: str) -> bool:
    """Lower-case letters, digits and inner hyphens, up to 60 characters."""
    return bool(SLUG_RE.match(value))


def password_problem(value: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(value) < MIN_PASSWORD:
        return "password_too_short"
    if len(value.encode()) > 72:
        return "password_too_long"
    return None

