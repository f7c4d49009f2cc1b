"""PII redaction: what leaves for an outside AI never carries a CPF, CNPJ, phone, e-mail or card number.

Each kind is replaced by a placeholder the model can still reason about ("[CPF]", "[TELEFONE]"…). The
rules lean towards privacy: an 11-digit number is redacted even when its CPF check digits are wrong (a
mistyped CPF is still someone's), while the short numbers of a normal conversation survive: prices,
dates, times, room and order numbers, postal codes.
"""

from __future__ import annotations

import re

CPF, CNPJ, PHONE, EMAIL, CARD = "[CPF]", "[CNPJ]", "[TELEFONE]", "[EMAIL]", "[CARTAO]"

_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_CNPJ = re.compile(r"(?<![\d/.])\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?![\d/])")
# 16-digit cards in groups of four, Amex (4-6-5), Diners (4-6-4), and bare runs of 13 to 19 digits.
_CARD = re.compile(
    r"(?<![\d-])(?:\d{4}(?P<a>[ -]?)\d{4}(?P=a)\d{4}(?P=a)\d{4}(?:(?P=a)\d{1,3})?"
    r"|\d{4}(?P<b>[ -]?)\d{6}(?P=b)\d{4,5}"
    r"|\d{13,19})(?![\d])"
)
_CPF = re.compile(r"(?<![\d/])\d{3}[.\s]?\d{3}[.\s]?\d{3}[-.\s]?\d{2}(?![\d/])")
# "+" and any country: 8 to 15 digits with the usual separators.
_INTL_PHONE = re.compile(r"(?<![\w+])\+\s?\d[\d\s().-]{6,20}\d(?!\d)")
# Brazil: optional 55, optional area code (in parentheses or not), optional 9th digit, 4+4 digits.
_BR_PHONE = re.compile(
    r"(?<![\d/])(?:55[\s.-]?)?\(?[1-9]{2}\)?[\s.-]?(?:9[\s.-]?)?\d{4}[\s.-]?\d{4}(?![\d/])"
)
# Without area code only when written like a phone: 9 8123-4567, 98123-4567 or a landline 3456-7890.
_LOCAL_PHONE = re.compile(r"(?<![\d/.,])(?:9[\s.]?\d{4}[-\s.]?|[2-5]\d{3}-)\d{4}(?![\d/.,])")
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def luhn_ok(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def cpf_ok(digits: str) -> bool:
    """Whether 11 digits carry valid CPF check digits (repeated digits like 111.111.111-11 do not count)."""
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def cnpj_ok(digits: str) -> bool:
    """Whether 14 digits carry valid CNPJ check digits."""
    if len(digits) != 14 or len(set(digits)) == 1:
        return False
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for size in (12, 13):
        w = weights if size == 12 else [6, *weights]
        total = sum(int(d) * k for d, k in zip(digits[:size], w, strict=True))
        check = 0 if total % 11 < 2 else 11 - total % 11
        if check != int(digits[size]):
            return False
    return True


def _is_br_mobile_with_country(digits: str) -> bool:
    """55 + area code + 8 or 9 digits: a WhatsApp id, which happens to look like a 13-digit card."""
    return len(digits) in (12, 13) and digits.startswith("55") and "0" not in digits[2:4]


def _cnpj(match: re.Match) -> str:
    text = match.group(0)
    digits = _digits(text)
    return CNPJ if (any(ch in text for ch in "./-") or cnpj_ok(digits)) else text


def _card(match: re.Match) -> str:
    text = match.group(0)
    digits = _digits(text)
    if _is_br_mobile_with_country(digits):
        return text
    if luhn_ok(digits):
        return CARD
    sep = match.group("a")
    if sep and len(digits) > 16 and luhn_ok(digits[:16]):  # "4111 1111 1111 1111 2 parcelas"
        return CARD + text[19:]
    return text


def _cpf(match: re.Match) -> str:
    text = match.group(0)
    digits = _digits(text)
    if text.isdigit() and not cpf_ok(digits) and digits[2] == "9" and "0" not in digits[:2]:
        return text  # a bare mobile number with area code: the phone rule names it
    return CPF


def _intl_phone(match: re.Match) -> str:
    return PHONE if 8 <= len(_digits(match.group(0))) <= 15 else match.group(0)


def _local_phone(match: re.Match) -> str:
    halves = re.split(r"[-\s.]", match.group(0))
    if len(halves) == 2 and all(_YEAR.match(h) for h in halves):
        return match.group(0)  # "2024-2025" is a season, not a phone
    return PHONE


def redact(text: str | None) -> str:
    """`text` with every CPF, CNPJ, phone, e-mail and card number replaced by a placeholder.

    Order matters: e-mails first (their digits are not numbers), then the long numbers (CNPJ, cards)
    before the shorter ones they contain, then CPF, then phones.
    """
    if not text:
        return ""
    out = _EMAIL.sub(EMAIL, text)
    out = _CNPJ.sub(_cnpj, out)
    out = _INTL_PHONE.sub(_intl_phone, out)
    out = _CARD.sub(_card, out)
    out = _CPF.sub(_cpf, out)
    out = _BR_PHONE.sub(PHONE, out)
    return _LOCAL_PHONE.sub(_local_phone, out)


def redact_all(texts: list[str]) -> list[str]:
    """`redact` over a list, keeping the order."""
    return [redact(t) for t in texts]
