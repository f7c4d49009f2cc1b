"""E-mails the app sends: one row per message, written in the caller's transaction and sent by a job."""

import datetime as dt
from enum import StrEnum

from sqlmodel import SQLModel

from crm_app.models._base import fk, id_field, now_field, secret_field, tenant_field, text, timestamp


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # an attempt holds it until `next_attempt_at` (its lease)
    SENT = "sent"
    FAILED = "failed"


class Email(SQLModel, table=True):
    """One e-mail. The bodies are rendered when it is queued and stored encrypted: an invitation's body holds
    a live one-time link, which the database otherwise keeps only as a hash."""

    __tablename__ = "emails"

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    user_id: int | None = fk("users.id", nullable=True, ondelete="SET NULL")
    recipient: str = text(254)
    template: str = text(40)
    locale: str = text(10)
    subject: str = text(255)
    body_text: str = secret_field()
    body_html: str = secret_field()
    status: EmailStatus = text(10, index=True, default=EmailStatus.QUEUED)
    attempts: int = 0
    # Why the last attempt failed, in words (an SMTP reply code and text; never a password).
    last_error: str | None = text(500, nullable=True)
    created_at: dt.datetime = now_field()
    updated_at: dt.datetime = now_field()
    next_attempt_at: dt.datetime | None = timestamp()
    sent_at: dt.datetime | None = timestamp()
