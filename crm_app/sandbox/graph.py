"""The fake Graph API: send messages, mark as read, media, templates, and object lookups.

Paths mirror `https://graph.facebook.com/<version>/...` under `/graph/<version>/...`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm_app.sandbox import display, errors, ids, media
from crm_app.sandbox.delivery import WebhookSender, status_plan
from crm_app.sandbox.errors import GraphError
from crm_app.sandbox.state import MediaItem, SandboxState, SentRecord
from crm_app.sandbox.validation import ValidSend, check_product, check_read, check_send, is_read_request

DEFAULT_TEMPLATE_PAGE = 25
MAX_UPLOAD_FIELD = 1024 * 1024


def sandbox_of(request: Request) -> SandboxState:
    """The app's in-memory state."""
    return request.app.state.sandbox


def sender_of(request: Request) -> WebhookSender:
    """The app's webhook sender."""
    return request.app.state.sender


def now_utc() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


def error_response(error: GraphError, payload: dict[str, Any] | None = None) -> JSONResponse:
    """Meta's error body with its HTTP status (and `WWW-Authenticate` on 401, as Graph does)."""
    headers = {}
    if error.http_status == 401:
        headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{error.message}"'
    return JSONResponse(payload or error.body(), status_code=error.http_status, headers=headers)


def check_token(request: Request, state: SandboxState) -> None:
    """The bearer token (or `access_token` query parameter) must be the configured one."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else request.query_params.get("access_token")
    if not token or not hmac.compare_digest(token.encode(), state.config.access_token.encode()):
        raise errors.invalid_token()
    if state.number.token_expired:
        raise errors.expired_token(now_utc())


def check_number(state: SandboxState, phone_number_id: str, method: str) -> None:
    """Only the configured business number exists."""
    if phone_number_id != state.config.phone_number_id:
        raise errors.unknown_object(method, phone_number_id)


def parse_json(raw: bytes) -> Any:
    """The request's JSON, or the raw text when it is not JSON."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace")


async def send_message(request: Request) -> Response:
    """`POST /{phone_number_id}/messages`: a message send or a mark-as-read."""
    state, now = sandbox_of(request), now_utc()
    body = parse_json(await request.body())
    kind = "read" if isinstance(body, dict) and is_read_request(body) else "message"
    try:
        await _gate(request, state, kind, now, body)
        valid = check_product(body)
        if kind == "read":
            return _mark_read(state, valid, now)
        return _accept(request, state, valid, now)
    except GraphError as error:
        payload = error.body()
        state.add_sent(_refusal(state, body, kind, error.http_status, payload, now))
        return error_response(error, payload)


async def _gate(request: Request, state: SandboxState, kind: str, now: dt.datetime, body: Any) -> None:
    """Token, number, injected latency and errors, and the throughput limit, in Meta's order."""
    check_token(request, state)
    check_number(state, request.path_params["phone_number_id"], "post")
    if state.faults.response_delay_ms:
        await asyncio.sleep(state.faults.response_delay_ms / 1000)
    if kind != "message":
        return
    fault = state.pop_fault_error(json.dumps(body, ensure_ascii=False))
    if fault is not None:
        raise errors.injected(int(fault["code"]), now, fault.get("details"), fault.get("http_status"))
    if not state.take_rate_slot(state.config.phone_number_id, state.clock()):
        raise GraphError(130429, subcode=2494055)


def _refusal(state: SandboxState, body: Any, kind: str, status: int, payload: dict[str, Any],
             now: dt.datetime) -> SentRecord:
    to = body.get("to") if isinstance(body, dict) else None
    digits = "".join(ch for ch in to if ch.isdigit()) if isinstance(to, str) else None
    message_type = body.get("type", "text") if isinstance(body, dict) and kind == "message" else None
    return SentRecord(seq=state.next_seq(), kind=kind, phone_number_id=state.config.phone_number_id, to=digits,
                      body=body, http_status=status, response=payload, received_at=now,
                      message_type=message_type if isinstance(message_type, str) else None)


def _mark_read(state: SandboxState, body: dict[str, Any], now: dt.datetime) -> JSONResponse:
    message_id = check_read(body, state)
    wa_id = state.mark_read(message_id)
    response = {"success": True}
    state.add_sent(SentRecord(seq=state.next_seq(), kind="read", phone_number_id=state.config.phone_number_id,
                              to=wa_id, body=body, http_status=200, response=response, received_at=now))
    return JSONResponse(response)


