"""Outgoing webhooks, the pure part: the event-type registry, Standard Webhooks signing, secrets, the retry schedule.

Standard Webhooks (spec v1): the signed content is `{webhook-id}.{webhook-timestamp}.{body}`; `v1` is the base64
HMAC-SHA256 of it under the secret's bytes (the base64 after `whsec_`); several signatures, space-separated, while
a rotated secret is still valid. Payloads are thin (ids, kinds and statuses, never message text or a phone
number): a receiver that needs more reads it through the REST API with its own token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
# Seconds before attempt 1, 2, ... 10 (the Standard Webhooks example schedule: about 75.6 h in all).
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
ROTATION_OVERLAP = dt.timedelta(hours=24)
DISABLE_AFTER_FAILING = dt.timedelta(days=5)
MAX_RETRY_AFTER = 86400
PING = "ping"


@dataclass(frozen=True)
class EventType:
    """One event type: its name, what it means, the fields of its `data` (name -> JSON type) and an example."""

    name: str
    description: str
    fields: dict[str, str]
    example: dict[str, Any] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the whole payload (`type`, `timestamp`, `data`)."""
        props = {name: {"type": [kind, "null"]} for name, kind in self.fields.items()}
        data = {"type": "object", "properties": props, "required": sorted(self.fields)}
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "required": ["type", "timestamp", "data"],
                "properties": {"type": {"const": self.name}, "timestamp": {"type": "string", "format": "date-time"},
                               "data": data}}


_CONVERSATION = {"conversation_id": "integer", "contact_id": "integer", "inbox_id": "integer", "status": "string",
                 "assignee_id": "integer", "team_id": "integer"}
_CONV_EXAMPLE = {"conversation_id": 42, "contact_id": 7, "inbox_id": 1, "status": "open", "assignee_id": 3,
                 "team_id": 2}
_MESSAGE = {"message_id": "integer", "conversation_id": "integer", "kind": "string", "status": "string",
            "wa_message_id": "string"}
_MSG_EXAMPLE = {"message_id": 1001, "conversation_id": 42, "kind": "text", "status": "delivered",
                "wa_message_id": "wamid.HBgM..."}
_CONTACT = {"contact_id": "integer", "changed": "array"}
_USER = {"user_id": "integer", "role": "string"}
_CSAT = {"survey_id": "integer", "conversation_id": "integer", "contact_id": "integer", "inbox_id": "integer",
         "team_id": "integer", "attendant_id": "integer", "rating": "integer", "rated_at": "string"}
_CSAT_EXAMPLE = {"survey_id": 12, "conversation_id": 42, "contact_id": 7, "inbox_id": 1, "team_id": 2,
                 "attendant_id": 3, "rating": 5, "rated_at": "2026-12-06T14:02:00+00:00"}
_SLA = {"conversation_id": "integer", "inbox_id": "integer", "team_id": "integer", "assignee_id": "integer",
        "target": "string", "started_at": "string", "due_at": "string"}
_SLA_EXAMPLE = {"conversation_id": 42, "inbox_id": 1, "team_id": 2, "assignee_id": 3, "target": "first_response",
                "started_at": "2026-12-06T14:00:00+00:00", "due_at": "2026-12-06T14:15:00+00:00"}


