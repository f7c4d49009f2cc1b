"""Column helpers shared by the table modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Integer
from sqlmodel import Field

from crm_app.db import EncryptedString, UTCDateTime, short_string, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


def id_field(big: bool = False) -> Any:
    """An auto-incrementing primary key; BIGINT on PostgreSQL when `big`."""
    if big:
        return Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    return Field(default=None, primary_key=True)


def tenant_field() -> Any:
    """The non-null, indexed owner of every tenant-owned row."""
    return Field(
        sa_column=Column(Integer, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    )


def fk(
    target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None, big: bool = False
) -> Any:
    """A foreign key column to `target` ("table.column")."""
    column = Column(BigId if big else Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)


def text(length: int = 255, *, nullable: bool = False, index: bool = False, default: Any = ...) -> Any:
    """A bounded string column."""
    kwargs: dict[str, Any] = {"sa_type": short_string(length), "nullable": nullable, "index": index}
    if default is not ...:
        kwargs["default"] = default
    elif nullable:
        kwargs["default"] = None
    return Field(**kwargs)


def now_field() -> Any:
    """A creation timestamp, set by Python in UTC."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    """An optional UTC timestamp."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field(default_factory=dict) -> Any:
    """A JSON column that is the same on PostgreSQL and SQLite."""
    return Field(default_factory=default_factory, sa_type=JSON, nullable=False)


def secret_field(*, nullable: bool = False) -> Any:
    """A secret, encrypted at rest with AES-GCM."""
    return Field(default=None if nullable else ..., sa_type=EncryptedString, nullable=nullable)


__all__ = ["id_field", "tenant_field", "fk", "text", "now_field", "timestamp", "json_field", "secret_field"]
