"""LGPD/GDPR: the consent ledger, data-subject requests, legal holds, the erasure ledger, retention policies."""

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, json_field, now_field, tenant_field, text, timestamp


class ConsentPurpose(StrEnum):
    ATENDIMENTO = "atendimento"
    MARKETING = "marketing"
    PESQUISA = "pesquisa"


class ConsentSource(StrEnum):
    INBOUND_MESSAGE = "inbound_message"
    BOT_STEP = "bot_step"
    CAMPAIGN_REPLY = "campaign_reply"
    OPT_OUT_KEYWORD = "opt_out_keyword"
    META_131050 = "meta_131050"
    IMPORT = "import"
    API = "api"
    ADMIN = "admin"


class ConsentEvent(SQLModel, table=True):
    """One grant or withdrawal; rows are only ever added (the current state is the latest row per purpose)."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_contact_purpose", "tenant_id", "contact_id", "purpose", "id"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    contact_id: int = fk("contacts.id", ondelete="CASCADE", index=False)
    purpose: str = text(20)
    granted: bool
    legal_basis: str = text(40)
    source: str = text(20)
    policy_version: str = text(40, default="")
    # The proof: the WhatsApp message id (hashed once the person is erased) or who acted.
    proof: str = text(160, default="")
    actor_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: dt.datetime = now_field()


class RequestKind(StrEnum):
    ACCESS = "access"
    CORRECTION = "correction"
    ERASURE = "erasure"
    CONSENT_WITHDRAWAL = "consent_withdrawal"


class RequestStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


class PrivacyRequest(SQLModel, table=True):
    """A data-subject request (LGPD art. 18) with its due date, status, assignee, log and job progress."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_tenant_due", "tenant_id", "status", "due_on"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    contact_id: int = fk("contacts.id", ondelete="CASCADE")
    kind: str = text(20)
    status: str = text(12, default=RequestStatus.OPEN)
    due_on: dt.date = Field(sa_type=sa.Date, nullable=False)
    assignee_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_by_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    details: str = Field(default="", sa_type=sa.Text, nullable=False)
    # [{"at", "by", "event"}], oldest first; never personal values.
    log: list[dict[str, Any]] = json_field(list)
    # The job's resumable position: {"step": name, "done": n, "total": n}.
    progress: dict[str, Any] = json_field()
    result_key: str | None = text(255, nullable=True)
    download_token_hash: str | None = text(64, nullable=True)
    download_expires_at: dt.datetime | None = timestamp()
    error: str | None = text(500, nullable=True)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
    completed_at: dt.datetime | None = timestamp()


class LegalHold(SQLModel, table=True):
    """A contact whose data must be kept (a lawsuit, an investigation): erasure and retention skip it."""

    __tablename__ = "legal_holds"

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    contact_id: int = fk("contacts.id", ondelete="CASCADE")
    reason: str = text(500)
    created_by_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: dt.datetime = now_field()
    released_at: dt.datetime | None = timestamp()


class ErasureRecord(SQLModel, table=True):
    """Who was erased and when (ids only), re-applied after a restore so erased people never come back."""

    __tablename__ = "erasure_ledger"
    __table_args__ = (UniqueConstraint("tenant_id", "contact_id", name="uq_erasure_ledger_contact"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    contact_id: int = Field(sa_type=sa.Integer, nullable=False)
    erased_at: dt.datetime = now_field()


class RetentionAction(StrEnum):
    MESSAGE_BODIES = "message_bodies"
    ANONYMISE_CONTACTS = "anonymise_contacts"
    PURGE_CLOSED = "purge_closed"


class RetentionPolicy(SQLModel, table=True):
    """Delete or anonymise after N days, for the tenant or one number or label."""

    __tablename__ = "retention_policies"

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    action: str = text(24)
    days: int
    inbox_id: int | None = fk("inboxes.id", nullable=True, ondelete="CASCADE")
    label_id: int | None = fk("labels.id", nullable=True, ondelete="CASCADE")
    enabled: bool = True
    last_run_at: dt.datetime | None = timestamp()
    last_report: dict[str, Any] = json_field()
    created_at: dt.datetime = now_field()


class DpoReport(SQLModel, table=True):
    """A month's report for the DPO (a PDF in the storage), made once by the scheduler and kept for download."""

    __tablename__ = "dpo_reports"
    __table_args__ = (UniqueConstraint("tenant_id", "month", name="uq_dpo_reports_month"),)

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    month: dt.date = Field(sa_type=sa.Date, nullable=False)  # the month's first day, in the tenant's time zone
    storage_key: str = text(255)
    sha256: str = text(64)
    size: int = Field(default=0, nullable=False)
    created_at: dt.datetime = now_field()
