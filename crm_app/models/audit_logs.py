"""The audit trail: who did what to which object, from where, hash-chained per tenant.

An entry keeps ids, codes and `digest`; the personal values it refers to (the actor's name, the before and
after values) live in `audit_details`, keyed by that digest, so erasure can delete them while the chain, which
covers only the digest, still verifies. No foreign key points into or out of these tables (ids are plain
values): nothing ever updates a sealed entry behind the chain's back, not even a cascade.
"""

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer
from sqlalchemy import text as text_
from sqlmodel import Field, Relationship, SQLModel

from crm_app.db import UTCDateTime, insert_clock, short_string
from crm_app.models._base import BigId, id_field, json_field, now_field, text, timestamp


class AuditDetail(SQLModel, table=True):
    """The personal values of one entry; `digest` = SHA-256 over `salt` and the values' canonical JSON."""

    __tablename__ = "audit_details"

    digest: str = Field(sa_type=short_string(64), primary_key=True)
    tenant_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    salt: str = text(32)
    actor_label: str = text(160)
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()


class AuditLog(SQLModel, table=True):
    """One entry. Unsealed (`hash` NULL) until the sealing job gives it `seq`, `prev_hash` and `hash`."""

    __tablename__ = "audit_logs"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),
        Index("ix_audit_logs_tenant_seq", "tenant_id", "seq", unique=True),
        Index("ix_audit_logs_tenant_actor", "tenant_id", "actor_user_id", "id"),
        Index("ix_audit_logs_tenant_action", "tenant_id", "action", "id"),
        Index("ix_audit_logs_tenant_target", "tenant_id", "target_type", "target_id", "id"),
        Index("ix_audit_logs_tenant_ip", "tenant_id", "ip", "id"),
        Index("ix_audit_logs_tenant_created", "tenant_id", "created_at"),
        # The sealing job's queue: the few entries not chained yet.
        Index("ix_audit_logs_unsealed", "tenant_id", "id", postgresql_where=text_("hash IS NULL"),
              sqlite_where=text_("hash IS NULL")),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    actor_user_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    action: str = text(80)
    target_type: str = text(40)
    target_id: str | None = text(64, nullable=True)
    ip: str | None = text(64, nullable=True)
    # Stamped by the database at insert, with the id, so ids and times agree (the trail's date ranges rely on it);
    # RETURNING hands it back at flush, and sealing hashes the stored value.
    created_at: dt.datetime | None = Field(default=None, sa_column=Column(
        UTCDateTime, nullable=False, server_default=insert_clock()))
    digest: str = text(64)
    seq: int | None = Field(default=None, sa_column=Column(BigId, nullable=True))
    prev_hash: str | None = text(64, nullable=True)
    hash: str | None = text(64, nullable=True)
    sealed_at: dt.datetime | None = timestamp()

    details: AuditDetail | None = Relationship(sa_relationship_kwargs={
        "primaryjoin": "foreign(AuditLog.digest) == AuditDetail.digest", "viewonly": True, "uselist": False,
        "lazy": "select"})

    # The values as callers wrote them; empty once erasure has removed them.
    @property
    def before(self) -> dict[str, Any]:
        return dict(self.details.before) if self.details else {}

    @property
    def after(self) -> dict[str, Any]:
        return dict(self.details.after) if self.details else {}

    @property
    def actor_label(self) -> str:
        return self.details.actor_label if self.details else ""


class AuditChainHead(SQLModel, table=True):
    """The newest sealed position of a tenant's chain, and where a documented purge left its start."""

    __tablename__ = "audit_chain_heads"

    tenant_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False, index=True))
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hash: str = text(64, default="")
    purged_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    purged_hash: str = text(64, default="")
    updated_at: dt.datetime = now_field()
