"""Meta's webhook sender: signed POSTs, bounded retries with backoff, and status sequences.

One long-lived `httpx.AsyncClient` per app; background work runs as asyncio tasks that
the app cancels on reset and shutdown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Coroutine
from typing import Any

import httpx

from crm_app.domain.whatsapp import sign
from crm_app.sandbox import ids, payloads
from crm_app.sandbox.state import Faults, SandboxState, SentRecord, WebhookRecord

MAX_RESPONSE_TEXT = 2000


def encode(body: Any) -> bytes:
    """The exact bytes Meta would send: JSON with non-ASCII escaped as \\uXXXX."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


def status_plan(faults: Faults, message_type: str, async_failure: int | None) -> list[tuple[str, int | None]]:
    """The statuses to post after an accepted send, as (status, error code) pairs.

    Reactions only ever get `sent` (Meta). A failure found after accepting (e.g. a closed
    window in async mode) gets a lone `failed`.
    """
    if async_failure is not None:
        plan: list[tuple[str, int | None]] = [("failed", async_failure)]
    elif faults.fail_with is not None:
        plan = [("sent", None), ("failed", faults.fail_with)]
    elif message_type == "reaction":
        plan = [("sent", None)]
    else:
        plan = [("sent", None), ("delivered", None), ("read", None)]
    if faults.status_mode == "none":
        return []
    if faults.status_mode == "reorder":
        return list(reversed(plan))
    if faults.status_mode == "duplicate":
        return [step for step in plan for _ in range(2)]
    return plan


class WebhookSender:
    """Posts webhooks to `config.webhook_url` and records every attempt in the state."""

    def __init__(self, state: SandboxState, client: httpx.AsyncClient | None = None) -> None:
        self.state = state
        self._client = client
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def pending(self) -> int:
        """How many status sequences and webhook retries still run (none: the fake will post nothing more)."""
        return len(self._tasks)

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client, made on first use inside the running loop."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.state.config.webhook_timeout_s))
        return self._client

    async def deliver(self, body: Any, *, kind: str, ref: str | None = None, raw: bytes | None = None,
                      signature: str | None = None) -> WebhookRecord:
        """Sign and POST a body once now; if the app does not answer 200, retry in the background.

        Args:
            body: The JSON body (recorded; serialized with `ensure_ascii` unless `raw` is given).
            kind: "message", "status" or "raw", for the record.
            ref: The wamid this webhook is about, if any.
            raw: Exact bytes to send instead of serializing `body`.
            signature: A header value to send instead of the real signature (tests of rejection).
        """
        data = raw if raw is not None else encode(body)
        header = signature if signature is not None else sign(data, self.state.config.app_secret)
        record = WebhookRecord(seq=self.state.next_seq(), kind=kind, body=body, raw=data, signature=header,
                               created_at=dt.datetime.now(dt.UTC), ref=ref)
        self.state.webhooks.append(record)
        await self.attempt(record)
        if not record.delivered and self.state.config.webhook_retry_delays_ms:
            self.spawn(self.retry(record))
        return record

    async def attempt(self, record: WebhookRecord) -> None:
        """One POST of the recorded bytes; the outcome is appended to `record.attempts`."""
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": record.signature,
                   "User-Agent": "facebookexternalua"}
        outcome: dict[str, Any] = {"at": dt.datetime.now(dt.UTC).isoformat(), "http_status": None,
                                   "error": None, "response_body": None}
        try:
            response = await self.client.post(self.state.config.webhook_url, content=record.raw, headers=headers)
            outcome["http_status"] = response.status_code
            outcome["response_body"] = response.text[:MAX_RESPONSE_TEXT]
        except httpx.HTTPError as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record.attempts.append(outcome)

    async def retry(self, record: WebhookRecord) -> None:
        """Retry with growing pauses until the app answers 200 or the schedule runs out."""
        for delay_ms in self.state.config.webhook_retry_delays_ms:
            await asyncio.sleep(delay_ms / 1000)
            await self.attempt(record)
            if record.delivered:
                return

    def start_statuses(self, record: SentRecord, plan: list[tuple[str, int | None]], *, category: str,
                       biz_opaque_callback_data: str | None = None) -> None:
        """Post the plan's statuses for an accepted send, one after another, in the background."""
        if plan:
            self.spawn(self._run_statuses(record, plan, category, biz_opaque_callback_data))

    async def _run_statuses(self, record: SentRecord, plan: list[tuple[str, int | None]], category: str,
                            biz_opaque_callback_data: str | None) -> None:
        faults, config = self.state.faults, self.state.config
        delay_ms = faults.delay_ms if faults.delay_ms is not None else config.status_delay_ms
        conversation_id = ids.new_conversation_id()
        for status, code in plan:
            await asyncio.sleep(delay_ms / 1000)
            item = payloads.status_object(
                wamid=record.wamid or "", status=status, recipient_id=record.to or "",
                now=dt.datetime.now(dt.UTC), category=category, conversation_id=conversation_id,
                error_code=code, biz_opaque_callback_data=biz_opaque_callback_data)
            record.statuses_sent.append(status)
            if status == "failed":
                record.failure = item["errors"][0]
            await self.deliver(payloads.status_body(config, [item]), kind="status", ref=record.wamid)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        """Stop every pending status sequence and retry."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel background work and close the client."""
        await self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
