"""The sandbox's own control API (`/sandbox/api/...`): play the customer, steer faults, inspect.

Errors here are the sandbox's, not Meta's: HTTP 400 with `{"error": "<message>"}`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import deque
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm_app.sandbox import display, ids, payloads
from crm_app.sandbox.errors import GraphError
from crm_app.sandbox.graph import now_utc, read_upload, sandbox_of, sender_of
from crm_app.sandbox.state import (
    MESSAGING_LIMITS,
    QUALITY_RATINGS,
    STATUS_MODES,
    WINDOW,
    InboundRecord,
    SandboxState,
    SentRecord,
    iso,
)

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3}
WINDOW_MODES = ("sync", "async")


class ControlError(Exception):
    """A bad control request; shown as `{"error": message}` with HTTP 400."""


async def control_error(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler for `ControlError`."""
    return JSONResponse({"error": str(exc)}, status_code=400)


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def wa_id_of(value: Any, key: str = "from") -> str:
    """A WhatsApp id (digits only) from a phone number as people type it."""
    if not isinstance(value, str) or any(ch not in "0123456789+-() ." for ch in value):
        raise ControlError(f"'{key}' must be a phone number, e.g. 5511981234567")
    digits = "".join(ch for ch in value if ch.isdigit())
    if not 8 <= len(digits) <= 15:
        raise ControlError(f"'{key}' must have 8 to 15 digits")
    return digits


def _phone_number_id(state: SandboxState, spec: dict[str, Any]) -> str:
    wanted = str(spec.get("phone_number_id") or state.config.phone_number_id)
    if wanted != state.config.phone_number_id:
        raise ControlError(f"unknown phone_number_id {wanted}; the sandbox serves {state.config.phone_number_id}")
    return wanted


def _name(state: SandboxState, spec: dict[str, Any], wa_id: str) -> str:
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 256):
        raise ControlError("'name' must be a string of at most 256 characters")
    return (name or "").strip() or state.names.get(wa_id) or f"Cliente {wa_id[-4:]}"


async def post_customer_message(request: Request) -> JSONResponse:
    """A customer sends a message: build Meta's webhook, sign it, POST it to the app."""
    state, spec = sandbox_of(request), await json_object(request)
    phone_number_id = _phone_number_id(state, spec)
    wa_id = wa_id_of(spec.get("from"))
    name, now = _name(state, spec, wa_id), now_utc()
    wamid = ids.new_wamid(wa_id, inbound=True)
    try:
        message = payloads.customer_message(spec, wa_id=wa_id, wamid=wamid, now=now, config=state.config,
                                            media=state.media)
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    body = payloads.inbound_body(state.config, wa_id, name, message)
    record = InboundRecord(seq=state.next_seq(), wamid=wamid, phone_number_id=phone_number_id, wa_id=wa_id,
                           name=name, message=message, sent_at=now)
    state.add_inbound(record)
    state.set_window(phone_number_id, wa_id, now)
    record.webhook = await sender_of(request).deliver(body, kind="message", ref=wamid)
    return JSONResponse({"wamid": wamid, "webhook_status": record.webhook.first_status,
                         "webhook_error": record.webhook.first_error, "body": body})


async def list_customer_messages(request: Request) -> JSONResponse:
    """What customers sent (`?from=` filters by number, `?since=` by sequence)."""
    state, since = sandbox_of(request), _since(request)
    wanted = request.query_params.get("from")
    wa_id = wa_id_of(wanted) if wanted else None
    rows = [r.to_json() for r in state.inbound if r.seq > since and (wa_id is None or r.wa_id == wa_id)]
    return JSONResponse(rows)


async def post_customer_media(request: Request) -> JSONResponse:
    """A customer's file (multipart `file`, optional `type`), for an image/document/... message."""
    state = sandbox_of(request)
    try:
        item = await read_upload(request, state, "customer", need_product=False)
    except GraphError as error:
        raise ControlError(error.details) from None
    state.media[item.id] = item
    return JSONResponse({"media_id": item.id, "mime_type": item.mime_type, "sha256": item.sha256_hex,
                         "file_size": len(item.data), "filename": item.filename})


async def preview_media(request: Request) -> Response:
    """Any stored media without a token, for the simulator page to show."""
    item = sandbox_of(request).media.get(request.path_params["media_id"])
    if item is None:
        return JSONResponse({"error": "no such media"}, status_code=404)
    return Response(item.data, media_type=item.mime_type, headers={"Cache-Control": "private, max-age=300"})