def _accept(request: Request, state: SandboxState, body: dict[str, Any], now: dt.datetime) -> JSONResponse:
    send = check_send(body, state)
    _check_window(state, send, now)
    wamid = ids.new_wamid(send.wa_id, inbound=False)
    message: dict[str, Any] = {"id": wamid}
    if send.type == "template":
        message["message_status"] = "accepted"
    response = {"messaging_product": "whatsapp", "contacts": [{"input": send.to, "wa_id": send.wa_id}],
                "messages": [message]}
    reply_to = (body.get("context") or {}).get("message_id") if isinstance(body.get("context"), dict) else None
    record = SentRecord(seq=state.next_seq(), kind="message", phone_number_id=state.config.phone_number_id,
                        to=send.wa_id, body=body, http_status=200, response=response, received_at=now,
                        wamid=wamid, message_type=send.type,
                        display=display.outbound(send.type, send.content, send.template, reply_to))
    state.add_sent(record)
    plan = status_plan(state.faults, send.type, send.async_failure)
    opaque = body.get("biz_opaque_callback_data")
    sender_of(request).start_statuses(record, plan, category=_category(send),
                                      biz_opaque_callback_data=opaque if isinstance(opaque, str) else None)
    return JSONResponse(response)


def _check_window(state: SandboxState, send: ValidSend, now: dt.datetime) -> None:
    """Free-form messages need the customer's 24-hour window open; templates do not."""
    if send.type == "template" or state.is_window_open(state.config.phone_number_id, send.wa_id, now):
        return
    mode = state.faults.window_mode or state.config.window_error_mode
    if mode == "async":
        send.async_failure = 131047
        return
    raise GraphError(131047)


def _category(send: ValidSend) -> str:
    """The pricing category of a send: the template's category, else a service reply."""
    return send.template["category"].lower() if send.template else "service"


async def upload_media(request: Request) -> Response:
    """`POST /{phone_number_id}/media` (multipart: messaging_product, file, type) -> `{"id"}`."""
    state = sandbox_of(request)
    try:
        check_token(request, state)
        check_number(state, request.path_params["phone_number_id"], "post")
        item = await read_upload(request, state, "business", need_product=True)
    except GraphError as error:
        return error_response(error)
    state.media[item.id] = item
    return JSONResponse({"id": item.id})


async def read_upload(request: Request, state: SandboxState, uploaded_by: str, need_product: bool) -> MediaItem:
    """A media item from the request's multipart form (shared with the customer upload)."""
    try:
        form = await request.form(max_part_size=MAX_UPLOAD_FIELD)
    except Exception as exc:  # malformed multipart: Meta says "invalid parameter"
        raise GraphError(100, f"Could not read the multipart body: {exc}") from None
    try:
        return await media.from_form(form, phone_number_id=state.config.phone_number_id,
                                     uploaded_by=uploaded_by, now=now_utc(), need_product=need_product)
    finally:
        await form.close()


async def get_object(request: Request) -> Response:
    """`GET /{id}`: a media item's URL, or the phone number / business account."""
    state, object_id = sandbox_of(request), request.path_params["object_id"]
    try:
        check_token(request, state)
        return JSONResponse(_describe_object(request, state, object_id))
    except GraphError as error:
        return error_response(error)


def _describe_object(request: Request, state: SandboxState, object_id: str) -> dict[str, Any]:
    config = state.config
    item = state.media.get(object_id)
    if item is not None:
        _check_media_number(request, item.phone_number_id)
        url = media.download_url(str(request.base_url), item, secret=config.app_secret, now=now_utc(),
                                 ttl_s=config.media_url_ttl_s)
        return media.describe(item, url)
    if object_id == config.phone_number_id:
        return _project(_phone_number(state), request.query_params.get("fields"))
    if object_id == config.waba_id:
        return _project(_business_account(state), request.query_params.get("fields"))
    raise errors.unknown_object("get", object_id)


def _check_media_number(request: Request, owner: str) -> None:
    wanted = request.query_params.get("phone_number_id")
    if wanted and wanted != owner:
        raise GraphError(100, "The media was not uploaded on the business phone number given in phone_number_id.")


def _phone_number(state: SandboxState) -> dict[str, Any]:
    config, number = state.config, state.number
    return {"verified_name": number.verified_name, "code_verification_status": "VERIFIED",
            "display_phone_number": config.display_number, "quality_rating": number.quality_rating,
            "platform_type": "CLOUD_API", "throughput": {"level": "STANDARD"},
            "whatsapp_business_manager_messaging_limit": number.messaging_limit, "id": config.phone_number_id}


def _business_account(state: SandboxState) -> dict[str, Any]:
    return {"id": state.config.waba_id, "name": "Hotel Serra Azul (sandbox)", "currency": "BRL",
            "timezone_id": "25", "message_template_namespace": "sandbox_hotel_serra_azul"}


