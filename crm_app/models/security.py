"""Security records: 2FA recovery codes and per-tenant single sign-on (OIDC)."""

import datetime as dt
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, secret_field, tenant_field, text, timestamp


class RecoveryCode(SQLModel, table=True):
    """A one-time 2FA recovery code; only its hash is stored."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash", name="uq_recovery_codes_user_hash"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    user_id: int = fk("users.id", ondelete="CASCADE")
    code_hash: str = text(100)
    created_at: dt.datetime = now_field()
    used_at: dt.datetime | None = timestamp()


class SsoConfig(SQLModel, table=True):
    """One OIDC identity provider per tenant."""

    __tablename__ = "sso_configs"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_sso_configs_tenant"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    enabled: bool = False
    issuer: str = text(255)
    client_id: str = text(255)
    client_secret: str = secret_field()
    scopes: str = text(255, default="openid email profile")
    # The ID-token claim that lists the user's groups, and how groups map to roles: {"crm-admins": "admin"}.
    groups_claim: str = text(64, default="groups")
    group_roles: dict[str, Any] = json_field()
    # Role for a user in none of the mapped groups; None refuses them.
    default_role: str | None = text(20, nullable=True)
    # Create a user on first SSO login (just-in-time provisioning).
    auto_create_users: bool = True
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
