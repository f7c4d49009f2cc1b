"""What Graph says about a business phone number, read for people: quality rating and messaging limit.

Meta's phone number node (`GET /{phone_number_id}`) carries `quality_rating` (GREEN, YELLOW, RED, or
UNKNOWN/NA while Meta has no rating yet) and `whatsapp_business_manager_messaging_limit`: how many customers
the business may start conversations with per moving 24 hours (TIER_250, TIER_2K, TIER_10K, TIER_100K,
TIER_UNLIMITED; §6.5 of shared/reference/whatsapp_cloud_api.md). Older numbers still answer the deprecated
ladder (TIER_50, TIER_1K); both are read here.
"""

from __future__ import annotations

import re

QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")
# The fields "Verificar" asks Graph for (the deprecated `messaging_limit_tier` as a fallback for old numbers).
VERIFY_FIELDS = ("verified_name", "display_phone_number", "quality_rating",
                 "whatsapp_business_manager_messaging_limit", "messaging_limit_tier")
NUMERIC_ID = re.compile(r"^\d{5,30}$")
_TIER = re.compile(r"^TIER_(\d+)(K?)$")


def parse_quality(value: object) -> str:
    """Graph's `quality_rating` as one of QUALITY_RATINGS (anything unknown, NA or missing is UNKNOWN)."""
    text = str(value or "").strip().upper()
    return text if text in QUALITY_RATINGS else "UNKNOWN"


def parse_tier(value: object) -> int | None:
    """How many customers per 24 hours a tier allows: an int, 0 for TIER_UNLIMITED, None when unknown.

    Examples: "TIER_250" -> 250, "TIER_2K" -> 2000, "TIER_UNLIMITED" -> 0, "" -> None.
    """
    text = str(value or "").strip().upper()
    if text in ("TIER_UNLIMITED", "UNLIMITED"):
        return 0
    match = _TIER.match(text)
    if match is None:
        return None
    return int(match.group(1)) * (1000 if match.group(2) else 1)


def messaging_limit_of(data: dict) -> str | None:
    """The tier from a Graph phone number body: the current field, else the deprecated one."""
    for key in ("whatsapp_business_manager_messaging_limit", "messaging_limit_tier"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()[:32]
    return None


def is_numeric_id(value: str) -> bool:
    """Whether a string is one of Meta's numeric object ids (phone_number_id, WABA id)."""
    return bool(NUMERIC_ID.match(value))


def webhook_url(app_url: str) -> str:
    """The callback URL to paste into Meta's dashboard: the app's public URL + our webhook route."""
    return app_url.rstrip("/") + "/api/whatsapp/webhook"


def token_hint(token: str) -> str:
    """Enough of a verify token to recognise it, never the whole of it: its length and last 4 characters."""
    if len(token) <= 8:
        return "•" * len(token)
    return "•" * 6 + token[-4:]
