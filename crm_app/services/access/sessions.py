"""Server-side sessions: opening, resolving and revoking them, their timeouts, and the tenant's security policy.

The cookie holds a random token (256 bits); the database holds only its SHA-256. The login event cannot set an
HttpOnly cookie over the websocket, so it stores a 30-second one-time ticket in Redis and the browser POSTs it
(same origin) to a backend route that exchanges it for the cookie (and revokes the session that browser had
before). The ticket is bound to the browser that asked for it: it stores the hash of that browser's pre-login
cookie (an HttpOnly random value every page load makes sure of), and only a request carrying the same cookie
redeems it, so a ticket minted by someone else and pushed to a victim's browser logs nobody in.

Every revocation is announced on Redis after commit (`core.realtime.publish_revoked_after_commit`), so the web
processes stop pushing to a revoked session at once instead of trusting their short session cache.

Timeouts are the settings `security.session_idle_minutes` / `security.session_absolute_hours` (the tenant's value,
else the install's, else 30 min / 12 h), read through the settings cache on every check, so a stricter policy
applies to sessions already open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import get_engine, session_scope, utcnow
from crm_app.domain.sessions import is_session_live
from crm_app.errors import NotFound, ValidationError
from crm_app.models import Role, Tenant, User, UserSession
from crm_app.queue import get_redis
from crm_app.services import settings
from crm_app.services.access import mfa
from crm_app.services.core import audit, realtime
from crm_app.services.core.actors import Actor, require_role

COOKIE_NAME = "crm_session"
# The browser's pre-login cookie: a random value that login tickets are bound to (set by api/prelogin.py).
PRELOGIN_COOKIE = "crm_prelogin"
PRELOGIN_MIN_LENGTH = 32  # shorter values are not ours: no ticket is ever bound to them
TICKET_PREFIX = "crm:login-ticket:"
# Written at most this often, so that page loads do not all write.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
# The settings of the security page, in SecurityPolicy's order.
POLICY_KEYS = ("security.require_2fa_roles", "security.session_idle_minutes", "security.session_absolute_hours",
               "security.attendants_edit_any_contact")
IDLE_RANGE = (5, 24 * 60)  # minutes a tenant may choose
ABSOLUTE_RANGE = (1, 7 * 24)  # hours


def hash_token(token: str) -> str:
    """SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, ip: str | None = None, timezone: str | None = None) -> Actor:
    """The Actor of a user row (with the tenant's timezone when known)."""
    return Actor(user_id=user.id, tenant_id=user.tenant_id, role=str(user.role), name=user.name,
                 email=user.email, is_platform_operator=user.is_platform_operator,
                 locale=user.locale, ip=ip, timezone=timezone or "America/Sao_Paulo")


def session_timeouts(session: Session | None, tenant_id: int | None) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle, absolute) for the tenant's sessions (None: the install's), from the settings registry."""
    idle = settings.value(session, "security.session_idle_minutes", tenant_id=tenant_id)
    absolute = settings.value(session, "security.session_absolute_hours", tenant_id=tenant_id)
    return dt.timedelta(minutes=idle), dt.timedelta(hours=absolute)


def find_active_tenant(session: Session, user: User) -> Tenant | None:
    """The user's tenant, or None when it is missing or switched off."""
    tenant = session.get(Tenant, user.tenant_id)
    return tenant if tenant is not None and tenant.is_active else None