def parse_moment(value: Any) -> dt.datetime | None:
    """An ISO 8601 instant (naive means UTC), or None for null."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ControlError("'last_customer_message_at' must be ISO 8601 or null") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def window_json(state: SandboxState, phone_number_id: str, wa_id: str) -> dict[str, Any]:
    """A customer's 24-hour window as the control API shows it."""
    opened = state.window_opened_at(phone_number_id, wa_id)
    return {"wa_id": wa_id, "phone_number_id": phone_number_id, "last_customer_message_at": iso(opened),
            "closes_at": iso(opened + WINDOW) if opened else None,
            "open": state.is_window_open(phone_number_id, wa_id, now_utc())}


async def post_window(request: Request) -> JSONResponse:
    """Set when a customer last wrote (`null` closes the window; a missing key means now)."""
    state, spec = sandbox_of(request), await json_object(request)
    phone_number_id, wa_id = _phone_number_id(state, spec), wa_id_of(spec.get("wa_id"), "wa_id")
    at = parse_moment(spec["last_customer_message_at"]) if "last_customer_message_at" in spec else now_utc()
    state.set_window(phone_number_id, wa_id, at)
    return JSONResponse(window_json(state, phone_number_id, wa_id))


async def get_window(request: Request) -> JSONResponse:
    """A customer's window (`?wa_id=`)."""
    state = sandbox_of(request)
    wa_id = wa_id_of(request.query_params.get("wa_id"), "wa_id")
    return JSONResponse(window_json(state, state.config.phone_number_id, wa_id))


async def post_raw_webhook(request: Request) -> JSONResponse:
    """Sign and POST any body (`body`, or exact `raw` text); `duplicate` posts it twice; `signature` overrides."""
    state, spec = sandbox_of(request), await json_object(request)
    raw_text, body = spec.get("raw"), spec.get("body")
    if raw_text is None and body is None:
        raise ControlError("give 'body' (JSON) or 'raw' (exact text)")
    signature = spec.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise ControlError("'signature' must be a string")
    raw = str(raw_text).encode() if raw_text is not None else None
    if isinstance(body, dict):
        _note_messages(state, body)
    sender, records = sender_of(request), []
    for _ in range(2 if spec.get("duplicate") else 1):
        records.append(await sender.deliver(body if body is not None else raw_text, kind="raw", raw=raw,
                                            signature=signature))
    return JSONResponse({"webhook_status": records[0].first_status, "webhook_error": records[0].first_error,
                         "webhook_statuses": [r.first_status for r in records], "body": body})


def _objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in a list (anything else reads as empty)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _note_messages(state: SandboxState, body: dict[str, Any]) -> None:
    """Messages in a raw body count as received by Meta: their ids are known and they open windows."""
    now = now_utc()
    for entry in _objects(body.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value") if isinstance(change.get("value"), dict) else {}
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in _objects(value.get("contacts"))
                     if isinstance(c.get("profile") or {}, dict)}
            for message in _objects(value.get("messages")):
                if message.get("id") and message.get("from"):
                    sender_id = str(message["from"])
                    state.remember_inbound(str(message["id"]), sender_id, names.get(sender_id))
                    if str(metadata.get("phone_number_id", "")) == state.config.phone_number_id:
                        state.set_window(state.config.phone_number_id, sender_id, now)


async def post_verify(request: Request) -> JSONResponse:
    """Run Meta's GET handshake against the webhook URL (`verify_token` may be overridden)."""
    state = sandbox_of(request)
    spec = await json_object(request) if await request.body() else {}
    challenge = str(spec.get("challenge") or secrets.randbelow(9 * 10**9) + 10**9)
    params = {"hub.mode": "subscribe", "hub.challenge": challenge,
              "hub.verify_token": str(spec.get("verify_token") or state.config.verify_token)}
    try:
        response = await sender_of(request).client.get(state.config.webhook_url, params=params)
    except httpx.HTTPError as exc:  # the app is down: report it, as Meta's dashboard would
        return JSONResponse({"verified": False, "http_status": None, "error": type(exc).__name__,
                             "challenge": challenge})
    verified = response.status_code == 200 and response.text.strip() == challenge
    return JSONResponse({"verified": verified, "http_status": response.status_code,
                         "body": response.text[:2000], "challenge": challenge})


def _since(request: Request) -> int:
    try:
        return int(request.query_params.get("since", 0))
    except ValueError:
        raise ControlError("'since' must be an integer") from None


