"""TOTP second factor (RFC 6238, pyotp) and one-time recovery codes.

- The secret is 160 random bits (pyotp.random_base32(32), CSPRNG), kept in `User.totp_secret`, an AES-GCM
  encrypted column; it is never logged and leaves the server only on the enrolment screen.
- A code is accepted for the current 30-second step and one step either side (±1), and only once: the step it
  matched is written with `UPDATE ... WHERE totp_last_step IS NULL OR totp_last_step < :step`, so a replay,
  or two submissions of one code racing each other, finds the row already moved on (ASVS 6.5.1).
- Ten recovery codes of 50 random bits each, shown once. Only HMAC-SHA256(server key, per-code salt + code) is
  stored: a database dump alone cannot be brute-forced offline without the key. Each code is claimed with an
  atomic `UPDATE ... WHERE used_at IS NULL`, so it works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, update
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import RecoveryCode, User
from crm_app.services import settings
from crm_app.services.access import passwords
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor

ISSUER = "Atende CRM"
STEP_SECONDS = 30
SKEW_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_CODE_RE = re.compile(r"^\d{6}$")


class InvalidCode(CRMError):
    """A wrong, reused or expired 2FA code."""

    code = "mfa_invalid_code"
    status = 401


class MfaRefused(ValidationError):
    """A 2FA action that does not fit the account's state; `code` picks the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Enrolment:
    """A drawn secret, its otpauth URI and its QR code, for the enrolment screen only."""

    secret: str
    uri: str
    qr_data_uri: str


def current_step(now: dt.datetime | None = None) -> int:
    """The RFC 6238 time step of `now`."""
    return int((now or utcnow()).timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    """The 6-digit code of `secret` at time step `step`."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(step)


def matching_step(secret: str, code: str, *, now: dt.datetime | None = None) -> int | None:
    """The step within ±SKEW_STEPS whose code is `code`, else None. Compares in constant time."""
    code = (code or "").strip().replace(" ", "")
    if not _CODE_RE.match(code):
        return None
    step = current_step(now)
    found = None
    for candidate in range(step - SKEW_STEPS, step + SKEW_STEPS + 1):
        if hmac.compare_digest(code_at(secret, candidate), code):
            found = candidate
    return found


def is_enabled(user: User) -> bool:
    """Whether the user has a confirmed TOTP secret, so a password login must ask for a code."""
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def role_requires_2fa(session: Session | None, tenant_id: int | None, role: str) -> bool:
    """Whether the tenant's policy (setting `security.require_2fa_roles`) requires 2FA of users with `role`."""
    if tenant_id is None:
        return False
    return str(role) in settings.value(session, "security.require_2fa_roles", tenant_id=tenant_id)


def must_enrol(session: Session | None, user: User) -> bool:
    """The policy wants 2FA for this user's role and they have none yet: enrolment comes before anything else."""
    return role_requires_2fa(session, user.tenant_id, str(user.role)) and not is_enabled(user)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI, made here (no outside service ever sees the secret)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#0f172a", light="#ffffff")


def _user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    if user is None or user.tenant_id != actor.tenant_id:
        raise NotFound("user not found")
    return user


def start_enrolment(session: Session, *, actor: Actor) -> Enrolment:
    """Draw a new secret for the actor (not active until a first code confirms it)."""
    user = _user(session, actor)
    if is_enabled(user):
        raise MfaRefused("mfa_already_enabled", "2FA is already on")
    secret = pyotp.random_base32(32)
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, None, None
    session.add(user)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri, qr_data_uri=qr_data_uri(uri))


def confirm_enrolment(session: Session, *, actor: Actor, code: str, now: dt.datetime | None = None) -> list[str]:
    """Turn 2FA on with the first code from the app; returns the recovery codes, the only time they are shown."""
    user = _user(session, actor)
    if is_enabled(user):
        raise MfaRefused("mfa_already_enabled", "2FA is already on")
    if not user.totp_secret:
        raise MfaRefused("mfa_not_started", "start the enrolment first")
    step = matching_step(user.totp_secret, code, now=now)
    if step is None:
        raise InvalidCode("wrong code")
    user.totp_enabled_at, user.totp_last_step = utcnow(), step
    session.add(user)
    codes = _replace_recovery_codes(session, user)
    audit.record(session, actor=actor, tenant_id=user.tenant_id, action="auth.2fa_enabled", target_type="user",
                 target_id=user.id)
    return codes


