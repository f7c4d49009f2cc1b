"""Ids that look like Meta's: wamids, media ids, conversation ids, BSUIDs."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_wamid(wa_id: str, *, inbound: bool) -> str:
    """A wamid shaped like Meta's: base64 of a small record holding the user's number and a hex id.

    Outbound ids carry 18 hex digits (marker 0x11); inbound ones 20 (marker 0x12), as in real ones.
    """
    number = "".join(ch for ch in wa_id if ch.isdigit())[:30].encode()
    hex_id = secrets.token_hex(10 if inbound else 9).upper().encode()
    marker = b"\x12" if inbound else b"\x11"
    raw = (b"\x1c\x18" + bytes([len(number)]) + number + b"\x15\x02\x00" + marker
           + b"\x18" + bytes([len(hex_id)]) + hex_id + b"\x00")
    return "wamid." + base64.b64encode(raw).decode()


def new_media_id() -> str:
    """A 16-digit numeric media id."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


def new_conversation_id() -> str:
    """A 32-hex-digit conversation id."""
    return secrets.token_hex(16)


def user_id(wa_id: str, country: str = "BR") -> str:
    """A stable business-scoped user id (BSUID) for a WhatsApp user."""
    digest = hashlib.sha256(("user:" + wa_id).encode()).digest()
    return f"{country}.{int.from_bytes(digest[:8], 'big')}"


def parent_user_id(wa_id: str, country: str = "BR") -> str:
    """A stable parent (enterprise) BSUID for a WhatsApp user."""
    digest = hashlib.sha256(("parent:" + wa_id).encode()).digest()
    return f"{country}.ENT.{int.from_bytes(digest[:8], 'big')}"


def country_of(wa_id: str) -> str:
    """A rough ISO country for a number's calling code (only what the demo needs)."""
    for prefix, country in (("55", "BR"), ("1", "US"), ("351", "PT"), ("54", "AR"), ("34", "ES")):
        if wa_id.startswith(prefix):
            return country
    return "US"