def open_session(session: Session, *, user: User, ip: str | None = None, user_agent: str | None = None,
                 auth_method: str = "password", mfa: bool = False) -> str:
    """Create a session row for `user` and return the raw token: the one way a session is made (SSO too)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    _, absolute = session_timeouts(session, user.tenant_id)
    session.add(UserSession(
        tenant_id=user.tenant_id, user_id=user.id, token_hash=hash_token(token), created_at=now,
        last_seen_at=now, expires_at=now + absolute, ip=ip, user_agent=(user_agent or "")[:255] or None,
        auth_method=auth_method, mfa=mfa,
    ))
    user.last_login_at = now
    session.add(user)
    audit.record(session, actor=actor_for(user, ip=ip), tenant_id=user.tenant_id, action="auth.login",
                 target_type="user", target_id=user.id, after={"ip": ip, "method": auth_method, "mfa": mfa})
    return token


@dataclass(frozen=True)
class Access:
    """A live session's actor, and whether the tenant's 2FA policy still waits for this user to enrol."""

    actor: Actor
    must_enrol_2fa: bool
    session_id: int


def resolve_access(session: Session, *, token: str | None, ip: str | None = None) -> Access | None:
    """The live session behind a cookie token, or None if it is unknown, expired, revoked or its user is off."""
    if not token:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    tenant = find_active_tenant(session, user) if user is not None and user.is_active else None
    if tenant is None:
        return None
    now = utcnow()
    idle, absolute = session_timeouts(session, tenant.id)
    if not is_session_live(now=now, last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                           revoked_at=row.revoked_at, idle=idle, created_at=row.created_at, absolute=absolute):
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        session.add(row)
    # A single sign-on login had its second factor at the identity provider, under the company's own policy
    # there; the tenant's 2FA rule is about our password logins.
    must_enrol = row.auth_method != "sso" and mfa.must_enrol(session, user)
    return Access(actor=actor_for(user, ip=ip, timezone=tenant.timezone), must_enrol_2fa=must_enrol,
                  session_id=row.id)


def resolve_session(session: Session, *, token: str | None, ip: str | None = None) -> Actor | None:
    """The actor behind a cookie token, or None if it is unknown, expired or revoked."""
    access = resolve_access(session, token=token, ip=ip)
    return access.actor if access is not None else None


def logout(session: Session, *, token: str | None, ip: str | None = None) -> bool:
    """Revoke the session behind `token`. Returns whether one was live."""
    if not token:
        return False
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    realtime.publish_revoked_after_commit(session, [row.id])
    entry = audit.record(session, actor=None, tenant_id=row.tenant_id, action="auth.logout",
                         target_type="user", target_id=row.user_id, after={"ip": ip, "session_id": row.id})
    entry.ip = ip
    return True


def revoke_user_sessions(session: Session, *, user_id: int, actor: Actor | None = None, reason: str = "revoked",
                         except_token: str | None = None) -> int:
    """Revoke every live session of a user (but the one behind `except_token`), with an audit row. Returns how many.

    Called on deactivation, password change and "log out all my sessions"; an open tab of a revoked session loses
    access on its next event, because every event resolves the cookie against this table again, and its pushes
    stop as soon as the web processes hear the announcement.
    """
    query = select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if except_token:
        query = query.where(UserSession.token_hash != hash_token(except_token))
    rows = session.exec(query).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    realtime.publish_revoked_after_commit(session, [row.id for row in rows])
    user = session.get(User, user_id)
    if user is not None:
        audit.record(session, actor=actor, tenant_id=user.tenant_id, action="auth.sessions_revoked",
                     target_type="user", target_id=user_id,
                     after={"count": len(rows), "reason": reason, "kept_current": bool(except_token)})
    return len(rows)


@dataclass(frozen=True)
class SessionRow:
    """One of the user's own live sessions, as /account lists them (never the token)."""

    id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    ip: str | None
    user_agent: str | None
    auth_method: str
    mfa: bool
    current: bool


def list_sessions(session: Session, *, actor: Actor, current_token: str | None = None) -> list[SessionRow]:
    """The actor's own live sessions, newest activity first."""
    idle, absolute = session_timeouts(session, actor.tenant_id)
    now = utcnow()
    current_hash = hash_token(current_token) if current_token else None
    rows = session.exec(select(UserSession).where(UserSession.user_id == actor.user_id,
                                                  UserSession.tenant_id == actor.tenant_id,
                                                  UserSession.revoked_at.is_(None))
                        .order_by(UserSession.last_seen_at.desc())).all()
    return [SessionRow(r.id, r.created_at, r.last_seen_at, r.ip, r.user_agent, r.auth_method, r.mfa,
                       r.token_hash == current_hash)
            for r in rows if is_session_live(now=now, last_seen_at=r.last_seen_at, expires_at=r.expires_at,
                                             revoked_at=None, idle=idle, created_at=r.created_at, absolute=absolute)]


