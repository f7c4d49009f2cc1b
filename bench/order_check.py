"""Per-conversation order against a running stack: rapid replies through the REST API, read back at the fake Meta.

    .venv/bin/python bench/order_check.py [--api http://127.0.0.1:3000] [--sandbox http://127.0.0.1:8765]
                                          [--token crm_…] [--rounds 3] [--replies 40]

Start the stack first (`make run`, e.g. with HOT_WORKERS=4). Each round: a new customer writes to the demo
number through the sandbox's simulator; once the conversation exists, the token's user takes it over and
sends `--replies` texts to it as fast as the API answers, one after another, each with its own
Idempotency-Key; then the script reads what the sandbox's fake Graph API accepted for that customer, in the
order it received them, and counts inversions, lost and duplicated replies. Without `--token`, it mints one
for the demo tenant's first admin through the services (so run it with the stack's settings: same
DATABASE_URL, or from the same checkout and .env). Exits 1 if any round was not perfect.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCOPES = ("conversations:read", "conversations:write", "messages:read", "messages:write", "contacts:read")


def mint_token() -> str:
    """A token for the demo tenant's first admin (the tenant of the demo WhatsApp number)."""
    from sqlmodel import select

    from crm_app.config import get_settings
    from crm_app.db import session_scope
    from crm_app.models import Inbox, User
    from crm_app.services import access

    with session_scope() as session:
        number = get_settings().demo_wa_phone_number_id
        inbox = session.exec(select(Inbox).where(Inbox.phone_number_id == number)).first()
        if inbox is None:
            raise SystemExit("no inbox for the demo number: is this the stack's database?")
        admin = session.exec(select(User).where(User.tenant_id == inbox.tenant_id, User.role == "admin")
                             .order_by(User.id)).first()
        _, secret = access.create(session, actor=access.actor_for(admin), name=f"order check {uuid.uuid4().hex[:6]}",
                                        scopes=list(SCOPES))
        return secret


THROTTLED = {"seconds": 0.0}  # time spent waiting out the API's per-token limit (API_RATE_LIMIT_PER_MINUTE)


def call(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """One API call, waiting out the per-token rate limit (429 + Retry-After) when it is hit."""
    while True:
        response = client.request(method, url, **kwargs)
        if response.status_code != 429:
            response.raise_for_status()
            return response
        wait = float(response.headers.get("Retry-After", "1"))
        THROTTLED["seconds"] += wait
        time.sleep(wait)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def one_round(api: httpx.Client, sandbox: httpx.Client, number: int, replies: int) -> tuple[int, int, int]:
    """(inversions, lost, duplicated) for one customer and `replies` rapid replies."""
    wa_id = f"55119{time.time_ns() % 10**8:08d}"
    sandbox.post("/sandbox/api/customer/messages", json={"from": wa_id, "name": f"Ordem {number}", "type": "text",
                                                         "text": "Oi! Preciso de ajuda."}).raise_for_status()
    found = wait_for(lambda: call(api, "GET", "/conversations", params={"tab": "all", "q": wa_id}).json()["data"],
                     30, "the customer's conversation")
    conversation_id = found[0]["id"]
    call(api, "POST", f"/conversations/{conversation_id}/take_over")
    texts = [f"round {number} reply {i:02d}" for i in range(replies)]
    began, took, throttled = time.monotonic(), [], THROTTLED["seconds"]
    for text in texts:
        start, waited = time.monotonic(), THROTTLED["seconds"]
        call(api, "POST", f"/conversations/{conversation_id}/messages", json={"type": "text", "text": text},
             headers={"Idempotency-Key": uuid.uuid4().hex})
        took.append(time.monotonic() - start - (THROTTLED["seconds"] - waited))
    queued_in, throttled = time.monotonic() - began, THROTTLED["seconds"] - throttled

    def ours() -> list[str]:
        rows = sandbox.get("/sandbox/api/sent", params={"to": wa_id, "kind": "message"}).json()
        bodies = [r["body"].get("text", {}).get("body") for r in sorted(rows, key=lambda r: r["seq"])
                  if r["http_status"] == 200]
        return [b for b in bodies if b in texts]

    wait_for(lambda: len(set(ours())) == replies, 120, f"round {number}'s replies at the fake")
    received = ours()
    inversions = sum(1 for a, b in zip(received, received[1:], strict=False) if a > b)
    lost, duplicated = replies - len(set(received)), len(received) - len(set(received))
    took.sort()
    p50, most = 1000 * took[len(took) // 2], 1000 * took[-1]
    print(f"round {number}: {replies} replies queued in {queued_in:.1f} s ({throttled:.0f} s of it waiting out the "
          f"token's rate limit; request p50 {p50:.0f} ms, max {most:.0f} ms), {len(received)} received by the fake; "
          f"inversions {inversions}, lost {lost}, duplicated {duplicated}", flush=True)
    return inversions, lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default="http://127.0.0.1:3000", help="the web role (its /api/v1)")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8765")
    parser.add_argument("--token")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replies", type=int, default=40)
    args = parser.parse_args()
    token = args.token or mint_token()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{args.api.rstrip('/')}/api/v1", headers=headers, timeout=30) as api, \
            httpx.Client(base_url=args.sandbox, timeout=30) as sandbox:
        totals = [one_round(api, sandbox, n + 1, args.replies) for n in range(args.rounds)]
    inversions, lost, duplicated = (sum(column) for column in zip(*totals, strict=True))
    print(f"total over {args.rounds} rounds of {args.replies}: inversions {inversions}, lost {lost}, "
          f"duplicated {duplicated}")
    raise SystemExit(1 if inversions or lost or duplicated else 0)


if __name__ == "__main__":
    main()
