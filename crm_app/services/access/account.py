"""Self-service for the logged-in user on /account: password, 2FA and their own sessions.

Every function takes the actor re-derived from the cookie; a user only ever touches their own row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_app.db import utcnow
from crm_app.domain.passwords import password_problems
from crm_app.errors import CRMError, NotFound, ValidationError
from crm_app.models import User
from crm_app.services.access import mfa, passwords, sessions
from crm_app.services.core import audit
from crm_app.services.core.actors import Actor


class WrongPassword(CRMError):
    """The current password typed to confirm a change is wrong."""

    code = "wrong_current_password"
    status = 401


class PasswordRefused(ValidationError):
    """The new password breaks a rule; `problems` holds the i18n keys of every reason."""

    code = "password_refused"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("password refused")
        self.problems = problems


@dataclass(frozen=True)
class AccountInfo:
    """What /account shows about the user: identity, 2FA state and recovery codes left."""

    name: str
    email: str
    role: str
    mfa_enabled: bool
    mfa_required: bool
    recovery_codes_left: int
    # Opt-in: an e-mail when a conversation is assigned to me while I am away.
    email_assigned_while_away: bool = False


def _own_user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    if user is None or user.tenant_id != actor.tenant_id or not user.is_active:
        raise NotFound("user not found")
    return user


def account_info(session: Session, *, actor: Actor) -> AccountInfo:
    """What /account shows about the actor."""
    user = _own_user(session, actor)
    return AccountInfo(user.name, user.email, str(user.role), mfa.is_enabled(user),
                       mfa.role_requires_2fa(session, user.tenant_id, str(user.role)),
                       mfa.remaining_recovery_codes(session, user_id=user.id) if mfa.is_enabled(user) else 0,
                       user.email_assigned_while_away)


def set_email_assigned_while_away(session: Session, *, actor: Actor, enabled: bool) -> bool:
    """Turn the actor's own "e-mail me a conversation assigned to me while I am away" on or off."""
    user = _own_user(session, actor)
    if user.email_assigned_while_away != bool(enabled):
        user.email_assigned_while_away = bool(enabled)
        session.add(user)
        audit.record(session, actor=actor, tenant_id=actor.tenant_id, action="user.preferences", target_type="user",
                     target_id=user.id, after={"email_assigned_while_away": bool(enabled)})
    return user.email_assigned_while_away


@dataclass(frozen=True)
class AccountOverview:
    """Everything /account shows at once: the account and the user's own live sessions."""

    info: AccountInfo
    sessions: list[sessions.SessionRow]


def account_overview(session: Session, *, actor: Actor, current_token: str | None = None) -> AccountOverview:
    """The /account page's read model: `account_info` and `list_sessions` from one snapshot.

    Args:
        session: The caller's session.
        actor: The logged-in user (re-derived from the cookie); only their own rows are read.
        current_token: The cookie's token, so the current session is marked.

    Returns:
        The account facts and the live sessions, newest activity first.
    """
    return AccountOverview(account_info(session, actor=actor),
                           sessions.list_sessions(session, actor=actor, current_token=current_token))


def change_password(session: Session, *, actor: Actor, current: str, new: str, current_token: str | None) -> int:
    """Set a new password after the current one; ends every other session (ASVS 7.4.3). Returns how many."""
    user = _own_user(session, actor)
    if not passwords.check_password(current, user.password_hash):
        raise WrongPassword("wrong current password")
    problems = password_problems(new, email=user.email, name=user.name)
    if problems:
        raise PasswordRefused(problems)
    if passwords.check_password(new, user.password_hash):
        raise PasswordRefused(["password.same_as_old"])
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = utcnow()
    session.add(user)
    audit.record(session, actor=actor, tenant_id=user.tenant_id, action="auth.password_changed",
                 target_type="user", target_id=user.id)
    return sessions.revoke_user_sessions(session, user_id=user.id, actor=actor, reason="password_changed",
                                         except_token=current_token)


def logout_everywhere(session: Session, *, actor: Actor) -> int:
    """"Sair de todas as sessões": every session of the actor ends, this one included."""
    _own_user(session, actor)
    return sessions.revoke_user_sessions(session, user_id=actor.user_id, actor=actor, reason="user_logout_all")


def finish_enrolment(session: Session, *, actor: Actor, code: str) -> list[str]:
    """Confirm 2FA with the first code; returns the recovery codes, shown this once."""
    return mfa.confirm_enrolment(session, actor=actor, code=code)


def rotate_session(session: Session, *, actor: Actor, current_token: str | None, ip: str | None = None,
                   user_agent: str | None = None) -> str:
    """A new session token after a privilege change (2FA turned on, ASVS 7.2.4); the old one is revoked.

    Returns the new token; the browser takes it as a cookie through a one-time login ticket.
    """
    user = _own_user(session, actor)
    if current_token:
        sessions.logout(session, token=current_token, ip=ip)
    return sessions.open_session(session, user=user, ip=ip, user_agent=user_agent, mfa=mfa.is_enabled(user))