def revoke_session(session: Session, *, actor: Actor, session_id: int) -> None:
    """End one of the actor's own sessions; someone else's (or another tenant's) is NotFound."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != actor.user_id or row.tenant_id != actor.tenant_id:
        raise NotFound("session not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        realtime.publish_revoked_after_commit(session, [row.id])
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="auth.session_revoked",
                     target_type="session", target_id=row.id, after={"ip": row.ip})


@dataclass(frozen=True)
class SecurityPolicy:
    """The tenant's 2FA roles, session timeouts (with the install's defaults beside them) and whether attendants
    may edit any contact."""

    require_2fa_roles: list[str]
    idle_minutes: int
    absolute_hours: int
    default_idle_minutes: int
    default_absolute_hours: int
    attendants_edit_any_contact: bool = False


def get_security_policy(session: Session, *, actor: Actor) -> SecurityPolicy:
    """The tenant's 2FA roles and session timeouts (admins only), from the settings registry; the defaults beside
    them are what the tenant inherits (the install's values)."""
    require_role(actor, Role.ADMIN)
    if session.get(Tenant, actor.tenant_id) is None:
        raise NotFound("tenant not found")
    mine = settings.values(session, POLICY_KEYS, tenant_id=actor.tenant_id)
    install = settings.values(session, POLICY_KEYS[1:3], tenant_id=None)
    return SecurityPolicy(sorted(mine[POLICY_KEYS[0]]), mine[POLICY_KEYS[1]], mine[POLICY_KEYS[2]],
                          install[POLICY_KEYS[1]], install[POLICY_KEYS[2]], mine[POLICY_KEYS[3]])


class PolicyInvalid(ValidationError):
    """A security policy value out of range; `code` picks the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def update_security_policy(session: Session, *, actor: Actor, require_2fa_roles: list[str], idle_minutes: int,
                           absolute_hours: int, attendants_edit_any_contact: bool | None = None) -> SecurityPolicy:
    """Change the tenant's 2FA roles, session timeouts and (unless None) whether attendants may edit any
    contact; audited with before and after."""
    require_role(actor, Role.ADMIN)
    roles = sorted(set(require_2fa_roles))
    if any(r not in {x.value for x in Role} for r in roles):
        raise PolicyInvalid("policy_bad_role", "unknown role")
    if not IDLE_RANGE[0] <= idle_minutes <= IDLE_RANGE[1]:
        raise PolicyInvalid("policy_bad_idle", "idle timeout out of range")
    if not ABSOLUTE_RANGE[0] <= absolute_hours <= ABSOLUTE_RANGE[1]:
        raise PolicyInvalid("policy_bad_absolute", "absolute timeout out of range")
    if idle_minutes > absolute_hours * 60:
        raise PolicyInvalid("policy_idle_over_absolute", "idle timeout longer than the absolute one")
    before = get_security_policy(session, actor=actor)
    wanted = dict(zip(POLICY_KEYS, (roles, idle_minutes, absolute_hours, attendants_edit_any_contact), strict=True))
    current = dict(zip(POLICY_KEYS, (before.require_2fa_roles, before.idle_minutes, before.absolute_hours,
                                     before.attendants_edit_any_contact), strict=True))
    # Only what differs from the effective value: a value left as inherited stays inherited.
    changes = {key: new for key, new in wanted.items() if new is not None and new != current[key]}
    settings.update(session, actor=actor, changes=changes, tenant_id=actor.tenant_id)
    after = get_security_policy(session, actor=actor)
    audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="security.policy_change",
                 target_type="tenant", target_id=actor.tenant_id,
                 before={"require_2fa_roles": before.require_2fa_roles, "idle_minutes": before.idle_minutes,
                         "absolute_hours": before.absolute_hours,
                         "attendants_edit_any_contact": before.attendants_edit_any_contact},
                 after={"require_2fa_roles": after.require_2fa_roles, "idle_minutes": after.idle_minutes,
                        "absolute_hours": after.absolute_hours,
                        "attendants_edit_any_contact": after.attendants_edit_any_contact})
    return after


def browser_binding(prelogin: str | None) -> str | None:
    """The pre-login cookie's value if it can bind a login ticket (long enough to be one of ours), else None."""
    if not prelogin or not PRELOGIN_MIN_LENGTH <= len(prelogin) <= 100:
        return None
    return prelogin


def browser_proof(browser: str | None) -> str | None:
    """What our login page adds to an SSO start link to show it came from this browser: a digest of the
    pre-login cookie, which a link planted elsewhere cannot know (see `proves_browser`)."""
    binding = browser_binding(browser)
    return hash_token(binding) if binding is not None else None


def proves_browser(proof: str | None, browser: str | None) -> bool:
    """Whether `proof` came from `browser_proof` of this request's pre-login cookie."""
    expected = browser_proof(browser)
    return bool(proof) and expected is not None and hmac.compare_digest(str(proof), expected)


def issue_login_ticket(token: str, *, browser: str) -> str:
    """Park a fresh session token in Redis behind a one-time ticket that only `browser` can redeem.

    `browser` is the pre-login cookie of the browser that asked (see `browser_binding`); its hash is stored with
    the ticket. Raises ValueError without one: an unbound ticket is what login CSRF needs.
    """
    if browser_binding(browser) is None:
        raise ValueError("a login ticket must be bound to the browser's pre-login cookie")
    ticket = secrets.token_urlsafe(32)
    value = json.dumps({"token": token, "browser": hash_token(browser)})
    get_redis().set(TICKET_PREFIX + hash_token(ticket), value, ex=get_settings().login_ticket_seconds)
    return ticket


def redeem_login_ticket(ticket: str | None, *, browser: str | None) -> str | None:
    """Exchange a ticket for its session token, once, and only in the browser it was issued to.

    A ticket presented by another browser (or with no pre-login cookie) is used up and gives nothing: whoever
    pushed it there learns nothing, and the browser's own session is left alone by the caller.
    """
    if not ticket or len(ticket) > 100:
        return None
    raw = get_redis().getdel(TICKET_PREFIX + hash_token(ticket))
    if not raw:
        return None
    try:
        parked = json.loads(raw)
        bound, token = str(parked["browser"]), str(parked["token"])
    except (ValueError, KeyError, TypeError):  # parked by an older release, or not ours: nobody is logged in
        return None
    binding = browser_binding(browser)
    if binding is None or not hmac.compare_digest(bound, hash_token(binding)):
        return None
    return token


def resolve_actor(token: str | None, *, ip: str | None = None) -> Actor | None:
    """`resolve_session` in its own transaction, for routes and handlers.

    Fails closed on the 2FA policy: a user who still has to enrol is nobody here (only /account serves them).
    """
    access = resolve_actor_access(token, ip=ip)
    return access.actor if access is not None and not access.must_enrol_2fa else None


def resolve_actor_access(token: str | None, *, ip: str | None = None) -> Access | None:
    """`resolve_access` in its own transaction: the actor plus the 2FA-enrolment flag."""
    if not token:
        return None
    with session_scope() as session:
        return resolve_access(session, token=token, ip=ip)


def peek_actor(token: str | None, *, ip: str | None = None) -> Actor | None:
    """The actor behind a live session, read in one statement and without counting as activity.

    For real-time pushes: a push is not the user doing something, so it must not keep an idle
    session alive, and it runs for every open tab on every event, so it is one autocommit SELECT
    (no BEGIN and no ROLLBACK round trips).
    """
    peeked = peek_session(token, ip=ip)
    return peeked[1] if peeked is not None else None


def peek_session(token: str | None, *, ip: str | None = None) -> tuple[int, Actor] | None:
    """`(session id, actor)` of the live session behind a cookie token, as `peek_actor` reads it; None if none.

    The id is what a browser tab's state is bound to, and what revocation announcements name.
    """
    if not token:
        return None
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(_PEEK, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    idle, absolute = session_timeouts(None, row.tenant_id)  # the settings cache: no query when warm
    if not is_session_live(now=utcnow(), last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                           revoked_at=row.revoked_at, idle=idle, created_at=row.created_at, absolute=absolute):
        return None
    return row.session_id, Actor(user_id=row.id, tenant_id=row.tenant_id, role=str(row.role), name=row.name,
                                 email=row.email, is_platform_operator=row.is_platform_operator, locale=row.locale,
                                 ip=ip, timezone=row.timezone or "America/Sao_Paulo")


_PEEK = (select(UserSession.id.label("session_id"), UserSession.last_seen_at, UserSession.expires_at,
                UserSession.revoked_at, UserSession.created_at, User.id, User.tenant_id, User.role, User.name,
                User.email, User.is_platform_operator, User.locale, Tenant.timezone)
         .join(User, User.id == UserSession.user_id).join(Tenant, Tenant.id == User.tenant_id)
         .where(UserSession.token_hash == bindparam("token_hash"), User.is_active.is_(True),
                Tenant.is_active.is_(True)))