def _types() -> tuple[EventType, ...]:
    conv = [("created", "A conversation was opened (a new customer, or a first message after the last one)."),
            ("assigned", "A conversation got an assignee (take over, assignment, automatic assignment)."),
            ("transferred", "A conversation was transferred to a team or a person (bot handoff included)."),
            ("closed", "A conversation was closed."),
            ("reopened", "A closed or snoozed conversation was opened again.")]
    msg = [("received", "A customer message arrived."), ("sent", "WhatsApp accepted a message we sent."),
           ("delivered", "A message we sent reached the customer's phone."),
           ("read", "The customer read a message we sent."), ("failed", "A message we sent failed.")]
    types = [EventType(f"conversation.{n}", d, _CONVERSATION, _CONV_EXAMPLE) for n, d in conv]
    types += [EventType(f"message.{n}", d, {**_MESSAGE, **({"error_code": "integer"} if n == "failed" else {})},
                        {**_MSG_EXAMPLE, "status": n if n != "received" else "received"}) for n, d in msg]
    types += [EventType("contact.created", "A contact was created.", _CONTACT, {"contact_id": 7, "changed": []}),
              EventType("contact.updated", "A contact's name, e-mail or attributes changed.", _CONTACT,
                        {"contact_id": 7, "changed": ["name", "email"]}),
              EventType("user.created", "A user was added to the tenant.", _USER, {"user_id": 3, "role": "attendant"}),
              EventType("user.deactivated", "A user was deactivated.", _USER, {"user_id": 3, "role": "attendant"}),
              EventType("csat.received", "A customer rated a closed conversation (1 to 5) in the WhatsApp survey; "
                        "the comment, if any, is read through GET /api/v1/csat.", _CSAT, _CSAT_EXAMPLE),
              EventType("sla.missed", "An SLA deadline passed first (target: first_response, next_response or "
                        "resolution); once per breach, with the conversation's team and assignee then.", _SLA,
                        _SLA_EXAMPLE)]
    return tuple(types)


# Later areas add their types here (dsr.completed, alert.fired, backup.completed,
# campaign.finished) and emit them where they happen; a test fails for a registered type nothing emits.
EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _types()}
PING_TYPE = EventType(PING, "Sent by the Testar button; never subscribed to.", {"endpoint_id": "integer"},
                      {"endpoint_id": 1})


def is_event_type(name: str) -> bool:
    """Whether `name` is a registered event type (ping excluded: it is not subscribed to)."""
    return name in EVENT_TYPES


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for (ValueError when it is not 24-64 bytes of base64)."""
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise ValueError("a webhook secret must be 24 to 64 bytes")
    return raw


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one request's exact body."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_in_use: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: one signature per valid secret (two while a rotated one overlaps)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_in_use)


def retry_delay(attempts: int, *, factor: float = 1.0, retry_after: float | None = None) -> float | None:
    """Seconds to wait after the `attempts`-th failed attempt, or None when the schedule is spent.

    `Retry-After` is honoured as a floor (capped at a day); `factor` shrinks the whole schedule for tests.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_SCHEDULE[attempts]
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay * factor


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """A `Retry-After` header in seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


MASKED = "***"
_SECRET_HEADERS = ("authorization", "cookie", "x-api-key", "api-key", "proxy-authorization")


def masked_headers(headers: dict[str, str], custom: dict[str, str]) -> dict[str, str]:
    """Request headers as the delivery log keeps them: signatures, credentials and every custom value masked."""
    out = {}
    for name, value in headers.items():
        secret = (name.lower() in _SECRET_HEADERS or name.lower() == "webhook-signature"
                  or name.lower() in {k.lower() for k in custom})
        out[name] = MASKED if secret else value
    return out


# Ours, or hop-by-hop and protocol-changing ones (an `Upgrade` answered with 101 would switch protocols).
RESERVED_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host",
                    "user-agent", "transfer-encoding", "connection", "upgrade", "te", "trailer", "expect",
                    "keep-alive", "accept-encoding", "proxy-authorization", "proxy-connection"}


def clean_headers(headers: dict[str, Any] | None) -> dict[str, str]:
    """Custom headers a tenant may add (ValueError names a bad one): no reserved name, no line breaks."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        name, value = str(name).strip(), str(value)
        if not name or not all(c.isalnum() or c in "-_" for c in name) or len(name) > 100:
            raise ValueError(f"invalid header name: {name[:100]!r}")
        if name.lower() in RESERVED_HEADERS or name.lower().startswith("proxy-"):
            raise ValueError(f"the header {name} is set by us")
        if any(c in value for c in "\r\n\0") or not value.isascii() or len(value) > 1000:
            raise ValueError(f"invalid value for the header {name}")
        out[name] = value
    if len(out) > 20:
        raise ValueError("at most 20 custom headers")
    return out


def percentile(values: list[float], p: float) -> float | None:
    """The `p`-th percentile (nearest rank) of `values`, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]
