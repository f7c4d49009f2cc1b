"""All of the fake Meta's memory, in one object per app (a single-process fake)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crm_app.sandbox.config import SandboxConfig
from crm_app.sandbox.message_templates import seed_templates

WINDOW = dt.timedelta(hours=24)
STATUS_MODES = ("normal", "duplicate", "reorder", "none")
MAX_RECORDS = 5000


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC, or None."""
    return moment.astimezone(dt.UTC).isoformat() if moment else None


@dataclass
class Faults:
    """Misbehaviour requested by tests and demos.

    Attributes:
        errors: Error codes the next message sends answer with, first in first out; an error with
            `body_contains` waits for the first send whose JSON body contains that text.
        status_mode: "normal", "duplicate" (every status twice), "reorder" (read, delivered, sent)
            or "none" (no status webhooks).
        fail_with: When set, accepted sends get `sent` then `failed` with this code.
        delay_ms: When set, replaces the config's pause before each status webhook.
        response_delay_ms: Extra latency before the Graph API answers a send.
        window_mode: When set, replaces the config's `window_error_mode` ("sync" or "async").
    """

    errors: deque[dict[str, Any]] = field(default_factory=deque)
    status_mode: str = "normal"
    fail_with: int | None = None
    delay_ms: int | None = None
    response_delay_ms: int = 0
    window_mode: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The faults as the control API shows them."""
        return {"errors": list(self.errors), "status_mode": self.status_mode, "fail_with": self.fail_with,
                "delay_ms": self.delay_ms, "response_delay_ms": self.response_delay_ms,
                "window_mode": self.window_mode}


@dataclass
class MediaItem:
    """An uploaded file (by the business through Graph, or by a customer through the simulator)."""

    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    filename: str | None
    uploaded_by: str
    created_at: dt.datetime

    @property
    def sha256_hex(self) -> str:
        """The file's SHA-256 in hex (Graph's `GET /{media_id}` form)."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class SentRecord:
    """One call to `POST /{phone_number_id}/messages`, accepted or refused."""

    seq: int
    kind: str
    phone_number_id: str
    to: str | None
    body: Any
    http_status: int
    response: dict[str, Any]
    received_at: dt.datetime
    wamid: str | None = None
    message_type: str | None = None
    display: dict[str, Any] | None = None
    statuses_sent: list[str] = field(default_factory=list)
    failure: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as `GET /sandbox/api/sent` shows it."""
        return {"seq": self.seq, "kind": self.kind, "wamid": self.wamid, "phone_number_id": self.phone_number_id,
                "to": self.to, "type": self.message_type, "body": self.body, "http_status": self.http_status,
                "response": self.response, "received_at": iso(self.received_at),
                "statuses_sent": list(self.statuses_sent), "failure": self.failure, "display": self.display}


@dataclass
class WebhookRecord:
    """One webhook body the sandbox posted, with every delivery attempt."""

    seq: int
    kind: str
    body: Any
    raw: bytes
    signature: str
    created_at: dt.datetime
    ref: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Whether some attempt got HTTP 200."""
        return any(a["http_status"] == 200 for a in self.attempts)

    @property
    def first_status(self) -> int | None:
        """The HTTP status of the first attempt (None if the app was unreachable)."""
        return self.attempts[0]["http_status"] if self.attempts else None

    @property
    def first_error(self) -> str | None:
        """The transport error of the first attempt, if any."""
        return self.attempts[0]["error"] if self.attempts else None

    def to_json(self) -> dict[str, Any]:
        """The record as `GET /sandbox/api/webhooks` shows it."""
        last = self.attempts[-1] if self.attempts else {}
        return {"seq": self.seq, "kind": self.kind, "ref": self.ref, "body": self.body,
                "signature": self.signature, "created_at": iso(self.created_at), "attempts": list(self.attempts),
                "http_status": last.get("http_status"), "response_body": last.get("response_body"),
                "delivered": self.delivered}


@dataclass
class InboundRecord:
    """One message a customer sent through the sandbox."""

    seq: int
    wamid: str
    phone_number_id: str
    wa_id: str
    name: str
    message: dict[str, Any]
    sent_at: dt.datetime
    webhook: WebhookRecord | None = None
    read: bool = False

    def to_json(self) -> dict[str, Any]:
        """The record as the control API shows it (webhook fields follow retries as they happen)."""
        webhook = self.webhook
        last = webhook.attempts[-1] if webhook and webhook.attempts else {}
        return {"seq": self.seq, "wamid": self.wamid, "phone_number_id": self.phone_number_id, "from": self.wa_id,
                "name": self.name, "type": self.message.get("type"), "message": self.message,
                "sent_at": iso(self.sent_at), "webhook_status": webhook.first_status if webhook else None,
                "webhook_error": webhook.first_error if webhook else None,
                "webhook_last_status": last.get("http_status"), "webhook_last_error": last.get("error"),
                "webhook_delivered": bool(webhook and webhook.delivered), "read": self.read}


QUALITY_RATINGS = ("GREEN", "YELLOW", "RED", "UNKNOWN")
MESSAGING_LIMITS = ("TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")


