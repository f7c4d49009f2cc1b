"""Users and their server-side sessions."""

import datetime as dt
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, now_field, secret_field, tenant_field, text, timestamp


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    ATTENDANT = "attendant"
    DPO = "dpo"  # the encarregado (LGPD art. 41): the compliance area only, outside the inbox's rank chain
    EXECUTIVE = "executive"  # reads analytics for the whole tenant; changes nothing


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email", name="uq_users_email"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    email: str = text(254)
    name: str = text(120)
    password_hash: str = text(100)
    role: Role = text(20)
    is_platform_operator: bool = False
    is_active: bool = True
    locale: str = text(10, default="pt-BR")
    created_at: dt.datetime = now_field()
    last_login_at: dt.datetime | None = timestamp()
    password_changed_at: dt.datetime | None = timestamp()
    # Most conversations this person owns at once; auto-assignment skips them at the cap.
    capacity: int = 10
    # TOTP 2FA: the secret (encrypted), when it was confirmed, and the last time step accepted (no replay).
    totp_secret: str | None = secret_field(nullable=True)
    totp_enabled_at: dt.datetime | None = timestamp()
    totp_last_step: int | None = None
    # The identity provider's `sub` for a user who signs in with SSO.
    sso_subject: str | None = text(255, nullable=True)
    # A pending invite or password-reset link: only the SHA-256 of its token, and when it stops working.
    password_token_hash: str | None = text(64, nullable=True, index=True)
    password_token_expires_at: dt.datetime | None = timestamp()
    # Opt-in (account page): e-mail me when a conversation is assigned to me while I am away.
    email_assigned_while_away: bool = False


class UserSession(SQLModel, table=True):
    """A login. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_sessions_token_hash"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    user_id: int = fk("users.id", ondelete="CASCADE")
    token_hash: str = text(64)
    created_at: dt.datetime = now_field()
    last_seen_at: dt.datetime = now_field()
    expires_at: dt.datetime = timestamp(nullable=False)
    revoked_at: dt.datetime | None = timestamp()
    ip: str | None = text(64, nullable=True)
    user_agent: str | None = text(255, nullable=True)
    # "password" or "sso"; and whether a second factor was checked for this login.
    auth_method: str = text(16, default="password")
    mfa: bool = False
