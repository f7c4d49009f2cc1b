"""Password login and its 2FA step, each ending in a session parked behind a one-time cookie ticket.

A password login of a user with 2FA does not open a session: it parks a short-lived *pending* ticket in Redis
(`mfa_pending_seconds`), and only a right code turns it into a session, with a new token. Failures of both
steps feed the throttle (`throttle.py`). An unknown e-mail, a wrong password, an inactive user and a
suspended tenant all get the same error after the same bcrypt work.
"""

from __future__ import annotations

import json
import logging
import secrets

from sqlmodel import Session

from crm_app.config import get_settings
from crm_app.db import session_scope
from crm_app.domain.passwords import fits_bcrypt
from crm_app.domain.text import normalize_email
from crm_app.errors import CRMError, InvalidCredentials
from crm_app.models import User
from crm_app.queue import get_redis
from crm_app.services.access import mfa, passwords, sessions, throttle, users
from crm_app.services.access.throttle import LoginThrottled
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor

log = logging.getLogger(__name__)

PENDING_PREFIX = "crm:mfa-pending:"
# Wrong codes allowed on one pending ticket before the password must be typed again.
PENDING_MAX_ATTEMPTS = 5


class SecondFactorRequired(CRMError):
    """The password was right and the account has 2FA: ask for a code with `pending`."""

    code = "mfa_required"
    status = 401

    def __init__(self, pending: str) -> None:
        super().__init__("second factor required")
        self.pending = pending


class PendingExpired(CRMError):
    """The password step is too old, was used, or saw too many wrong codes."""

    code = "mfa_pending_expired"
    status = 401


def _audit_attempt(session: Session, user: User | None, action: str, ip: str | None, **after: object) -> None:
    """An audit row about a login attempt, with the IP in its own column (no actor is logged in yet)."""
    if user is None:
        log.info("%s for an unknown e-mail from %s", action, ip)
        return
    row = audit.record(session, actor=None, tenant_id=user.tenant_id, action=action, target_type="user",
                       target_id=user.id, after={"ip": ip, **after})
    row.ip = ip


def _password_matches(user: User | None, password: str) -> bool:
    """bcrypt always runs once, whether or not the user exists, so the time says nothing."""
    if not fits_bcrypt(password):
        passwords.check_password("x" * 12, passwords.dummy_hash())
        return False
    return passwords.check_password(
        password, user.password_hash if user is not None else passwords.dummy_hash()) and user is not None


def authenticate(
    session: Session, *, email: str, password: str, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, Actor]:
    """Check the credentials and open a session. Returns (cookie token, actor).

    Raises InvalidCredentials (one message for every kind of failure), LoginThrottled (the same for every
    e-mail), or SecondFactorRequired carrying the pending ticket for the code step.
    """
    email = normalize_email(email or "")
    user = users.find_user_by_email(session, email) if email else None
    try:
        throttle.ensure_allowed(email, ip)
    except LoginThrottled:
        _audit_attempt(session, user, "auth.login_throttled", ip)
        raise
    valid = _password_matches(user, password)
    tenant = sessions.find_active_tenant(session, user) if user is not None and valid and user.is_active else None
    if tenant is None:
        throttle.record_failure(email, ip)
        _audit_attempt(session, user, "auth.login_failed", ip)
        raise InvalidCredentials("invalid e-mail or password")
    throttle.record_success(email)
    if mfa.is_enabled(user):
        raise SecondFactorRequired(_park_pending(user, ip=ip, user_agent=user_agent))
    token = sessions.open_session(session, user=user, ip=ip, user_agent=user_agent)
    return token, sessions.actor_for(user, ip=ip, timezone=tenant.timezone)


def _park_pending(user: User, *, ip: str | None, user_agent: str | None) -> str:
    """The password step passed: remember who, for a few minutes, behind a random ticket."""
    pending = secrets.token_urlsafe(32)
    payload = json.dumps({"user_id": user.id, "ip": ip, "ua": (user_agent or "")[:255], "attempts": 0})
    get_redis().set(PENDING_PREFIX + sessions.hash_token(pending), payload, ex=get_settings().mfa_pending_seconds)
    return pending


def _load_pending(pending: str | None) -> tuple[str, dict] | None:
    if not pending or len(pending) > 100:
        return None
    key = PENDING_PREFIX + sessions.hash_token(pending)
    raw = get_redis().get(key)
    return (key, json.loads(raw)) if raw else None


def verify_second_step(
    session: Session, *, pending: str, code: str, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, Actor]:
    """The code step of a 2FA login: a TOTP or recovery code turns the pending ticket into a session."""
    loaded = _load_pending(pending)
    if loaded is None:
        raise PendingExpired("the login step expired")
    key, data = loaded
    user = session.get(User, data["user_id"])
    tenant = sessions.find_active_tenant(session, user) if user is not None and user.is_active else None
    if tenant is None:
        get_redis().delete(key)
        raise PendingExpired("the login step expired")
    try:
        throttle.ensure_allowed(user.email, ip)
    except LoginThrottled:
        _audit_attempt(session, user, "auth.login_throttled", ip, step="2fa")
        raise
    method = mfa.verify_second_factor(session, user=user, code=code)
    if method is None:
        throttle.record_failure(user.email, ip)
        _audit_attempt(session, user, "auth.2fa_failed", ip)
        data["attempts"] += 1
        if data["attempts"] >= PENDING_MAX_ATTEMPTS:
            get_redis().delete(key)
        else:
            get_redis().set(key, json.dumps(data), keepttl=True)
        raise mfa.InvalidCode("wrong code")
    if not get_redis().delete(key):  # someone else finished this step first
        raise PendingExpired("the login step expired")
    if method == "recovery":
        _audit_attempt(session, user, "auth.recovery_code_used", ip,
                       remaining=mfa.remaining_recovery_codes(session, user_id=user.id))
    token = sessions.open_session(session, user=user, ip=ip, user_agent=user_agent or data.get("ua"), mfa=True)
    return token, sessions.actor_for(user, ip=ip, timezone=tenant.timezone)


def _run_committing(step, **kwargs) -> tuple[str, Actor]:
    """Run one login step in its own transaction; a failure still commits its audit row before it is raised."""
    failure: CRMError | None = None
    with session_scope() as session:
        try:
            token, actor = step(session, **kwargs)
        except CRMError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return token, actor


def login(email: str, password: str, *, browser: str, ip: str | None = None,
          user_agent: str | None = None) -> tuple[str, Actor]:
    """Authenticate, commit the session, then park it behind a ticket only `browser` can redeem.

    `browser` is the pre-login cookie the login form's websocket presented (`sessions.browser_binding`); the
    caller checks it first, so that no session is opened that no ticket could carry. Returns (ticket, actor).
    Raises SecondFactorRequired (with the pending ticket) when the account has 2FA.
    """
    token, actor = _run_committing(authenticate, email=email, password=password, ip=ip, user_agent=user_agent)
    return sessions.issue_login_ticket(token, browser=browser), actor


def login_second_step(pending: str, code: str, *, browser: str, ip: str | None = None,
                      user_agent: str | None = None) -> tuple[str, Actor]:
    """The 2FA code step: commit the new session, then park it behind a ticket bound to `browser`.

    Returns (ticket, actor).
    """
    token, actor = _run_committing(verify_second_step, pending=pending, code=code, ip=ip, user_agent=user_agent)
    return sessions.issue_login_ticket(token, browser=browser), actor
