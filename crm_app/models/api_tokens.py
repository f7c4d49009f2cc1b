"""Per-tenant tokens for the REST API: only a hash is stored, and a token can be revoked."""

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    name: str = text(80)
    # SHA-256 of the secret, hex; the secret itself is shown once, at creation.
    token_hash: str = text(64)
    # The first characters of the token, so that admins can tell tokens apart ("crm_ab12…").
    prefix: str = text(16)
    # What the token may do, e.g. ["conversations:read", "messages:write"].
    scopes: list[str] = json_field(default_factory=list)
    # The user whose role and tenant the token acts with; deactivating the user stops the token.
    user_id: int = fk("users.id", ondelete="CASCADE")
    created_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: dt.datetime = now_field()
    last_used_at: dt.datetime | None = timestamp()
    expires_at: dt.datetime | None = timestamp()
    revoked_at: dt.datetime | None = timestamp()
