"""Request and response bodies of REST API v1, as Pydantic models (they also make the OpenAPI schemas).

Responses are built from the services' frozen dataclasses with `from_attributes`, so a service may add
fields without breaking the API; a field appears here only once it is part of the public contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_app.domain.sla import PRIORITIES


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`, `window_closed`.")
    message: str = Field(description="What went wrong, in English, safe to log.")
    hint: str | None = Field(None, description="What to do about it, when we know.")
    details: list[dict[str, Any]] | None = Field(None, description="Per-field problems of a 422.")


class ErrorBody(BaseModel):
    error: ErrorDetail

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": {"code": "not_found", "message": "conversation not found"}}]})


class Conversation(_Out):
    id: int
    inbox_id: int
    contact_id: int
    contact_name: str
    contact_phone: str | None = Field(description="E.164, e.g. +5511912345678; null without `contacts:read`.")
    preview: str | None = Field(description="The last message, shortened; null without `messages:read`.")
    last_message_at: dt.datetime | None
    unread_count: int
    status: str = Field(description="open, pending, snoozed or closed.")
    assignee_id: int | None
    assignee_name: str | None
    team_id: int | None
    team_name: str | None
    bot_active: bool = Field(description="The bot is answering this conversation.")
    window_expires_at: dt.datetime | None = Field(
        description="When the 24-hour customer service window ends; after that only templates may be sent.")
    labels: list[str]
    priority: Literal["none", "low", "medium", "high", "urgent"] = Field(
        "none", description="none, low, medium, high or urgent; supervisors and admins set it.")
    sla_due_at: dt.datetime | None = Field(
        None, description="The running SLA clock's next deadline (past while it is missed and unanswered); null "
                          "when no clock runs.")
    sla_started_at: dt.datetime | None = Field(None, description="When that clock started.")

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_name(cls, value: Any) -> Any:
        """The services keep the level (0-4); the API speaks its name."""
        return PRIORITIES[value] if isinstance(value, int) and 0 <= value < len(PRIORITIES) else value


class SetPriority(_In):
    priority: Literal["none", "low", "medium", "high", "urgent"]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"priority": "high"}]})


class ConversationPage(BaseModel):
    data: list[Conversation]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last one.")
    total: int | None = None


class Contact(_Out):
    id: int
    name: str | None
    phone_e164: str
    email: str | None
    custom_attributes: dict[str, str] = {}
    labels: list[str] = []
    past_conversations: list[dict[str, Any]] = []


class ContactRef(_Out):
    """A contact as a token without `contacts:read` sees it inside a conversation."""

    id: int
    name: str | None


class ContactSummary(BaseModel):
    id: int
    name: str | None
    phone_e164: str
    email: str | None


class ContactPage(BaseModel):
    data: list[ContactSummary]
    next_cursor: str | None


class ContactPatch(_In):
    name: Annotated[str | None, Field(max_length=160, description="An empty string clears it.")] = None
    email: Annotated[str | None, Field(max_length=254)] = None
    custom_attributes: dict[str, str] | None = Field(None, description="Replaces the whole set of attributes.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Maria Souza", "email": "maria@example.com", "custom_attributes": {"plano": "ouro"}}]})


class ConversationDetail(BaseModel):
    conversation: Conversation
    contact: Contact | ContactRef = Field(
        description="The whole contact with `contacts:read`; otherwise only its `id` and `name`.")
    can_reply: bool = Field(description="Whether this token's user may send in this conversation now.")
    blocked_reason: str | None = Field(description="Why not, when `can_reply` is false.")
    window_open: bool


class Message(_Out):
    id: int
    direction: str = Field(description="inbound or outbound.")
    sender_type: str = Field(description="customer, bot, attendant, system or note.")
    sender_name: str | None
    kind: str
    body: str | None
    media_url: str | None = Field(description=(
        "`/api/media/{token}` for a stored file (a random token); needs a logged-in browser session of a user "
        "who may open the conversation."))
    media_mime: str | None
    file_name: str | None
    location: dict[str, Any] | None
    contacts: list[dict[str, Any]]
    status: str = Field(description="queued, sending, sent, delivered, read, failed or received.")
    error_code: int | None
    error_reason: str | None
    reply_to: dict[str, Any] | None
    reactions: list[str]
    created_at: dt.datetime


class MessageList(BaseModel):
    data: list[Message] = Field(description="Oldest first.")


class SentMessage(_Out):
    id: int
    conversation_id: int
    status: str = Field(description="`queued` at first; a worker delivers it to WhatsApp.")
    kind: str
    body: str | None
    wa_message_id: str | None
    error_code: int | None
    error_reason: str | None


class TextMessage(_In):
    type: Literal["text"]
    text: Annotated[str, Field(min_length=1, max_length=4096)]
    preview_url: bool = False
    reply_to_message_id: int | None = Field(None, description="Quote one of this conversation's messages.")


class TemplateMessage(_In):
    type: Literal["template"]
    name: Annotated[str, Field(min_length=1, max_length=512)]
    language: Annotated[str, Field(min_length=2, max_length=15, description="e.g. pt_BR")]
    body_params: list[str] = Field([], max_length=20)


SendMessage = Annotated[TextMessage | TemplateMessage, Field(discriminator="type")]
SEND_EXAMPLES = {
    "text": {"summary": "Text (inside the 24-hour window)",
             "value": {"type": "text", "text": "Olá! Sua reserva está confirmada."}},
    "template": {"summary": "Approved template (any time)",
                 "value": {"type": "template", "name": "reserva_confirmada", "language": "pt_BR",
                           "body_params": ["Maria"]}},
}


class Transfer(_In):
    team_id: int | None = None
    user_id: int | None = None
    reason: Annotated[str, Field(max_length=500)] = ""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"team_id": 2, "reason": "Cliente pediu o financeiro"}]})


class Close(_In):
    note: Annotated[str | None, Field(max_length=2000)] = None


class User(_Out):
    id: int
    name: str
    email: str
    role: str = Field(description="admin, supervisor or attendant.")
    is_active: bool
    presence: str = Field(description="online, away or offline.")


class UserList(BaseModel):
    data: list[User]


class OnlineUser(BaseModel):
    id: int
    name: str
    role: str
    status: str = Field(description="online or away.")


class OnlineUserList(BaseModel):
    data: list[OnlineUser]


class Setting(BaseModel):
    value: Any = Field(description="The effective value; a secret shows only `{\"configured\": true|false}`.")
    source: Literal["default", "global", "tenant"] = Field(
        description="Where the value comes from: the default, the install's global value, or your tenant's own.")
    category: str
    editable: bool = Field(description="Whether this token's user may change it.")
    secret: bool = Field(description="Write-only: set it with PATCH, never read back.")


class SettingsView(BaseModel):
    settings: dict[str, Setting] = Field(description="Every setting of your tenant, by key.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"settings": {
        "security.session_idle_minutes": {"value": 30, "source": "default", "category": "security",
                                          "editable": True, "secret": False},
        "ai.api_key": {"value": {"configured": True}, "source": "tenant", "category": "ai", "editable": True,
                       "secret": True}}}]})


class SettingsPatch(_In):
    values: dict[str, Any] = Field(
        min_length=1, max_length=100,
        description="{key: new value}; null removes your tenant's value, so the global value or the default applies.")
    reason: Annotated[str | None, Field(max_length=1000, description="Kept in the settings history.")] = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"values": {"security.session_idle_minutes": 45, "ai.model": None}, "reason": "Turno da noite"}]})


# Analytics. Each field's description is its definition; the page's tooltips say the same.
BOT_TIME = "Bot time: conversation (or reopen) start → handoff, or → close when the bot resolved it alone."
QUEUE_WAIT = "Queue wait: handoff → first assignment to a person."
FRT = ("First response time: handoff → first human message to the customer; bot messages never count, and a "
       "transfer does not restart it.")
NEXT_RESPONSE = ("Next response time: each customer message after a human reply → the next human reply; bot "
                 "replies in between do not stop the clock.")
RESOLUTION = "Resolution time: (re)open → close; a reopen starts a new cycle."
FIRST_CONTACT = ("Cycles resolved at first contact: closed in the period, not reopened within 7 days of the close, "
                 "and not themselves a reopen within 7 days of the previous close (the same matter coming back). "
                 "Counted on the close day under the cycle's last team and attendant; a cycle closed less than 7 "
                 "days ago counts until it is reopened, and then leaves its close day.")


class DurationStats(BaseModel):
    count: int = Field(description="How many measurements fall in the period.")
    avg: float | None = Field(description="Average, wall-clock seconds.")
    median: float | None = Field(description="Median (percentile_cont 0.5), wall-clock seconds.")
    p90: float | None = Field(description="90th percentile (percentile_cont 0.9), wall-clock seconds.")
    business_avg: float | None = Field(description=(
        "Average in business seconds: only the time inside the conversation's team's weekly hours, skipping the "
        "tenant's holiday calendar and the team's own days, in the team's timezone (else the tenant's)."))
    business_median: float | None = Field(description="Median in business seconds.")
    business_p90: float | None = Field(description="90th percentile in business seconds.")


class Counts(BaseModel):
    opened: int = Field(description=(
        "Conversations opened or reopened, each counted once per local day it (re)opened: a day's value is the "
        "number of distinct conversations, and a period's the sum of its days."))
    closed: int = Field(description=(
        "Conversations closed (by anyone), each counted once per local day it closed: a day's value is the "
        "number of distinct conversations, and a period's the sum of its days."))
    contained: int = Field(description="Closed by the bot with no human message (containment).")
    unanswered: int = Field(description=(
        "Unanswered after handoff: closed (by anyone, or by inactivity) with no human message after the handoff."))
    handoffs: int = Field(description="Handoffs from the bot to people (a person taking over counts as one).")
    windows_missed: int = Field(description=(
        "24 h windows missed: after a handoff, the customer's last message got no human answer within 24 hours; "
        "dated when the window closed."))
    messages_in: int = Field(description="Customer messages received.")
    messages_out: int = Field(description="Messages people sent to customers (notes and system lines excluded).")
    bot_messages: int = Field(description="Messages the bot sent.")
    failed_sends: int = Field(description="Outbound messages (people's and the bot's) that failed.")
    new_contacts: int = Field(description="Contacts first seen in the period (whole tenant only; 0 with filters).")
    frt_count: int = Field(description="First responses in the period.")
    frt_sum: float = Field(description="Sum of their wall-clock FRT, seconds (frt_sum / frt_count = average).")
    resolution_count: int = Field(description="Resolutions in the period.")
    resolution_sum: float = Field(description="Sum of their wall-clock resolution times, seconds.")
    first_contact: int = Field(description=FIRST_CONTACT)


class Durations(BaseModel):
    frt: DurationStats = Field(description=FRT)
    next_response: DurationStats = Field(description=NEXT_RESPONSE)
    resolution: DurationStats = Field(description=RESOLUTION)
    bot: DurationStats = Field(description=BOT_TIME)
    queue: DurationStats = Field(description=QUEUE_WAIT)


class PreviousDurations(BaseModel):
    frt: DurationStats = Field(description=FRT)
    resolution: DurationStats = Field(description=RESOLUTION)


class Period(BaseModel):
    since: dt.date = Field(description="First local day (the tenant's timezone).")
    until: dt.date = Field(description="Last local day, inclusive.")
    timezone: str = Field(description="The tenant's timezone, where days are cut.")


class Reason(BaseModel):
    reason: str
    count: int


class Overview(BaseModel):
    period: Period
    totals: Counts = Field(description="The sum of the time series' days over the period (they always agree).")
    durations: Durations
    previous_totals: Counts = Field(description="The same figures over the period of equal length just before.")
    previous_durations: PreviousDurations = Field(description="FRT and resolution over the period just before.")
    containment_rate: float | None = Field(description=(
        "contained / resolution_count (cycles closed); null when nothing closed."))
    first_contact_rate: float | None = Field(description=(
        "First-contact resolution: first_contact / resolution_count (cycles closed); null when nothing closed. "
        + FIRST_CONTACT))
    previous_first_contact_rate: float | None = Field(description="The same rate over the period just before.")
    failed_by_reason: list[Reason] = Field(description="Failed sends by Meta's reason, most frequent first.")
    handoff_reasons: list[Reason] = Field(description="Why the bot handed over, most frequent first.")
    frt_buckets: list[Reason] = Field(description="Conversations by first response time (wall time; buckets 0-1m, "
                                                  "1-5m, 5-15m, 15-60m, 1-4h, 4h+; `reason` holds the bucket): a "
                                                  "conversation counts once in each bucket where one of its cycles "
                                                  "had its first response in the period, so a bucket equals the "
                                                  "conversations the page's click opens. `durations.frt` is over "
                                                  "cycles.")


class Day(Counts):
    day: dt.date = Field(description="The local day.")


class Timeseries(BaseModel):
    period: Period
    data: list[Day] = Field(description="One entry per local day of the period, zeros included.")


class AttendantRow(BaseModel):
    user_id: int
    name: str
    handled: int = Field(description="Cycles closed in the period while assigned to them.")
    messages_sent: int = Field(description="Messages they sent to customers.")
    first_contact: int = Field(description=FIRST_CONTACT)
    first_contact_rate: float | None = Field(description="first_contact / handled; null when nothing was handled.")
    frt: DurationStats = Field(description=FRT + " Counted for whoever sent the first human message.")
    resolution: DurationStats = Field(description=RESOLUTION + " Counted for the assignee at close.")
    online_hours: float = Field(description="Hours with presence 'online' in the period (presence history).")
    busy_share: float | None = Field(description=(
        "Share (0–1) of the attendant's online time in the period during which at least one conversation cycle "
        "assigned to them was open: from the cycle's first assignment to its close (or now while open), credited "
        "wholly to whoever held it at the close (a transferred cycle counts for its last assignee); overlapping "
        "conversations count once. From the presence history and the per-conversation facts; the number, team and "
        "label filters do not narrow it. null with no online time."))


class AttendantList(BaseModel):
    period: Period
    data: list[AttendantRow]
