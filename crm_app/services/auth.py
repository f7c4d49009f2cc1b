"""Login, server-side sessions and the one-time tickets that set the cookie.

The cookie holds a random token; the database holds only its SHA-256. The
login event cannot set an HttpOnly cookie over the websocket, so it stores a
30-second one-time ticket in Redis and the browser loads a backend route that
exchanges the ticket for the cookie.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from sqlalchemy import bindparam
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import get_engine, session_scope, utcnow
from crm_app.domain.sessions import is_session_live
from crm_app.domain.text import normalize_email
from crm_app.errors import InvalidCredentials
from crm_app.models import Tenant, User, UserSession
from crm_app.queue import get_redis
from crm_app.services import audit
from crm_app.services.actors import Actor
from crm_app.services.users import check_password, find_user_by_email, hash_password

COOKIE_NAME = "crm_session"
TICKET_PREFIX = "crm:login-ticket:"
# Written at most this often, so that page loads do not all write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


@functools.cache
def _dummy_hash() -> str:
    """A real hash at the configured cost, so an unknown e-mail takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    """SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, ip: str | None = None, timezone: str | None = None) -> Actor:
    """The Actor of a user row (with the tenant's timezone when known)."""
    return Actor(user_id=user.id, tenant_id=user.tenant_id, role=str(user.role), name=user.name,
                 email=user.email, is_platform_operator=user.is_platform_operator,
                 locale=user.locale, ip=ip, timezone=timezone or "America/Sao_Paulo")


def authenticate(
    session: Session, *, email: str, password: str, ip: str | None = None, user_agent: str | None = None
) -> tuple[str, Actor]:
    """Check the credentials and open a session. Returns (cookie token, actor).

    Raises InvalidCredentials with one message for every kind of failure.
    """
    user = find_user_by_email(session, normalize_email(email)) if email else None
    valid = check_password(password, user.password_hash if user else _dummy_hash())
    tenant = _active_tenant(session, user) if user is not None and valid and user.is_active else None
    if tenant is None:
        if user is not None:
            audit.record(session, actor=None, tenant_id=user.tenant_id, action="auth.login_failed",
                         target_type="user", target_id=user.id, after={"ip": ip})
        raise InvalidCredentials("invalid e-mail or password")
    token = open_session(session, user=user, ip=ip, user_agent=user_agent)
    return token, actor_for(user, ip=ip, timezone=tenant.timezone)


def _active_tenant(session: Session, user: User) -> Tenant | None:
    """The user's tenant, or None when it is missing or switched off."""
    tenant = session.get(Tenant, user.tenant_id)
    return tenant if tenant is not None and tenant.is_active else None


def open_session(session: Session, *, user: User, ip: str | None = None, user_agent: str | None = None) -> str:
    """Create a session row for `user` and return the raw token."""
    settings = get_settings()
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(UserSession(
        tenant_id=user.tenant_id, user_id=user.id, token_hash=hash_token(token), created_at=now,
        last_seen_at=now, expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
        ip=ip, user_agent=(user_agent or "")[:255] or None,
    ))
    user.last_login_at = now
    session.add(user)
    audit.record(session, actor=actor_for(user, ip=ip), tenant_id=user.tenant_id, action="auth.login",
                 target_type="user", target_id=user.id)
    return token


def resolve_session(session: Session, *, token: str | None, ip: str | None = None) -> Actor | None:
    """The actor behind a cookie token, or None if it is unknown, expired or revoked."""
    if not token:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None:
        return None
    now = utcnow()
    idle = dt.timedelta(minutes=get_settings().session_idle_minutes)
    if not is_session_live(now=now, last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                           revoked_at=row.revoked_at, idle=idle):
        return None
    user = session.get(User, row.user_id)
    tenant = _active_tenant(session, user) if user is not None and user.is_active else None
    if tenant is None:
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.add(row)
    return actor_for(user, ip=ip, timezone=tenant.timezone)


def logout(session: Session, *, token: str | None) -> bool:
    """Revoke the session behind `token`. Returns whether one was live."""
    if not token:
        return False
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(session, actor=None, tenant_id=row.tenant_id, action="auth.logout",
                 target_type="user", target_id=row.user_id)
    return True


def revoke_user_sessions(session: Session, *, user_id: int) -> int:
    """Revoke every live session of a user. Returns how many."""
    rows = session.exec(select(UserSession).where(UserSession.user_id == user_id,
                                                  UserSession.revoked_at.is_(None))).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    return len(rows)


def issue_login_ticket(token: str) -> str:
    """Park a fresh session token in Redis behind a one-time ticket."""
    ticket = secrets.token_urlsafe(32)
    get_redis().set(TICKET_PREFIX + hash_token(ticket), token, ex=get_settings().login_ticket_seconds)
    return ticket


def redeem_login_ticket(ticket: str | None) -> str | None:
    """Exchange a ticket for its session token, once."""
    if not ticket or len(ticket) > 100:
        return None
    value = get_redis().getdel(TICKET_PREFIX + hash_token(ticket))
    return value.decode() if value else None


def resolve_actor(token: str | None, *, ip: str | None = None) -> Actor | None:
    """`resolve_session` in its own transaction, for page guards and handlers."""
    if not token:
        return None
    with session_scope() as session:
        return resolve_session(session, token=token, ip=ip)


def peek_actor(token: str | None, *, ip: str | None = None) -> Actor | None:
    """The actor behind a live session, read in one statement and without counting as activity.

    For real-time pushes: a push is not the user doing something, so it must not keep an idle
    session alive, and it runs for every open tab on every event, so it is one autocommit SELECT
    (no BEGIN and no ROLLBACK round trips).
    """
    if not token:
        return None
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(_PEEK, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    idle = dt.timedelta(minutes=get_settings().session_idle_minutes)
    if not is_session_live(now=utcnow(), last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                           revoked_at=row.revoked_at, idle=idle):
        return None
    return Actor(user_id=row.id, tenant_id=row.tenant_id, role=str(row.role), name=row.name, email=row.email,
                 is_platform_operator=row.is_platform_operator, locale=row.locale, ip=ip,
                 timezone=row.timezone or "America/Sao_Paulo")


_PEEK = (select(UserSession.last_seen_at, UserSession.expires_at, UserSession.revoked_at, User.id, User.tenant_id,
                User.role, User.name, User.email, User.is_platform_operator, User.locale, Tenant.timezone)
         .join(User, User.id == UserSession.user_id).join(Tenant, Tenant.id == User.tenant_id)
         .where(UserSession.token_hash == bindparam("token_hash"), User.is_active.is_(True),
                Tenant.is_active.is_(True)))


def login(email: str, password: str, *, ip: str | None = None, user_agent: str | None = None) -> tuple[str, Actor]:
    """Authenticate, commit the session, then park it behind a ticket. Returns (ticket, actor).

    A failed attempt still commits its audit row before InvalidCredentials is raised.
    """
    failure: InvalidCredentials | None = None
    with session_scope() as session:
        try:
            token, actor = authenticate(session, email=email, password=password, ip=ip, user_agent=user_agent)
        except InvalidCredentials as exc:
            failure = exc
    if failure is not None:
        raise failure
    return issue_login_ticket(token), actor
