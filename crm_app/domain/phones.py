"""Phone numbers: WhatsApp ids to E.164, with Brazil's ninth digit folded in."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D+")


def digits(value: str) -> str:
    """Only the digits of `value`."""
    return _DIGITS.sub("", value or "")


def normalize_wa_id(wa_id: str) -> str:
    """The canonical E.164 form of a WhatsApp id or typed phone number.

    A Brazilian mobile number can reach us with or without the ninth digit
    (55 DD 9XXXX-XXXX vs 55 DD XXXX-XXXX); both map to the 13-digit form.
    Landlines (local number starting 2-5) keep their 12 digits.
    """
    number = digits(wa_id)
    if not 8 <= len(number) <= 15:
        raise ValueError("a phone number has 8 to 15 digits")
    if number.startswith("55") and len(number) == 12 and number[4] in "6789":
        number = number[:4] + "9" + number[4:]
    return "+" + number
