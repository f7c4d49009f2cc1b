"""One-time links that let a person set their password: invites for new users and resets by an admin.

The link carries a 256-bit random token in the URL fragment (`/invite#<token>`), so it never reaches a server
log or a Referer header. Only the token's SHA-256 is stored, on the user row, with its expiry: a user has at most
one live link, and issuing a new one kills the old. The link is e-mailed to the person when the tenant can send
e-mail (its SMTP settings, or the platform's); the admin also sees it once, to pass on if the e-mail goes astray.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from crm_app.config import get_settings
from crm_app.db import utcnow
from crm_app.errors import NotFound
from crm_app.models import Tenant, User
from crm_app.services.access import passwords, sessions
from crm_app.services.core import audit
from crm_app.services.mail import outbox as mail_outbox

LINK_LIFETIME = dt.timedelta(hours=72)
LINK_PATH = "/invite"
# Longest token we accept from a browser; ours are 43 characters.
MAX_TOKEN_LENGTH = 100


class InviteInvalid(NotFound):
    """Unknown, used, expired, or for a user or tenant that is switched off: one answer for all."""

    code = "invite_invalid"


@dataclass(frozen=True)
class InviteInfo:
    """What the public page may show about a live link."""

    name: str
    email: str
    tenant_name: str
    # "invite" for someone who never had a password, "reset" otherwise.
    purpose: str


def hash_link_token(token: str) -> str:
    """SHA-256 of a link token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    """The absolute link an admin hands to the person."""
    return f"{get_settings().app_url.rstrip('/')}{LINK_PATH}#{token}"


def issue_link(session: Session, *, user: User, now: dt.datetime | None = None) -> str:
    """Give `user` a fresh one-time link (valid 72 h) and return its raw token; any older link stops working.

    The caller authorises and audits; the raw token is never stored.
    """
    token = secrets.token_urlsafe(32)
    user.password_token_hash = hash_link_token(token)
    user.password_token_expires_at = (now or utcnow()) + LINK_LIFETIME
    session.add(user)
    return token


def email_link(session: Session, *, user: User, token: str, inviter: str | None = None) -> bool:
    """Queue the e-mail that carries `user`'s link (an invitation from `inviter`, else a reset), in the
    caller's transaction. Returns False, queuing nothing, when the tenant has no SMTP server to send with."""
    if not mail_outbox.can_send(session, tenant_id=user.tenant_id):
        return False
    template = "invite" if inviter is not None else "reset"
    params = {"name": user.name, "link": link_url(token), **({"inviter": inviter} if inviter is not None else {})}
    # Someone invited never chose a language: theirs is a default, so the tenant's language speaks to them.
    chosen = user.last_login_at is not None or user.password_changed_at is not None
    mail_outbox.queue_email(session, tenant_id=user.tenant_id, to=user.email, template=template, params=params,
                            locale=user.locale if chosen else None, user_id=user.id)
    return True


def clear_link(user: User) -> None:
    """Forget a pending link (deactivation, or once it is used)."""
    user.password_token_hash = None
    user.password_token_expires_at = None


def _live_user(session: Session, token: str | None, *, lock: bool = False) -> tuple[User, Tenant]:
    """The active user of an active tenant whose live link is `token`; InviteInvalid otherwise."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InviteInvalid("invite link is not valid")
    query = select(User).where(User.password_token_hash == hash_link_token(token))
    user = session.exec(query.with_for_update() if lock else query).first()
    tenant = session.get(Tenant, user.tenant_id) if user is not None else None
    expires = user.password_token_expires_at if user is not None else None
    if user is None or tenant is None or not user.is_active or not tenant.is_active or expires is None \
            or expires <= utcnow():
        raise InviteInvalid("invite link is not valid")
    return user, tenant


def peek(session: Session, *, token: str | None) -> InviteInfo:
    """Who a live link is for, without using it."""
    user, tenant = _live_user(session, token)
    purpose = "invite" if user.password_changed_at is None and user.last_login_at is None else "reset"
    return InviteInfo(name=user.name, email=user.email, tenant_name=tenant.name, purpose=purpose)


def accept(session: Session, *, token: str | None, password: str, ip: str | None = None) -> str:
    """Set the password behind a live link, once. Returns the user's e-mail, for the login form.

    The row is locked, so two tabs using one link at once cannot both succeed. Any session the user still
    had is revoked: a new password is a fresh start.
    """
    user, _ = _live_user(session, token, lock=True)
    passwords.check_strength(password, email=user.email, name=user.name)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    clear_link(user)
    session.add(user)
    actor = sessions.actor_for(user, ip=ip)
    sessions.revoke_user_sessions(session, user_id=user.id, actor=actor, reason="password_set")
    audit.record(session, actor=actor, tenant_id=user.tenant_id, action="user.password_set", target_type="user",
                 target_id=user.id, after={"via": "link"})
    return user.email