async def list_webhooks(request: Request) -> JSONResponse:
    """Webhooks the sandbox posted, with the app's answers (`?kind=`, `?ref=` wamid, `?since=`)."""
    state, since, params = sandbox_of(request), _since(request), request.query_params
    rows = [w.to_json() for w in state.webhooks if w.seq > since
            and (not params.get("kind") or w.kind == params["kind"])
            and (not params.get("ref") or w.ref == params["ref"])]
    return JSONResponse(rows)


async def list_sent(request: Request) -> JSONResponse:
    """Recorded Graph `/messages` calls (`?to=`, `?wamid=`, `?kind=message|read`, `?since=`)."""
    state, since, params = sandbox_of(request), _since(request), request.query_params
    to = wa_id_of(params["to"], "to") if params.get("to") else None
    rows = [r.to_json() for r in state.sent if r.seq > since and (to is None or r.to == to)
            and (not params.get("wamid") or r.wamid == params["wamid"])
            and (not params.get("kind") or r.kind == params["kind"])]
    return JSONResponse(rows)


async def get_faults(request: Request) -> JSONResponse:
    """The current faults."""
    return JSONResponse(sandbox_of(request).faults.to_json())


async def post_faults(request: Request) -> JSONResponse:
    """Set faults; keys left out keep their value, `errors` replaces the queue."""
    state, spec = sandbox_of(request), await json_object(request)
    unknown = set(spec) - {"errors", "status_mode", "fail_with", "delay_ms", "response_delay_ms", "window_mode"}
    if unknown:
        raise ControlError(f"unknown fault keys: {sorted(unknown)}")
    faults = state.faults
    if "errors" in spec:
        faults.errors = deque(_expand_errors(spec["errors"]))
    if "status_mode" in spec:
        faults.status_mode = _choice(spec["status_mode"], STATUS_MODES, "status_mode")
    if "window_mode" in spec:
        faults.window_mode = None if spec["window_mode"] is None else _choice(spec["window_mode"], WINDOW_MODES,
                                                                              "window_mode")
    for key in ("fail_with", "delay_ms"):
        if key in spec:
            setattr(faults, key, None if spec[key] is None else _non_negative(spec[key], key))
    if "response_delay_ms" in spec:
        faults.response_delay_ms = _non_negative(spec["response_delay_ms"] or 0, "response_delay_ms")
    return JSONResponse(faults.to_json())


def _expand_errors(errors: Any) -> list[dict[str, Any]]:
    if not isinstance(errors, list):
        raise ControlError("'errors' must be a list of {code, times?, details?, http_status?, body_contains?}")
    queue = []
    for item in errors:
        if not isinstance(item, dict) or "code" not in item:
            raise ControlError("each error needs a 'code'")
        entry = {"code": _non_negative(item["code"], "code")}
        for key in ("details", "http_status"):
            if item.get(key) is not None:
                entry[key] = item[key] if key == "details" else _non_negative(item[key], key)
        if item.get("body_contains") is not None:
            if not isinstance(item["body_contains"], str) or not item["body_contains"]:
                raise ControlError("'body_contains' must be a non-empty string")
            entry["body_contains"] = item["body_contains"]
        queue.extend(dict(entry) for _ in range(_non_negative(item.get("times", 1), "times")))
    return queue