def _project(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Only the requested `fields` (plus `id`), as Graph does; all of them when none are asked for."""
    if not fields:
        return obj
    wanted = {f.strip() for f in fields.split(",") if f.strip()} | {"id"}
    return {key: value for key, value in obj.items() if key in wanted}


async def delete_object(request: Request) -> Response:
    """`DELETE /{media_id}` -> `{"success": true}`."""
    state, object_id = sandbox_of(request), request.path_params["object_id"]
    try:
        check_token(request, state)
        item = state.media.get(object_id)
        if item is None:
            raise errors.unknown_object("delete", object_id)
        _check_media_number(request, item.phone_number_id)
    except GraphError as error:
        return error_response(error)
    del state.media[object_id]
    return JSONResponse({"success": True})


async def download_media(request: Request) -> Response:
    """`GET <media url>`: the bytes, with the bearer token; 404 once the URL has expired."""
    state = sandbox_of(request)
    try:
        check_token(request, state)
    except GraphError as error:
        return error_response(error)
    item = state.media.get(request.path_params["media_id"])
    query = dict(request.query_params)
    if item is None or not media.url_is_valid(item, query, secret=state.config.app_secret, now=now_utc()):
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(item.data, media_type=item.mime_type)


async def list_templates(request: Request) -> Response:
    """`GET /{waba_id}/message_templates` with `fields`, `status`, `name`, `limit` and cursor paging."""
    state = sandbox_of(request)
    try:
        check_token(request, state)
        if request.path_params["waba_id"] != state.config.waba_id:
            raise errors.unknown_object("get", request.path_params["waba_id"])
        return JSONResponse(_template_page(request, _filter_templates(state.templates, request)))
    except GraphError as error:
        return error_response(error)


def _filter_templates(templates: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    params = request.query_params
    statuses = {s.strip().upper() for s in params.get("status", "").split(",") if s.strip()}
    categories = {c.strip().upper() for c in params.get("category", "").split(",") if c.strip()}
    name, language = params.get("name"), params.get("language")
    return [t for t in templates
            if (not statuses or t["status"] in statuses) and (not categories or t["category"] in categories)
            and (not name or name.lower() in t["name"]) and (not language or t["language"] == language)]


def encode_cursor(template_id: str) -> str:
    """An opaque paging cursor for a template."""
    return base64.b64encode(f"sandbox-template:{template_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The template id in a cursor, or a `GraphError`."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith("sandbox-template:"):
        raise GraphError(100, f"Invalid cursor: {cursor}", message="(#100) Invalid pagination cursor")
    return text.removeprefix("sandbox-template:")


def _page_bounds(items: list[dict[str, Any]], request: Request) -> tuple[int, int]:
    params = request.query_params
    try:
        limit = int(params.get("limit", DEFAULT_TEMPLATE_PAGE))
    except ValueError:
        raise GraphError(100, "Param limit must be an integer.", message="(#100) Param limit must be an integer.") \
            from None
    limit = max(1, min(limit, 1000))
    ids_in_order = [t["id"] for t in items]
    if params.get("after"):
        start = _cursor_index(ids_in_order, params["after"]) + 1
        return start, min(start + limit, len(items))
    if params.get("before"):
        end = _cursor_index(ids_in_order, params["before"])
        return max(0, end - limit), end
    return 0, min(limit, len(items))


def _cursor_index(ids_in_order: list[str], cursor: str) -> int:
    template_id = decode_cursor(cursor)
    if template_id not in ids_in_order:
        raise GraphError(100, f"Invalid cursor: {cursor}", message="(#100) Invalid pagination cursor")
    return ids_in_order.index(template_id)


def _template_page(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    start, end = _page_bounds(items, request)
    fields = request.query_params.get("fields")
    data = [_project(t, fields) for t in items[start:end]]
    if not data:
        return {"data": []}
    cursors = {"before": encode_cursor(items[start]["id"]), "after": encode_cursor(items[end - 1]["id"])}
    paging: dict[str, Any] = {"cursors": cursors}
    if end < len(items):
        paging["next"] = _page_link(request, "after", cursors["after"])
    if start > 0:
        paging["previous"] = _page_link(request, "before", cursors["before"])
    return {"data": data, "paging": paging}


def _page_link(request: Request, key: str, cursor: str) -> str:
    params = {k: v for k, v in request.query_params.items() if k not in ("after", "before", "access_token")}
    params[key] = cursor
    base = str(request.base_url).rstrip("/")
    return f"{base}{request.url.path}?{urlencode(params)}"


async def unknown_graph_path(request: Request) -> Response:
    """Anything else under /graph: Graph's "Unknown path components" error."""
    path = "/" + request.path_params.get("path", "")
    return error_response(errors.unknown_path(path))


ROUTES = [
    Route("/graph/{version}/{phone_number_id}/messages", send_message, methods=["POST"]),
    Route("/graph/{version}/{phone_number_id}/media", upload_media, methods=["POST"]),
    Route("/graph/{version}/{waba_id}/message_templates", list_templates, methods=["GET"]),
    Route("/graph/{version}/{object_id}", get_object, methods=["GET"]),
    Route("/graph/{version}/{object_id}", delete_object, methods=["DELETE"]),
    Route("/graph/{path:path}", unknown_graph_path, methods=["GET", "POST", "DELETE"]),
    Route("/sandbox/media/{media_id}", download_media, methods=["GET"]),
]
