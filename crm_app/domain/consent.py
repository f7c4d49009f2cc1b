"""Consent and privacy rules that need no database: opt-out words, the current state, due dates, wamid hashing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crm_app.domain.search import fold

PURPOSES = ("atendimento", "marketing", "pesquisa")
DEFAULT_OPT_OUT_WORDS = ("SAIR", "PARAR", "CANCELAR", "STOP", "BAJA")
# A wamid replaced by erasure starts with this, so a second erasure knows it is done.
ERASED_WAMID_PREFIX = "erased."
# How many days before the due date a request is flagged.
WARN_DAYS = 3


def is_opt_out(text: str | None, words: Iterable[str]) -> bool:
    """True when the whole message is one of the opt-out words (case, accents and punctuation ignored).

    Only the whole message counts: "não quero parar de receber" is not an opt-out.
    """
    if not text:
        return False
    said = fold(text).strip().strip(".!?¡¿ ").strip()
    return bool(said) and said in {fold(w).strip() for w in words if w.strip()}


@dataclass(frozen=True)
class ConsentFact:
    """One row of the ledger as the state derivation needs it."""

    purpose: str
    granted: bool
    at: dt.datetime


def current_state(facts: Iterable[ConsentFact]) -> dict[str, bool | None]:
    """Per purpose: the latest answer (True granted, False withdrawn), None when never asked.

    Facts must come in ledger order (oldest first); a later row always wins.
    """
    state: dict[str, bool | None] = dict.fromkeys(PURPOSES)
    for fact in facts:
        state[fact.purpose] = fact.granted
    return state


# A wamid as Meta writes it, and as it may sit inside any text or JSON (standard or URL-safe base64).
WAMID_PATTERN = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")
_MIN_BASE64_FORM = 8


def phone_in_base64(phone_digits: str) -> tuple[str, ...]:
    """The base64 text that a phone number becomes inside a wamid, whatever its byte offset there.

    Base64 turns each 3 bytes into 4 characters, so the phone's characters depend on where it starts within
    a 3-byte group: for each of the three offsets, the characters made of the phone's bytes alone (the groups
    at either end that mix in neighbouring bytes are left out). A wamid holds one of these.
    """
    raw, forms = phone_digits.encode(), []
    for offset in range(3):
        first, last = -(-offset // 3), (offset + len(raw)) // 3  # whole groups inside the phone
        form = base64.b64encode(b"\0" * offset + raw).decode()[4 * first:4 * last]
        if len(form) >= _MIN_BASE64_FORM:
            forms.append(form)
    return tuple(forms)


# A run of base64 long enough to hold a phone: where a form (`phone_in_base64`) was found, the run is decoded to
# be sure. A form alone is not proof: its last group may belong to a number that differs in its last digits.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _decoded(run: str) -> bytes:
    """`run` decoded as standard or URL-safe base64 (padding restored; undecodable: nothing)."""
    padded = run + "=" * (-len(run) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=False)
    except ValueError:
        return b""


def carries_phone(run: str, phones: Iterable[str]) -> bool:
    """Whether a wamid (or a bare base64 run) decodes to bytes holding one of `phones` (digits)."""
    decoded = _decoded(run.removeprefix("wamid."))
    return any(p.encode() in decoded for p in phones)


def forget_wamids(text: str, phones: Iterable[str], key: bytes, tombstone: str) -> str:
    """`text` with every wamid that carries one of `phones` replaced by its keyed hash, and any other base64 run
    that decodes to one of them by `tombstone`. Another person's wamid is never touched, even when it shares a
    base64 form with the phone (numbers that differ only in their last digits do)."""
    phones = tuple(phones)
    text = WAMID_PATTERN.sub(lambda m: hash_wamid(m.group(0), key) if carries_phone(m.group(0), phones)
                             else m.group(0), text)
    return _BASE64_RUN.sub(lambda m: tombstone if carries_phone(m.group(0), phones) else m.group(0), text)


def mentions_phone(text: str, phones: Iterable[str]) -> bool:
    """Whether any wamid or base64 run in `text` decodes to one of `phones`."""
    phones = tuple(phones)
    return any(carries_phone(m.group(0), phones) for m in _BASE64_RUN.finditer(text))


def hash_wamid(wamid: str, key: bytes) -> str:
    """A keyed hash that stands for a WhatsApp message id once its person is erased.

    A wamid carries the customer's phone in base64; the hash keeps ids unique (the same wamid always gives
    the same value, two wamids never collide in practice) without anything that decodes back to the phone.
    """
    if wamid.startswith(ERASED_WAMID_PREFIX):
        return wamid
    return ERASED_WAMID_PREFIX + hmac.new(key, wamid.encode(), hashlib.sha256).hexdigest()[:48]


def due_date(received: dt.date, days: int) -> dt.date:
    """LGPD art. 19: the full answer is due `days` calendar days after the request."""
    return received + dt.timedelta(days=days)


def due_date_business(received: dt.date, days: int, calendar) -> dt.date:
    """The due date counted in business days of `calendar` (a `HolidayCalendar`)."""
    return calendar.add_business_days(received, days)


def next_open_day(day: dt.date, calendar) -> dt.date:
    """`day` itself when it is a business day of `calendar`, else the next one (a deadline never ends on a
    closed day)."""
    while not calendar.is_business_day(day):
        day += dt.timedelta(days=1)
    return day


def is_due_soon(due: dt.date, today: dt.date, warn_days: int = WARN_DAYS) -> bool:
    """True from `warn_days` before the due date on (overdue included)."""
    return (due - today).days <= warn_days
