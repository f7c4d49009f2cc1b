"""CSAT surveys: one per closed conversation cycle that was offered one, with the customer's rating and comment."""

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, Index, SmallInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text, timestamp


class CsatStatus(StrEnum):
    SENT = "sent"  # the list went out; no rating yet
    RATED = "rated"  # rated; a comment is welcome until `comment_until`
    DONE = "done"  # rated, and commented or thanked


class CsatSurvey(SQLModel, table=True):
    __tablename__ = "csat_surveys"
    __table_args__ = (
        UniqueConstraint("conversation_id", "cycle", name="uq_csat_surveys_conversation_cycle"),
        UniqueConstraint("rating_wa_message_id", name="uq_csat_surveys_rating_wamid"),
        UniqueConstraint("comment_wa_message_id", name="uq_csat_surveys_comment_wamid"),
        Index("ix_csat_surveys_tenant_sent", "tenant_id", "sent_at"),
        Index("ix_csat_surveys_contact_sent", "contact_id", "sent_at"),
    )

    id: int | None = id_field()
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", index=False, ondelete="CASCADE")  # the unique key leads
    cycle: int = 0  # the conversation's cycle (conversation_facts.cycle) that this close ended
    contact_id: int = fk("contacts.id", index=False, ondelete="CASCADE")  # ix_csat_surveys_contact_sent
    contact_inbox_id: int = fk("contact_inboxes.id", ondelete="CASCADE")
    inbox_id: int = fk("inboxes.id", index=False, ondelete="CASCADE")
    team_id: int | None = fk("teams.id", nullable=True, index=False, ondelete="SET NULL")
    # Who the rating is about: the conversation's assignee when it closed, else the person who closed it.
    attendant_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    closed_by_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    message_id: int | None = fk("messages.id", nullable=True, index=False, ondelete="SET NULL", big=True)
    language: str = text(10, default="pt-BR")
    status: CsatStatus = text(10, default=CsatStatus.SENT)
    rating: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    rated_at: dt.datetime | None = timestamp()
    rating_wa_message_id: str | None = text(128, nullable=True)
    comment_until: dt.datetime | None = timestamp()
    comment: str | None = text(1000, nullable=True)
    commented_at: dt.datetime | None = timestamp()
    comment_wa_message_id: str | None = text(128, nullable=True)
    sent_at: dt.datetime = now_field()
