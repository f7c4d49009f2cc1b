"""Analytics: per-conversation-cycle facts, measured responses, per-day rollups and presence history."""

import datetime as dt

from sqlalchemy import Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm_app.models._base import fk, id_field, now_field, tenant_field, text, timestamp


class ConversationFact(SQLModel, table=True):
    """One cycle of a conversation (its start, or a reopen, until its close), kept as its milestones happen."""

    __tablename__ = "conversation_facts"
    __table_args__ = (
        UniqueConstraint("conversation_id", "cycle", name="uq_conversation_facts_conversation_cycle"),
        Index("ix_conversation_facts_tenant_opened", "tenant_id", "opened_at"),
        Index("ix_conversation_facts_tenant_closed", "tenant_id", "closed_at"),
        Index("ix_conversation_facts_tenant_handoff", "tenant_id", "handoff_at"),
        Index("ix_conversation_facts_tenant_first_human", "tenant_id", "first_human_at"),
        Index("ix_conversation_facts_tenant_assigned", "tenant_id", "assigned_at"),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    conversation_id: int = fk("conversations.id", ondelete="CASCADE", index=False)
    cycle: int = 0
    inbox_id: int = fk("inboxes.id", ondelete="CASCADE", index=False)
    team_id: int | None = fk("teams.id", nullable=True, index=False, ondelete="SET NULL")
    assignee_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    opened_at: dt.datetime = timestamp(nullable=False)
    handoff_at: dt.datetime | None = timestamp()
    handoff_reason: str | None = text(40, nullable=True)
    assigned_at: dt.datetime | None = timestamp()
    first_human_at: dt.datetime | None = timestamp()
    first_human_user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")
    closed_at: dt.datetime | None = timestamp()
    closed_by: str | None = text(12, nullable=True)
    reopened: bool = False
    # The waiting clocks: the customer message a next response is owed for, and the last of each side.
    awaiting_since: dt.datetime | None = timestamp()
    last_customer_at: dt.datetime | None = timestamp()
    last_human_at: dt.datetime | None = timestamp()
    window_counted_at: dt.datetime | None = timestamp()
    customer_messages: int = 0
    human_messages: int = 0
    bot_messages: int = 0
    transfers: int = 0
    windows_missed: int = 0
    contained: bool | None = None
    unanswered: bool | None = None
    # Resolved at first contact (see `domain.analytics.reopen`): None while open, False once it or its
    # predecessor was reopened within the window.
    first_contact: bool | None = None
    bot_seconds: float | None = None
    bot_business_seconds: float | None = None
    queue_seconds: float | None = None
    queue_business_seconds: float | None = None
    frt_seconds: float | None = None
    frt_business_seconds: float | None = None
    resolution_seconds: float | None = None
    resolution_business_seconds: float | None = None


class ConversationResponse(SQLModel, table=True):
    """One next response (customer message after a human reply → next human reply) or one missed 24 h window."""

    __tablename__ = "conversation_responses"
    __table_args__ = (Index("ix_conversation_responses_tenant_at", "tenant_id", "at"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    fact_id: int = fk("conversation_facts.id", ondelete="CASCADE", big=True)
    kind: str = text(16)
    at: dt.datetime = timestamp(nullable=False)
    seconds: float | None = None
    business_seconds: float | None = None
    user_id: int | None = fk("users.id", nullable=True, index=False, ondelete="SET NULL")


class AnalyticsDaily(SQLModel, table=True):
    """Counts and sums of one tenant day (cut in the tenant's timezone) per number, team and attendant.

    0 stands for "none" in the dimension columns, so that the unique key holds. Percentiles never come from here.
    """

    __tablename__ = "analytics_daily"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "inbox_id", "team_id", "attendant_id", name="uq_analytics_daily_key"),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    day: dt.date = Field(sa_type=Date, nullable=False)
    inbox_id: int = 0
    team_id: int = 0
    attendant_id: int = 0
    opened: int = 0
    closed: int = 0
    contained: int = 0
    unanswered: int = 0
    handoffs: int = 0
    windows_missed: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bot_messages: int = 0
    failed_sends: int = 0
    frt_count: int = 0
    frt_sum: float = 0.0
    resolution_count: int = 0
    resolution_sum: float = 0.0
    first_contact: int = 0
    # Seconds with presence "online" (rows of one attendant, with no number or team).
    online_seconds: float = 0.0
    built_at: dt.datetime = now_field()


class AnalyticsDailyLabel(SQLModel, table=True):
    """The counts and sums of `AnalyticsDaily` for the conversations with one label (no presence): a label filter
    reads these for the days before today instead of every day's raw rows. Rebuilt with the other rollups, and for
    a conversation's days when a label goes on or off it."""

    __tablename__ = "analytics_daily_labels"
    __table_args__ = (
        UniqueConstraint("tenant_id", "label_id", "day", "inbox_id", "team_id", "attendant_id",
                         name="uq_analytics_daily_labels_key"),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    label_id: int = fk("labels.id", ondelete="CASCADE", index=False)
    day: dt.date = Field(sa_type=Date, nullable=False)
    inbox_id: int = 0
    team_id: int = 0
    attendant_id: int = 0
    opened: int = 0
    closed: int = 0
    contained: int = 0
    unanswered: int = 0
    handoffs: int = 0
    windows_missed: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bot_messages: int = 0
    failed_sends: int = 0
    frt_count: int = 0
    frt_sum: float = 0.0
    resolution_count: int = 0
    resolution_sum: float = 0.0
    first_contact: int = 0


class AnalyticsHourly(SQLModel, table=True):
    """Demand and staffing per tenant day and local hour: customer messages per number and team (inbox_id > 0),
    and seconds online of the team's members (inbox_id 0; team_id 0 is the whole tenant)."""

    __tablename__ = "analytics_hourly"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "hour", "inbox_id", "team_id", name="uq_analytics_hourly_key"),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    day: dt.date = Field(sa_type=Date, nullable=False)
    hour: int = 0
    inbox_id: int = 0
    team_id: int = 0
    messages_in: int = 0
    conversations_in: int = 0
    online_seconds: float = 0.0


class AnalyticsConversationHour(SQLModel, table=True):
    """A conversation whose customer wrote in one tenant day and local hour, under its number and team then: the
    heatmap counts each conversation once per weekday × hour cell over a period (not once per day), which sums of
    per-day counts cannot give. Rebuilt with the other rollups."""

    __tablename__ = "analytics_conversation_hours"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", "hour", "conversation_id", name="uq_analytics_conversation_hours_key"),
        # A heatmap reads it in cell order (no sort, no hash), from the index alone.
        Index("ix_analytics_conversation_hours_cells", "tenant_id", "weekday", "hour", "conversation_id", "day",
              postgresql_include=["inbox_id", "team_id"]),
    )

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    day: dt.date = Field(sa_type=Date, nullable=False)
    weekday: int = 0  # of `day`, 0 = Monday
    hour: int = 0
    inbox_id: int = 0
    team_id: int = 0
    conversation_id: int = fk("conversations.id", ondelete="CASCADE")


class PresenceInterval(SQLModel, table=True):
    """An attendant's online or away stretch; `ended_at` stays empty while it lasts (`last_seen_at` moves)."""

    __tablename__ = "presence_intervals"
    __table_args__ = (Index("ix_presence_intervals_tenant_user_started", "tenant_id", "user_id", "started_at"),)

    id: int | None = id_field(big=True)
    tenant_id: int = tenant_field()
    user_id: int = fk("users.id", ondelete="CASCADE", index=False)
    status: str = text(10)
    started_at: dt.datetime = timestamp(nullable=False)
    last_seen_at: dt.datetime = timestamp(nullable=False)
    ended_at: dt.datetime | None = timestamp()