def _choice(value: Any, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ControlError(f"'{key}' must be one of {list(allowed)}")
    return value


def _non_negative(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ControlError(f"'{key}' must be a non-negative integer")
    return value


async def delete_faults(request: Request) -> JSONResponse:
    """Back to normal behaviour."""
    state = sandbox_of(request)
    state.faults = type(state.faults)()
    return JSONResponse(state.faults.to_json())


async def delete_state(request: Request) -> JSONResponse:
    """Forget everything: sends, webhooks, faults, windows, media; stop pending statuses and retries."""
    await sender_of(request).cancel_all()
    sandbox_of(request).reset()
    return JSONResponse({"reset": True})


async def get_thread(request: Request) -> JSONResponse:
    """One customer's conversation as their phone shows it (the simulator polls this)."""
    state = sandbox_of(request)
    wa_id = wa_id_of(request.query_params.get("wa_id"), "wa_id")
    items = [_inbound_item(r) for r in state.inbound if r.wa_id == wa_id]
    items += [_outbound_item(r) for r in state.sent if r.kind == "message" and r.wamid and r.to == wa_id]
    items.sort(key=lambda item: item["seq"])
    return JSONResponse({"wa_id": wa_id, "name": state.names.get(wa_id), "items": items,
                         "window": window_json(state, state.config.phone_number_id, wa_id)})


def _inbound_item(record: InboundRecord) -> dict[str, Any]:
    row = record.to_json()
    status = "read" if record.read else "delivered" if row["webhook_delivered"] else "error"
    if status == "error" and row["webhook_last_status"] is None and row["webhook_last_error"] is None:
        status = "pending"
    return {"seq": record.seq, "direction": "in", "wamid": record.wamid, "at": row["sent_at"],
            "type": row["type"], "display": display.inbound(record.message), "status": status,
            "webhook_status": row["webhook_last_status"], "webhook_error": row["webhook_last_error"]}


def _outbound_item(record: SentRecord) -> dict[str, Any]:
    statuses = record.statuses_sent
    status = "failed" if "failed" in statuses else max(statuses, key=lambda s: STATUS_RANK.get(s, 0),
                                                       default="pending")
    return {"seq": record.seq, "direction": "out", "wamid": record.wamid, "at": iso(record.received_at),
            "type": record.message_type, "display": record.display or {}, "status": status,
            "failure": record.failure}


async def get_phone_number(request: Request) -> JSONResponse:
    """The business number's quality rating, messaging limit, verified name and token state."""
    state = sandbox_of(request)
    return JSONResponse({"phone_number_id": state.config.phone_number_id, **state.number.to_json()})


async def post_phone_number(request: Request) -> JSONResponse:
    """Change the number's standing (keys left out keep their value); Graph's GET /{id} answers it at once."""
    state, spec = sandbox_of(request), await json_object(request)
    unknown = set(spec) - {"phone_number_id", "quality_rating", "messaging_limit", "verified_name", "token_expired"}
    if unknown:
        raise ControlError(f"unknown phone number keys: {sorted(unknown)}")
    _phone_number_id(state, spec)
    number = state.number
    if "quality_rating" in spec:
        number.quality_rating = _choice(spec["quality_rating"], QUALITY_RATINGS, "quality_rating")
    if "messaging_limit" in spec:
        number.messaging_limit = _choice(spec["messaging_limit"], MESSAGING_LIMITS, "messaging_limit")
    if "verified_name" in spec:
        name = spec["verified_name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise ControlError("'verified_name' must be a non-empty string of at most 255 characters")
        number.verified_name = name.strip()
    if "token_expired" in spec:
        if not isinstance(spec["token_expired"], bool):
            raise ControlError("'token_expired' must be true or false")
        number.token_expired = spec["token_expired"]
    return JSONResponse({"phone_number_id": state.config.phone_number_id, **number.to_json()})


async def list_customers(request: Request) -> JSONResponse:
    """Every customer seen, newest activity first."""
    return JSONResponse(sandbox_of(request).customers())


async def get_info(request: Request) -> JSONResponse:
    """The public configuration (no secrets), for the simulator and for people wiring the app."""
    config = sandbox_of(request).config
    base = str(request.base_url).rstrip("/")
    return JSONResponse({"phone_number_id": config.phone_number_id, "waba_id": config.waba_id,
                         "display_number": config.display_number, "webhook_url": config.webhook_url,
                         "graph_base_url": f"{base}/graph/v23.0",
                         "rate_limit_per_second": config.rate_limit_per_second,
                         "status_delay_ms": config.status_delay_ms, "window_error_mode": config.window_error_mode})


API = "/sandbox/api"
ROUTES = [
    Route(f"{API}/customer/messages", post_customer_message, methods=["POST"]),
    Route(f"{API}/customer/messages", list_customer_messages, methods=["GET"]),
    Route(f"{API}/customer/media", post_customer_media, methods=["POST"]),
    Route(f"{API}/media/{{media_id}}", preview_media, methods=["GET"]),
    Route(f"{API}/window", post_window, methods=["POST"]),
    Route(f"{API}/window", get_window, methods=["GET"]),
    Route(f"{API}/webhooks/raw", post_raw_webhook, methods=["POST"]),
    Route(f"{API}/webhooks/verify", post_verify, methods=["POST"]),
    Route(f"{API}/webhooks", list_webhooks, methods=["GET"]),
    Route(f"{API}/sent", list_sent, methods=["GET"]),
    Route(f"{API}/faults", get_faults, methods=["GET"]),
    Route(f"{API}/faults", post_faults, methods=["POST"]),
    Route(f"{API}/faults", delete_faults, methods=["DELETE"]),
    Route(f"{API}/state", delete_state, methods=["DELETE"]),
    Route(f"{API}/thread", get_thread, methods=["GET"]),
    Route(f"{API}/customers", list_customers, methods=["GET"]),
    Route(f"{API}/phone_number", get_phone_number, methods=["GET"]),
    Route(f"{API}/phone_number", post_phone_number, methods=["POST"]),
    Route(f"{API}/info", get_info, methods=["GET"]),
]