@dataclass
class PhoneNumberHealth:
    """What Meta says about the business number's standing; tests and demos change it.

    Attributes:
        quality_rating: Graph's `quality_rating`: GREEN, YELLOW, RED or UNKNOWN.
        messaging_limit: Graph's `whatsapp_business_manager_messaging_limit` (TIER_250 ... TIER_UNLIMITED).
        verified_name: The display name Meta approved for the number.
        token_expired: When True, every Graph call answers Meta's expired-session error (190, subcode 463),
            as after the access token's expiry date.
    """

    quality_rating: str = "GREEN"
    messaging_limit: str = "TIER_250"
    verified_name: str = "Hotel Serra Azul (sandbox)"
    token_expired: bool = False

    def to_json(self) -> dict[str, Any]:
        """The number's standing as the control API shows it."""
        return {"quality_rating": self.quality_rating, "messaging_limit": self.messaging_limit,
                "verified_name": self.verified_name, "token_expired": self.token_expired}


class SandboxState:
    """The fake's memory: sends, webhooks, faults, customer windows, media and templates."""

    def __init__(self, config: SandboxConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock  # monotonic seconds for the throughput window (tests move it instead of sleeping)
        self.reset()

    def reset(self) -> None:
        """Forget everything (templates go back to the seed)."""
        self._seq = itertools.count(1)
        self.sent: deque[SentRecord] = deque(maxlen=MAX_RECORDS)
        self.sent_by_wamid: dict[str, SentRecord] = {}
        self.inbound: deque[InboundRecord] = deque(maxlen=MAX_RECORDS)
        self.inbound_by_wamid: dict[str, InboundRecord] = {}
        self.known_inbound_wamids: dict[str, str] = {}
        self.webhooks: deque[WebhookRecord] = deque(maxlen=MAX_RECORDS)
        self.faults = Faults()
        self.windows: dict[tuple[str, str], dt.datetime] = {}
        self.names: dict[str, str] = {}
        self.media: dict[str, MediaItem] = {}
        self.templates = seed_templates()
        self.send_times: dict[str, deque[float]] = {}
        self.number = PhoneNumberHealth()

    def next_seq(self) -> int:
        """A number that orders every record."""
        return next(self._seq)

    def window_opened_at(self, phone_number_id: str, wa_id: str) -> dt.datetime | None:
        """When this customer last wrote to this number, if known."""
        return self.windows.get((phone_number_id, wa_id))

    def is_window_open(self, phone_number_id: str, wa_id: str, now: dt.datetime) -> bool:
        """Whether the customer wrote to this number in the last 24 hours."""
        opened = self.window_opened_at(phone_number_id, wa_id)
        return opened is not None and now - opened < WINDOW

    def set_window(self, phone_number_id: str, wa_id: str, at: dt.datetime | None) -> None:
        """Record the customer's last message time (None closes the window)."""
        if at is None:
            self.windows.pop((phone_number_id, wa_id), None)
        else:
            self.windows[(phone_number_id, wa_id)] = at

    def take_rate_slot(self, phone_number_id: str, monotonic_now: float) -> bool:
        """Count one send in the number's 1-second sliding window; False when the limit is hit."""
        times = self.send_times.setdefault(phone_number_id, deque())
        while times and monotonic_now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= self.config.rate_limit_per_second:
            return False
        times.append(monotonic_now)
        return True

    def pop_fault_error(self, body_text: str = "") -> dict[str, Any] | None:
        """The first injected send error meant for this send (its `body_contains`, if any, is in the body)."""
        for error in self.faults.errors:
            if error.get("body_contains", "") in body_text:
                self.faults.errors.remove(error)
                return error
        return None

    def add_sent(self, record: SentRecord) -> None:
        """Keep a Graph send call."""
        self.sent.append(record)
        if record.wamid:
            self.sent_by_wamid[record.wamid] = record

    def add_inbound(self, record: InboundRecord) -> None:
        """Keep a customer's message and remember its wamid and the customer's name."""
        self.inbound.append(record)
        self.inbound_by_wamid[record.wamid] = record
        self.remember_inbound(record.wamid, record.wa_id, record.name)

    def remember_inbound(self, wamid: str, wa_id: str, name: str | None) -> None:
        """Note a wamid Meta delivered to the business (so it can be marked as read or reacted to)."""
        self.known_inbound_wamids[wamid] = wa_id
        if name:
            self.names[wa_id] = name

    def mark_read(self, wamid: str) -> str | None:
        """Mark an inbound message and the customer's earlier ones as read; returns the customer's wa_id."""
        wa_id = self.known_inbound_wamids.get(wamid)
        target = self.inbound_by_wamid.get(wamid)
        for record in self.inbound:
            if record.wa_id == wa_id and (target is None or record.seq <= target.seq):
                record.read = True
        return wa_id

    def customers(self) -> list[dict[str, Any]]:
        """Every customer the sandbox has seen, newest activity first."""
        last: dict[str, int] = {}
        for record in self.inbound:
            last[record.wa_id] = record.seq
        for record in self.sent:
            if record.to and record.wamid:
                last[record.to] = record.seq
        ordered = sorted(last, key=lambda wa_id: -last[wa_id])
        return [{"wa_id": wa_id, "name": self.names.get(wa_id)} for wa_id in ordered]
