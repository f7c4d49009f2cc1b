"""Request and response bodies of REST API v1, as Pydantic models (they also make the OpenAPI schemas).

Responses are built from the services' frozen dataclasses with `from_attributes`, so a service may add
fields without breaking the API; a field appears here only once it is part of the public contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
