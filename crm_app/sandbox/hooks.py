"""A webhook receiver (the customer's side of the CRM's outgoing webhooks), its JSON API and its page (`/hooks`).

- `POST /hooks/{name}`: receive one request. It is kept (headers, body, when, what we answered) and answered as
  the switches of `name` say. With a `whsec_` secret set, its Standard Webhooks signature is checked here too
  (independently of the CRM's code: a plain HMAC-SHA256 over `id.timestamp.body`).
- `GET /sandbox/api/hooks/requests[?name=][&brief=1]`: what arrived, oldest first (`brief`: only name, arrival
  time, status answered and webhook-id, as lists); `DELETE` forgets it.
- `GET|POST /sandbox/api/hooks/control`: `{"name": "a", "mode": "ok"|"500"|"410"|"slow"|"retry_after",
  "times": N, "delay": s, "retry_after": s, "secret": "whsec_..."}`: answer `mode` to the next `times` requests
  (0: to all of them), then 200. `slow` waits `delay` seconds before answering 200; `retry_after` answers 429 with
  `Retry-After`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from crm_app.sandbox.control import ControlError, json_object

API = "/sandbox/api/hooks"
MODES = ("ok", "500", "410", "slow", "retry_after")
MAX_KEPT = 100_000  # a benchmark run keeps every request (33,000 for 10,000 events x 3)


@dataclass
class Switch:
    """How one receiver name answers."""

    mode: str = "ok"
    times: int = 0  # answer `mode` to this many requests, then 200; 0: always
    delay: float = 2.0
    retry_after: int = 1
    secret: str | None = None


@dataclass
class Received:
    """One request as it arrived."""

    id: int
    name: str
    at: float
    headers: dict[str, str]
    body: Any
    answered: int
    raw: str = ""  # the exact body, for verifying the signature elsewhere
    signature_valid: bool | None = None


@dataclass
class Receiver:
    """Every request kept and the switches per name."""

    requests: list[Received] = field(default_factory=list)
    switches: dict[str, Switch] = field(default_factory=dict)

    def switch(self, name: str) -> Switch:
        return self.switches.setdefault(name, Switch())


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one of the `v1` signatures matches (Standard Webhooks)."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
    except ValueError:
        return False
    content = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    given = [s.partition(",")[2] for s in headers.get("webhook-signature", "").split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


def receiver_of(request: Request) -> Receiver:
    return request.app.state.hooks


def _answer(switch: Switch) -> tuple[str, bool]:
    """The mode for this request, and whether it used one of the limited `times`."""
    if switch.mode == "ok":
        return "ok", False
    if switch.times == 0:
        return switch.mode, False
    return switch.mode, True


async def receive(request: Request) -> Response:
    """Keep the request, then answer as the switches say."""
    receiver, name = receiver_of(request), request.path_params["name"]
    body = await request.body()
    switch = receiver.switch(name)
    mode, counted = _answer(switch)
    if counted:
        switch.times -= 1
        if switch.times == 0:
            switch.mode = "ok"
    status = {"ok": 200, "slow": 200, "500": 500, "410": 410, "retry_after": 429}[mode]
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    kept = Received(len(receiver.requests) + 1, name, time.time(), headers, parsed, status,
                    body.decode("utf-8", "replace"), verify(switch.secret, headers, body) if switch.secret else None)
    receiver.requests.append(kept)
    del receiver.requests[:-MAX_KEPT]
    if mode == "slow":
        await asyncio.sleep(switch.delay)
    extra = {"Retry-After": str(switch.retry_after)} if mode == "retry_after" else {}
    return JSONResponse({"received": kept.id}, status_code=status, headers=extra)


async def list_requests(request: Request) -> JSONResponse:
    """What arrived, oldest first (`?name=` for one receiver)."""
    name, brief = request.query_params.get("name"), request.query_params.get("brief") == "1"
    kept = [r for r in receiver_of(request).requests if not name or r.name == name]
    if brief:  # for benchmarks: who, when, what we answered, which webhook-id
        return JSONResponse({"requests": [[r.name, r.at, r.answered, r.headers.get("webhook-id")] for r in kept]})
    return JSONResponse({"requests": [asdict(r) for r in kept]})


async def clear_requests(request: Request) -> JSONResponse:
    """Forget what arrived and reset every switch."""
    receiver = receiver_of(request)
    receiver.requests.clear()
    receiver.switches.clear()
    return JSONResponse({"cleared": True})


async def get_control(request: Request) -> JSONResponse:
    """Every receiver's switches (the secret only as set or not)."""
    switches = receiver_of(request).switches
    return JSONResponse({name: {**asdict(s), "secret": bool(s.secret)} for name, s in switches.items()})


async def post_control(request: Request) -> JSONResponse:
    """Change one receiver's switches."""
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ControlError("'name' must name a receiver")
    switch = receiver_of(request).switch(name)
    if "mode" in body:
        if body["mode"] not in MODES:
            raise ControlError(f"'mode' must be one of {', '.join(MODES)}")
        switch.mode = body["mode"]
    for key, kind in (("times", int), ("delay", (int, float)), ("retry_after", int)):
        if key in body:
            if not isinstance(body[key], kind) or isinstance(body[key], bool) or body[key] < 0:
                raise ControlError(f"'{key}' must be a number, 0 or more")
            setattr(switch, key, body[key])
    if "secret" in body:
        switch.secret = body["secret"] or None
    return JSONResponse({**asdict(switch), "secret": bool(switch.secret)})


async def hooks_page(request: Request) -> FileResponse:
    """The receiver's page (plain HTML and JS, nothing from a CDN)."""
    return FileResponse(Path(__file__).parent / "static" / "hooks.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/hooks", hooks_page, methods=["GET"]),
    Route("/hooks/{name}", receive, methods=["POST"]),
    Route(f"{API}/requests", list_requests, methods=["GET"]),
    Route(f"{API}/requests", clear_requests, methods=["DELETE"]),
    Route(f"{API}/control", get_control, methods=["GET"]),
    Route(f"{API}/control", post_control, methods=["POST"]),
]