def verify_totp(session: Session, *, user: User, code: str, now: dt.datetime | None = None) -> bool:
    """Accept `code` once: the matching step must be newer than the last accepted one, claimed atomically."""
    if not is_enabled(user):
        return False
    step = matching_step(user.totp_secret, code, now=now)
    if step is None:
        return False
    claimed = session.execute(
        update(User).where(User.id == user.id,
                           (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


def _hash_recovery(code: str, salt: str) -> str:
    key = get_settings().secret_key.get_secret_value().encode()
    digest = hmac.new(key, f"recovery:{salt}:{normalize_recovery(code)}".encode(), hashlib.sha256).hexdigest()
    return f"{salt}${digest}"


def normalize_recovery(code: str) -> str:
    """Lower case, without spaces or dashes, as people type it."""
    return re.sub(r"[\s-]", "", (code or "").lower())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        session.add(RecoveryCode(tenant_id=user.tenant_id, user_id=user.id,
                                 code_hash=_hash_recovery(code, secrets.token_hex(16))))
    return codes


def use_recovery_code(session: Session, *, user: User, code: str) -> bool:
    """Spend one unused recovery code of `user`; False when none matches."""
    typed = normalize_recovery(code)
    if len(typed) != 10:
        return False
    rows = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                   RecoveryCode.used_at.is_(None))).all()
    match = None
    for row in rows:  # every row is checked, so the time does not tell which one matched
        salt = row.code_hash.split("$", 1)[0]
        if hmac.compare_digest(_hash_recovery(typed, salt), row.code_hash):
            match = row
    if match is None:
        return False
    claimed = session.execute(
        update(RecoveryCode).where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed)


def remaining_recovery_codes(session: Session, *, user_id: int) -> int:
    """How many of the user's recovery codes are still unused."""
    return len(session.exec(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id,
                                                          RecoveryCode.used_at.is_(None))).all())


def verify_second_factor(session: Session, *, user: User, code: str) -> str | None:
    """A TOTP code or a recovery code. Returns "totp", "recovery" or None."""
    cleaned = (code or "").strip().replace(" ", "")
    if _CODE_RE.match(cleaned):
        return "totp" if verify_totp(session, user=user, code=cleaned) else None
    return "recovery" if use_recovery_code(session, user=user, code=code) else None


def disable(session: Session, *, actor: Actor, password: str = "", code: str = "") -> None:
    """Turn 2FA off, proving it is really the user: their password, or a current code / recovery code.

    Refused while the tenant's policy requires 2FA for the user's role.
    """
    user = _user(session, actor)
    if not is_enabled(user):
        raise MfaRefused("mfa_not_enabled", "2FA is off")
    if role_requires_2fa(session, user.tenant_id, str(user.role)):
        raise MfaRefused("mfa_required_by_policy", "your organisation requires 2FA")
    proved = (bool(password) and passwords.check_password(password, user.password_hash)) or (
        bool(code) and verify_second_factor(session, user=user, code=code) is not None)
    if not proved:
        raise InvalidCode("wrong password or code")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    session.add(user)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(session, actor=actor, tenant_id=user.tenant_id, action="auth.2fa_disabled", target_type="user",
                 target_id=user.id, after={"proof": "password" if password else "code"})


def regenerate_recovery_codes(session: Session, *, actor: Actor, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current TOTP code."""
    user = _user(session, actor)
    if not is_enabled(user) or not verify_totp(session, user=user, code=code):
        raise InvalidCode("wrong code")
    codes = _replace_recovery_codes(session, user)
    audit.record(session, actor=actor, tenant_id=user.tenant_id, action="auth.recovery_codes_regenerated",
                 target_type="user", target_id=user.id)
    return codes
