"""Password hashes and the password policy: bcrypt at the configured cost, and hashes that match nothing.

Slow by design: every function that hashes or checks runs bcrypt, so call them off the event loop. A hash
that no password matches (invited users, users whose password an admin reset, SSO users) still costs one real
bcrypt check, so the time of a refusal says nothing about the account.
"""

from __future__ import annotations

import functools
import secrets

import bcrypt

from crm_app.config import get_settings
from crm_app.domain.passwords import password_problems
from crm_app.errors import ValidationError

# A password hash that no password matches: invited users, and users whose password an admin reset.
UNUSABLE_PREFIX = "!"


def hash_password(password: str) -> str:
    """bcrypt with the configured cost. Slow by design: call it off the event loop.

    bcrypt 5 refuses input over 72 bytes; `password_problems` refuses such passwords before they get here.

    Args:
        password: The password in clear.

    Returns:
        The bcrypt hash, as stored in `User.password_hash`.
    """
    rounds = get_settings().bcrypt_rounds
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


@functools.cache
def dummy_hash() -> str:
    """A real hash at the configured cost, so a check against no account takes as long as a wrong password.

    Returns:
        The same bcrypt hash of a random password for the life of the process.
    """
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str, password_hash: str) -> bool:
    """Constant-time bcrypt check. An unusable hash costs the same time as a real one, and never matches.

    Args:
        password: The password as typed.
        password_hash: The stored hash (or an unusable one).

    Returns:
        Whether the password matches.
    """
    try:
        if password_hash.startswith(UNUSABLE_PREFIX):
            bcrypt.checkpw(password.encode(), dummy_hash().encode())
            return False
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


def unusable_password() -> str:
    """A value for `password_hash` that no password matches.

    Returns:
        A random marker that starts with `UNUSABLE_PREFIX`.
    """
    return UNUSABLE_PREFIX + secrets.token_hex(16)


def check_strength(password: str, *, email: str, name: str) -> None:
    """Refuse a password that breaks the full policy (length, the common list, the owner's name or e-mail).

    Args:
        password: The new password.
        email: The owner's e-mail, which the password must not echo.
        name: The owner's name, likewise.

    Raises:
        ValidationError: With `problems`, the i18n keys of every reason.
    """
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise ValidationError("password refused", field="password", problems=problems)
