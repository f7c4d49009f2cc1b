"""Which new passwords we refuse, and why (OWASP ASVS 5.0 §6.2; NIST 800-63B).

The rules, on purpose:
- at least MIN_LENGTH (8) characters, counted as Unicode characters (ASVS 6.2.1);
- no composition rules (no "one digit, one symbol", ASVS 6.2.5) and no forced rotation;
- long passwords and passphrases are welcome, up to MAX_BYTES (72) bytes of UTF-8. bcrypt reads only the first
  72 bytes and bcrypt 5 raises on longer input, so rather than silently truncating (two passwords that share
  72 bytes would match) or pre-hashing (which would have to change every stored hash at once), a longer password
  is refused with a message that says so. 72 bytes is 72 letters without accents (ASVS 6.2.9 asks for 64);
- not one of the ~19,600 most common passwords (data/common_passwords.txt, ASVS 6.2.4 asks for the top 3,000),
  compared case-insensitively and without accents or spaces;
- not built from the user's own e-mail (its part before the @) or name.

Each problem is an i18n key, so the UI can show all of them at once.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

MIN_LENGTH = 8
MAX_BYTES = 72
DATA_FILE = Path(__file__).parent / "data" / "common_passwords.txt"
# Brazilian favourites that the English-centred list lacks.
PT_BR_EXTRA = frozenset({
    "senha", "senha1234", "senha12345", "mudar123", "mudar1234", "mudarsenha", "trocar123", "brasil", "brasil123",
    "corinthians", "palmeiras", "saopaulo", "gremio", "vasco", "cruzeiro", "flamengo123", "amor123", "minhasenha",
    "atende123", "atendimento", "whatsapp", "whatsapp123", "qwerty123", "abcd1234", "teste123", "teste1234",
})
# Pieces of a name or e-mail shorter than this are too common to refuse on their own.
MIN_PERSONAL_PART = 3
_SPLIT = re.compile(r"[^0-9a-z]+")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

PROBLEM_TOO_SHORT = "password.too_short"
PROBLEM_TOO_LONG = "password.too_long"
PROBLEM_COMMON = "password.common"
PROBLEM_PERSONAL = "password.personal"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The refused list, lower-cased, read once per process."""
    words = DATA_FILE.read_text(encoding="utf-8").split()
    return frozenset(w.strip().lower() for w in words if w.strip()) | PT_BR_EXTRA


def _fold(value: str) -> str:
    """Lower case without accents, so "José" and "jose" compare equal."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _core(password: str) -> str:
    """The password without leading and trailing digits and symbols: "Maria2024!" -> "maria"."""
    return _EDGES.sub("", _fold(password))


def is_common(password: str) -> bool:
    """True when the password (case-insensitive, accents and spaces ignored) is on the common list.

    Only whole matches: the list holds plain words too ("demo", "maria"), and refusing every word with digits
    around it would refuse most passphrase-like choices that the length rule already makes costly to guess.
    """
    folded = _fold(password)
    listed = common_passwords()
    return folded in listed or folded.replace(" ", "") in listed


def personal_parts(email: str | None, name: str | None) -> set[str]:
    """The pieces of the e-mail's local part and of the name that a password must not be made of."""
    parts: set[str] = set()
    if email:
        local = _fold(email).split("@", 1)[0]
        parts.add(re.sub(r"[^0-9a-z]", "", local))
        parts.update(_SPLIT.split(local))
    if name:
        folded = _fold(name)
        parts.add(re.sub(r"[^0-9a-z]", "", folded))
        parts.update(_SPLIT.split(folded))
    return {p for p in parts if len(p) >= MIN_PERSONAL_PART}


def is_personal(password: str, *, email: str | None = None, name: str | None = None) -> bool:
    """True when the password is the e-mail or name, or one of their parts with digits or symbols around it,
    or contains the whole local part of the e-mail."""
    parts = personal_parts(email, name)
    if not parts:
        return False
    folded = _fold(password)
    squeezed = re.sub(r"[^0-9a-z]", "", folded)
    if email and folded == _fold(email):
        return True
    core = re.sub(r"[^0-9a-z]", "", _core(password))
    if core in parts or squeezed in parts:
        return True
    local = re.sub(r"[^0-9a-z]", "", _fold(email or "").split("@", 1)[0])
    return len(local) >= MIN_PERSONAL_PART + 1 and local in squeezed


def password_problems(password: str, *, email: str | None = None, name: str | None = None) -> list[str]:
    """Every reason to refuse `password` as a new password, as i18n keys; an empty list accepts it."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(PROBLEM_TOO_SHORT)
    if len(password.encode("utf-8")) > MAX_BYTES:
        problems.append(PROBLEM_TOO_LONG)
    if password and is_common(password):
        problems.append(PROBLEM_COMMON)
    elif password and is_personal(password, email=email, name=name):
        problems.append(PROBLEM_PERSONAL)
    return problems


def fits_bcrypt(password: str) -> bool:
    """Whether bcrypt can take the password whole (login refuses longer ones after the same work)."""
    return len(password.encode("utf-8")) <= MAX_BYTES
