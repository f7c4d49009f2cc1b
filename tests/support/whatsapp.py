"""Helpers for webhook tests: fixtures, signing, real worker processes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from pathlib import Path

from crm_app.config import get_settings
from crm_app.domain.whatsapp import sign
from crm_app.processes import WORKER_QUEUES, worker_class

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta_payloads"
PHONE_NUMBER_ID = "1122334455667"  # the number in the fixtures
WABA_ID = "5467539754836534"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"


def fixture(name: str, case: str) -> dict:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text())[case])


def all_cases() -> list[tuple[str, str, dict]]:
    return [(f.stem, case, body) for f in sorted(FIXTURES.glob("*.json"))
            for case, body in json.loads(f.read_text()).items()]


def demo_text(phone: str, name: str, body: str, wamid: str) -> dict:
    """Meta's webhook for one customer text to the demo number (the sandbox's), from `phone`."""
    settings = get_settings()
    payload = fixture("message", "text")
    entry = payload["entry"][0]
    entry["id"] = settings.demo_wa_waba_id
    value = entry["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = settings.demo_wa_phone_number_id
    value["contacts"][0].update({"wa_id": phone, "profile": {"name": name}})
    value["messages"] = [{"from": phone, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": body}}]
    return payload


def encode(body: dict) -> bytes:
    """As Meta sends it: ASCII JSON with \\u escapes."""
    return json.dumps(body, ensure_ascii=True).encode()


def signed_headers(raw: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(raw, secret), "Content-Type": "application/json"}


def messages_of(body: dict) -> list[dict]:
    return [m for e in body["entry"] for c in e["changes"] for m in c["value"].get("messages", [])]


def statuses_of(body: dict) -> list[dict]:
    return [s for e in body["entry"] for c in e["changes"] for s in c["value"].get("statuses", [])]


def worker_argv(queue: str = "high", *, burst: bool = False) -> list[str]:
    """One real worker on `queue`, of the class production runs there (SimpleWorker; forking on bulk)."""
    role = next(role for role, served in WORKER_QUEUES.items() if served == queue)
    return [sys.executable, "-m", "rq.cli", "worker", queue, *(["--burst"] if burst else []),
            "-w", worker_class(role), "-S", "json", "-u", get_settings().effective_redis_url]


def run_burst_worker(queue: str = "high", timeout: float = 120) -> subprocess.CompletedProcess:
    """A real worker that drains `queue` and exits."""
    return subprocess.run(worker_argv(queue, burst=True), capture_output=True, text=True, timeout=timeout)
