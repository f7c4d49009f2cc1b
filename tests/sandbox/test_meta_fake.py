"""The fake Meta (Graph API + webhook sender), driven over real HTTP as our app drives it.

A sandbox and a small webhook receiver run under uvicorn on free ports in background
threads; the receiver keeps the exact headers and bytes of every POST.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from crm_app.domain.whatsapp import parse_webhook
from crm_app.sandbox.app import create_app
from crm_app.sandbox.config import SandboxConfig

PNID = "109876543210987"
WABA = "209876543210987"
TOKEN = "test-access-token"
SECRET = "test-app-secret"
VERIFY = "test-verify-token"
CUSTOMER = "5511981234567"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta_payloads"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAAB"
                       "JRU5ErkJggg==")
WINDOW_TEXT = "More than 24 hours have passed since the recipient last replied to the sender number."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """Our app's webhook endpoint, reduced to a recorder with scripted answers."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.script: deque[int] = deque()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["GET", "POST"])])

    async def hook(self, request: Request) -> Response:
        if request.method == "GET":
            params = request.query_params
            if params.get("hub.mode") == "subscribe" and params.get("hub.verify_token") == VERIFY:
                return PlainTextResponse(params.get("hub.challenge", ""))
            return PlainTextResponse("forbidden", status_code=403)
        raw = await request.body()
        self.posts.append({"headers": dict(request.headers), "raw": raw})
        status = self.script.popleft() if self.script else 200
        return PlainTextResponse("ok" if status == 200 else "nope", status_code=status)

    def bodies(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Parsed bodies, optionally only those carrying `messages` or `statuses`."""
        out = []
        for post in list(self.posts):
            body = json.loads(post["raw"])
            value = body["entry"][0]["changes"][0]["value"] if body.get("entry") else {}
            if kind is None or kind in value:
                out.append(body)
        return out

    def statuses(self, wamid: str) -> list[dict[str, Any]]:
        """Every status posted for one wamid, in arrival order."""
        return [s for b in self.bodies("statuses") for s in b["entry"][0]["changes"][0]["value"]["statuses"]
                if s["id"] == wamid]


class Clock:
    """The sandbox's monotonic clock, which a test moves on instead of sleeping through a time window."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@contextmanager
def _served(app: Any) -> Iterator[str]:
    """`app` under uvicorn in a thread on a free port; its base URL. On exit it stops, and is waited for."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _config(webhook_url: str) -> SandboxConfig:
    return SandboxConfig(phone_number_id=PNID, waba_id=WABA, display_number="+55 11 4000-0001",
                         access_token=TOKEN, app_secret=SECRET, verify_token=VERIFY, webhook_url=webhook_url,
                         rate_limit_per_second=5, status_delay_ms=20, webhook_retry_delays_ms=(50, 100))


@pytest.fixture(scope="module")
def servers():
    receiver, clock = Receiver(), Clock()
    with _served(receiver.app) as receiver_url:
        sandbox = create_app(_config(receiver_url + "/hook"), clock=clock)
        with _served(sandbox) as sandbox_url:
            yield {"receiver": receiver, "url": sandbox_url, "clock": clock, "sender": sandbox.state.sender}


@pytest.fixture
def receiver(servers) -> Receiver:
    return servers["receiver"]


@pytest.fixture
def meta(servers):
    """An HTTP client on a freshly reset sandbox."""
    with httpx.Client(base_url=servers["url"], timeout=10) as client:
        assert client.delete("/sandbox/api/state").status_code == 200
        time.sleep(0.03)  # a webhook cancelled mid-flight may still reach the receiver
        servers["receiver"].posts.clear()
        servers["receiver"].script.clear()
        yield client


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def wait_quiet(servers) -> None:
    """Wait until the fake has no status sequence or webhook retry left: it will post nothing more."""
    wait_for(lambda: servers["sender"].pending == 0)


def send(meta: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return meta.post(f"/graph/v23.0/{PNID}/messages", json=body, headers=AUTH if headers is None else headers)


def text(to: str = CUSTOMER, body: str = "Olá! Seu quarto está pronto.") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body}}


def open_window(meta: httpx.Client, wa_id: str = CUSTOMER) -> None:
    assert meta.post("/sandbox/api/window", json={"wa_id": wa_id}).json()["open"] is True


def signed_ok(post: dict[str, Any]) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), post["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(post["headers"]["x-hub-signature-256"], expected)


def shape(value: Any) -> Any:
    """The keys at every level, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if isinstance(value, bool) else "scalar"


def test_send_answers_exactly_metas_success_body(meta):
    open_window(meta)
    response = send(meta, text(to="+55 11 98123-4567"))
    assert response.status_code == 200
    body = response.json()
    wamid = body["messages"][0]["id"]
    assert body == {"messaging_product": "whatsapp", "contacts": [{"input": "+55 11 98123-4567", "wa_id": CUSTOMER}],
                    "messages": [{"id": wamid}]}
    assert wamid.startswith("wamid.") and CUSTOMER.encode() in base64.b64decode(wamid.removeprefix("wamid."))
    [record] = meta.get("/sandbox/api/sent", params={"to": CUSTOMER}).json()
    assert record["wamid"] == wamid and record["http_status"] == 200 and record["body"] == text("+55 11 98123-4567")


def test_bad_or_missing_token_is_401_oauth_190(meta):
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        response = send(meta, text(), headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == 190 and error["type"] == "OAuthException" and error["fbtrace_id"]
    records = meta.get("/sandbox/api/sent").json()
    assert [r["http_status"] for r in records] == [401, 401] and records[0]["wamid"] is None


def test_unknown_phone_number_id_is_graphs_unsupported_post(meta):
    response = meta.post("/graph/v23.0/999/messages", json=text(), headers=AUTH)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and error["error_subcode"] == 33 and error["type"] == "GraphMethodException"
    assert error["message"].startswith("Unsupported post request. Object with ID '999' does not exist")


@pytest.mark.parametrize(("body", "code", "details"), [
    ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {}}, 100, "text['body']"),
    ({"to": CUSTOMER, "type": "text", "text": {"body": "x"}}, 100, "messaging_product"),
    ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "poll", "poll": {}}, 100, 'got "poll"'),
    ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100, "The parameter to is required"),
    ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Escolha"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": f"b{i}", "title": f"Opção {i}"}} for i in range(4)]}}},
     131009, "Max allowed buttons: 3"),
    ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": "404"}}, 131009, "404"),
])
def test_invalid_sends_get_metas_error_codes(meta, body, code, details):
    open_window(meta)
    response = send(meta, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code}) ")
    assert details in error["error_data"]["details"] and error["error_data"]["messaging_product"] == "whatsapp"


def test_closed_window_is_131047_until_the_customer_writes(meta):
    assert meta.post("/sandbox/api/window", json={"wa_id": CUSTOMER, "last_customer_message_at": None}).json()[
        "open"] is False
    refused = send(meta, text())
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == 131047 and error["message"] == "(#131047) Re-engagement message"
    assert error["error_data"]["details"] == WINDOW_TEXT
    stale = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=24, minutes=1)).isoformat()
    meta.post("/sandbox/api/window", json={"wa_id": CUSTOMER, "last_customer_message_at": stale})
    assert send(meta, text()).json()["error"]["code"] == 131047
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=23)).isoformat()
    meta.post("/sandbox/api/window", json={"wa_id": CUSTOMER, "last_customer_message_at": recent})
    assert send(meta, text()).status_code == 200


def test_templates_ignore_the_window_and_are_accepted(meta):
    body = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": {
        "name": "lembrete_checkin", "language": {"code": "pt_BR"}, "components": [{"type": "body", "parameters": [
            {"type": "text", "parameter_name": "nome", "text": "Maria"},
            {"type": "text", "parameter_name": "data_checkin", "text": "12/07"}]}]}}
    response = send(meta, body)
    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    [record] = meta.get("/sandbox/api/sent").json()
    assert record["display"]["text"].startswith("Oi, Maria! Falta pouco: seu check-in é amanhã, 12/07.")


@pytest.mark.parametrize(("template", "code", "details"), [
    ({"name": "nao_existe", "language": {"code": "pt_BR"}}, 132001,
     "template name (nao_existe) does not exist in pt_BR"),
    ({"name": "upgrade_suite", "language": {"code": "pt_BR"}}, 132001, "does not exist"),
    ({"name": "reserva_confirmada", "language": {"code": "pt_BR"},
      "components": [{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]}, 132000,
     "body: number of localizable_params (1) does not match the expected number of params (4)"),
])
def test_template_errors(meta, template, code, details):
    response = send(meta, {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
                           "template": template})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and details in error["error_data"]["details"]


def test_async_window_mode_accepts_then_posts_failed_131047(meta, receiver):
    meta.post("/sandbox/api/faults", json={"window_mode": "async"})
    wamid = send(meta, text()).json()["messages"][0]["id"]
    [status] = wait_for(lambda: receiver.statuses(wamid))
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131047
    assert status["errors"][0]["error_data"]["details"].startswith("Message failed to send because more than 24")


def test_more_than_the_limit_in_one_second_is_130429(meta, servers):
    open_window(meta)
    answers = [send(meta, text()) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [400]
    error = answers[-1].json()["error"]
    assert error["code"] == 130429 and error["message"] == "(#130429) Rate limit hit"
    assert error["error_data"]["details"] == "Cloud API message throughput has been reached."
    servers["clock"].advance(1.0)  # the 1-second window slides past the first sends
    assert send(meta, text()).status_code == 200


def test_injected_errors_come_first_in_order_then_normal_behaviour(meta):
    open_window(meta)
    faults = meta.post("/sandbox/api/faults", json={"errors": [{"code": 131000, "times": 2}, {"code": 190}]}).json()
    assert [e["code"] for e in faults["errors"]] == [131000, 131000, 190]
    answers = [send(meta, text()) for _ in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 401, 200]
    assert [a.json().get("error", {}).get("code") for a in answers] == [131000, 131000, 190, None]
    assert answers[2].json()["error"]["error_subcode"] == 463
    assert meta.get("/sandbox/api/faults").json()["errors"] == []


def test_an_injected_error_can_wait_for_the_send_whose_body_contains_a_text(meta):
    open_window(meta)
    meta.post("/sandbox/api/faults", json={"errors": [{"code": 131026, "body_contains": "[2]"}]}).raise_for_status()
    answers = [send(meta, text(body=f"[{i}] mensagem")) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 400, 200]
    assert answers[2].json()["error"]["code"] == 131026
    bad = meta.post("/sandbox/api/faults", json={"errors": [{"code": 131026, "body_contains": ""}]})
    assert bad.status_code == 400 and "body_contains" in bad.text


def test_status_webhooks_are_signed_and_arrive_sent_delivered_read(meta, receiver):
    open_window(meta)
    wamid = send(meta, {**text(), "biz_opaque_callback_data": "pedido-42"}).json()["messages"][0]["id"]
    statuses = wait_for(lambda: (s := receiver.statuses(wamid)) and len(s) == 3 and s)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(signed_ok(p) for p in receiver.posts)
    assert all(p["headers"]["content-type"] == "application/json" for p in receiver.posts)
    sent = statuses[0]
    assert set(sent) == {"id", "status", "timestamp", "recipient_id", "biz_opaque_callback_data", "conversation",
                         "pricing"}
    assert sent["recipient_id"] == CUSTOMER and sent["timestamp"].isdigit()
    assert set(sent["conversation"]) == {"id", "expiration_timestamp", "origin"}
    assert sent["pricing"]["category"] == "service" and sent["pricing"]["pricing_model"] == "PMP"
    value = receiver.bodies("statuses")[0]["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {"display_phone_number": "551140000001", "phone_number_id": PNID}
    assert "contacts" not in value and "messages" not in value
    parsed = [parse_webhook(b).statuses[0] for b in receiver.bodies("statuses")]
    assert [(u.wa_message_id, u.status) for u in parsed] == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
    record = wait_for(lambda: (r := meta.get("/sandbox/api/sent", params={"wamid": wamid}).json()[0])
                      and len(r["statuses_sent"]) == 3 and r)
    assert record["statuses_sent"] == ["sent", "delivered", "read"]


@pytest.mark.parametrize(("faults", "expected"), [
    ({"status_mode": "reorder"}, ["read", "delivered", "sent"]),
    ({"status_mode": "duplicate"}, ["sent", "sent", "delivered", "delivered", "read", "read"]),
    ({"fail_with": 131026}, ["sent", "failed"]),
    ({"fail_with": 131026, "status_mode": "reorder"}, ["failed", "sent"]),
])
def test_status_faults(meta, receiver, faults, expected):
    open_window(meta)
    meta.post("/sandbox/api/faults", json=faults)
    wamid = send(meta, text()).json()["messages"][0]["id"]
    statuses = wait_for(lambda: (s := receiver.statuses(wamid)) and len(s) == len(expected) and s)
    assert [s["status"] for s in statuses] == expected
    assert all(signed_ok(p) for p in receiver.posts)
    failed = [s for s in statuses if s["status"] == "failed"]
    if failed:
        error = failed[0]["errors"][0]
        assert set(error) == {"code", "title", "message", "error_data", "href"}
        assert error["code"] == 131026 and error["title"] == "Message undeliverable" and error["error_data"]["details"]


def test_status_mode_none_sends_nothing(meta, receiver, servers):
    open_window(meta)
    meta.post("/sandbox/api/faults", json={"status_mode": "none"})
    wamid = send(meta, text()).json()["messages"][0]["id"]
    wait_quiet(servers)
    assert receiver.statuses(wamid) == []
    meta.delete("/sandbox/api/faults")
    second = send(meta, text()).json()["messages"][0]["id"]
    wait_for(lambda: len(receiver.statuses(second)) == 3)


def test_webhook_not_answered_200_is_retried_with_the_same_bytes(meta, receiver):
    receiver.script.extend([500, 503])
    answer = meta.post("/sandbox/api/customer/messages", json={"from": CUSTOMER, "name": "Maria", "text": "Oi"})
    assert answer.json()["webhook_status"] == 500
    [hook] = wait_for(lambda: (hooks := meta.get("/sandbox/api/webhooks", params={"kind": "message"}).json())
                      and hooks[0]["delivered"] and hooks)
    assert len(receiver.posts) == 3 and len({p["raw"] for p in receiver.posts}) == 1
    assert all(signed_ok(p) for p in receiver.posts)
    assert [a["http_status"] for a in hook["attempts"]] == [500, 503, 200] and hook["delivered"] is True
    [inbound] = meta.get("/sandbox/api/customer/messages", params={"from": CUSTOMER}).json()
    assert inbound["webhook_status"] == 500 and inbound["webhook_delivered"] is True


def _fixture(name: str, case: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())[case]


def _upload_customer_png(meta: httpx.Client) -> str:
    files = {"file": ("foto.png", PNG, "image/png")}
    return meta.post("/sandbox/api/customer/media", files=files).json()["media_id"]


CUSTOMER_CASES = [
    ("message.json", "text", {"type": "text", "text": "Olá, tudo bem? Quero reservar 🙂"}, "text"),
    ("message.json", "image", {"type": "image", "media_id": "PNG"}, "image"),
    ("message.json", "chosen_location", {"type": "location", "forwarded": True, "location": {
        "latitude": -23.5613, "longitude": -46.6565, "name": "MASP", "address": "Av. Paulista, 1578",
        "url": "https://masp.org.br"}}, "location"),
    ("message.json", "current_location", {"type": "location", "latitude": -22.97, "longitude": -43.18,
                                          "forwarded": True}, "location"),
    ("message.json", "reaction", {"type": "reaction", "message_id": "wamid.X", "emoji": "👍"}, "reaction"),
    ("callback_button.json", "button", {"type": "button_reply", "reply_to": "wamid.X", "button_id": "sim",
                                        "title": "Sim"}, "interactive"),
    ("callback_button.json", "quick_reply", {"type": "button", "reply_to": "wamid.X", "payload": "parar",
                                             "text": "Parar promoções"}, "button"),
    ("callback_selection.json", "description", {"type": "list_reply", "reply_to": "wamid.X", "row_id": "std",
                                                "title": "Quarto standard", "description": "Cama de casal"},
     "interactive"),
]


@pytest.mark.parametrize(("fixture", "case", "spec", "kind"), CUSTOMER_CASES)
def test_customer_messages_have_the_fixtures_shape(meta, receiver, fixture, case, spec, kind):
    if spec.get("media_id") == "PNG":
        spec = {**spec, "media_id": _upload_customer_png(meta)}
    answer = meta.post("/sandbox/api/customer/messages", json={"from": CUSTOMER, "name": "Maria Conceição", **spec})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["webhook_status"] == 200
    [post] = receiver.posts
    assert signed_ok(post) and post["raw"] == json.dumps(result["body"], ensure_ascii=True).encode()
    assert b"Concei\\u00e7\\u00e3o" in post["raw"]
    assert shape(json.loads(post["raw"])) == shape(_fixture(fixture, case))
    [message] = parse_webhook(result["body"]).messages
    assert message.kind == kind and message.wa_message_id == result["wamid"] and message.profile_name
    assert meta.get("/sandbox/api/window", params={"wa_id": CUSTOMER}).json()["open"] is True


def test_customer_message_opens_the_window_and_can_be_marked_read(meta):
    wamid = meta.post("/sandbox/api/customer/messages", json={"from": CUSTOMER, "text": "Oi"}).json()["wamid"]
    assert send(meta, text()).status_code == 200
    read = send(meta, {"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
                       "typing_indicator": {"type": "text"}})
    assert read.status_code == 200 and read.json() == {"success": True}
    assert meta.get("/sandbox/api/customer/messages").json()[0]["read"] is True
    unknown = send(meta, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 131009
    thread = meta.get("/sandbox/api/thread", params={"wa_id": CUSTOMER}).json()
    assert [(i["direction"], i["status"]) for i in thread["items"]][0] == ("in", "read")


def test_reactions_get_only_sent_and_mismatched_media_fails_later(meta, receiver, servers):
    wamid = meta.post("/sandbox/api/customer/messages", json={"from": CUSTOMER, "text": "Oi"}).json()["wamid"]
    reaction = send(meta, {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "reaction",
                           "reaction": {"message_id": wamid, "emoji": "👍"}}).json()["messages"][0]["id"]
    files = {"file": ("tarifas.pdf", b"%PDF-1.4 tarifas", "application/pdf")}
    pdf = meta.post(f"/graph/v23.0/{PNID}/media", files=files, data={"messaging_product": "whatsapp",
                                                                     "type": "application/pdf"}, headers=AUTH)
    image = send(meta, {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image",
                        "image": {"id": pdf.json()["id"]}}).json()["messages"][0]["id"]
    [failed] = wait_for(lambda: receiver.statuses(image))
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131053
    wait_quiet(servers)
    assert [s["status"] for s in receiver.statuses(reaction)] == ["sent"]


def test_customer_message_when_the_app_is_down(meta):
    with _served(create_app(_config(f"http://127.0.0.1:{_free_port()}/hook"))) as url, \
            httpx.Client(base_url=url, timeout=10) as other:
        result = other.post("/sandbox/api/customer/messages", json={"from": CUSTOMER, "text": "Oi"}).json()
        assert result["webhook_status"] is None and "ConnectError" in result["webhook_error"]
        bad = other.post("/sandbox/api/customer/messages", json={"from": "abc", "text": "Oi"})
        assert bad.status_code == 400 and "from" in bad.json()["error"]


def test_raw_webhooks_are_signed_duplicated_or_missigned_on_request(meta, receiver):
    body = _fixture("message.json", "text")
    answer = meta.post("/sandbox/api/webhooks/raw", json={"body": body, "duplicate": True}).json()
    assert answer["webhook_statuses"] == [200, 200]
    assert len(receiver.posts) == 2 and receiver.posts[0]["raw"] == receiver.posts[1]["raw"]
    assert all(signed_ok(p) for p in receiver.posts) and json.loads(receiver.posts[0]["raw"]) == body
    meta.post("/sandbox/api/webhooks/raw", json={"body": body, "signature": "sha256=bad"})
    assert receiver.posts[-1]["headers"]["x-hub-signature-256"] == "sha256=bad"


def test_verification_handshake(meta):
    assert meta.post("/sandbox/api/webhooks/verify").json()["verified"] is True
    wrong = meta.post("/sandbox/api/webhooks/verify", json={"verify_token": "other"}).json()
    assert wrong["verified"] is False and wrong["http_status"] == 403


def test_media_upload_url_and_download(meta):
    files = {"file": ("quarto.png", PNG, "image/png")}
    data = {"messaging_product": "whatsapp", "type": "image/png"}
    media_id = meta.post(f"/graph/v23.0/{PNID}/media", files=files, data=data, headers=AUTH).json()["id"]
    info = meta.get(f"/graph/v23.0/{media_id}", headers=AUTH).json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["id"] == media_id and info["mime_type"] == "image/png" and info["file_size"] == len(PNG)
    assert meta.get(info["url"]).status_code == 401
    download = meta.get(info["url"], headers=AUTH)
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert hashlib.sha256(download.content).hexdigest() == info["sha256"] and download.content == PNG
    open_window(meta)
    assert send(meta, {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image",
                       "image": {"id": media_id, "caption": "Seu quarto"}}).status_code == 200
    assert meta.delete(f"/graph/v23.0/{media_id}", headers=AUTH).json() == {"success": True}
    gone = meta.get(f"/graph/v23.0/{media_id}", headers=AUTH)
    assert gone.status_code == 400 and gone.json()["error"]["code"] == 100
    assert meta.get(info["url"], headers=AUTH).status_code == 404


@pytest.mark.parametrize(("mime", "size", "code"), [
    ("application/zip", 10, 100),
    ("image/jpeg", 5 * 1024 * 1024 + 1, 131053),
])
def test_media_type_and_size_limits(meta, mime, size, code):
    files = {"file": ("x.bin", b"\0" * size, mime)}
    answer = meta.post(f"/graph/v23.0/{PNID}/media", files=files, data={"messaging_product": "whatsapp",
                                                                        "type": mime}, headers=AUTH)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code


def test_template_paging_visits_every_template_once(meta):
    url = f"/graph/v23.0/{WABA}/message_templates?limit=2"
    names, pages = [], 0
    while url:
        page = meta.get(url, headers=AUTH).json()
        pages += 1
        assert len(page["data"]) <= 2 and set(page["paging"]["cursors"]) == {"before", "after"}
        names += [t["name"] for t in page["data"]]
        url = page["paging"].get("next")
    assert pages == 3 and len(names) == len(set(names)) == 5
    assert {"reserva_confirmada", "lembrete_checkin", "promocao_inverno", "pesquisa_satisfacao"} <= set(names)
    approved = meta.get(f"/graph/v23.0/{WABA}/message_templates",
                        params={"fields": "name,status", "status": "APPROVED"}, headers=AUTH).json()
    assert all(set(t) == {"name", "status", "id"} and t["status"] == "APPROVED" for t in approved["data"])
    assert "next" not in approved["paging"] and len(approved["data"]) == 4
    assert meta.get(f"/graph/v23.0/{WABA}/message_templates").status_code == 401


def test_reset_forgets_everything(meta):
    open_window(meta)
    meta.post("/sandbox/api/faults", json={"errors": [{"code": 131000}], "status_mode": "none"})
    send(meta, text())
    assert meta.get("/sandbox/api/sent").json()
    meta.delete("/sandbox/api/state")
    assert meta.get("/sandbox/api/sent").json() == [] and meta.get("/sandbox/api/webhooks").json() == []
    assert meta.get("/sandbox/api/faults").json()["errors"] == []
    assert meta.get("/sandbox/api/window", params={"wa_id": CUSTOMER}).json()["open"] is False


def test_simulator_page_and_health(meta):
    page = meta.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "https://" not in page.text and "http://" not in page.text
    assert meta.get("/health").json() == {"status": "ok", "service": "sandbox"}
    assert "/sandbox/static/simulator.js" in page.text and "/sandbox/static/simulator.css" in page.text
    script = meta.get("/sandbox/static/simulator.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert meta.get("/sandbox/static/simulator.css").status_code == 200


def _number(meta: httpx.Client, **params) -> httpx.Response:
    return meta.get(f"/graph/v23.0/{PNID}", params=params, headers=AUTH)


def test_phone_number_quality_and_tier_are_set_through_the_control_api(meta):
    fields = "verified_name,display_phone_number,quality_rating,whatsapp_business_manager_messaging_limit"
    assert _number(meta, fields=fields).json() == {
        "verified_name": "Hotel Serra Azul (sandbox)", "display_phone_number": "+55 11 4000-0001",
        "quality_rating": "GREEN", "whatsapp_business_manager_messaging_limit": "TIER_250", "id": PNID}
    changed = meta.post("/sandbox/api/phone_number", json={"quality_rating": "YELLOW", "messaging_limit": "TIER_2K"})
    assert changed.status_code == 200 and changed.json()["quality_rating"] == "YELLOW"
    assert _number(meta, fields="quality_rating,whatsapp_business_manager_messaging_limit").json() == {
        "quality_rating": "YELLOW", "whatsapp_business_manager_messaging_limit": "TIER_2K", "id": PNID}
    assert meta.get("/sandbox/api/phone_number").json()["messaging_limit"] == "TIER_2K"
    meta.delete("/sandbox/api/state")
    assert _number(meta, fields="quality_rating").json()["quality_rating"] == "GREEN"


def test_phone_number_control_refuses_bad_values_and_changes_nothing(meta):
    for body in ({"quality_rating": "PURPLE"}, {"messaging_limit": "TIER_7"}, {"token_expired": "yes"},
                 {"colour": "RED"}, {"phone_number_id": "1", "quality_rating": "RED"}, {"verified_name": ""}):
        answer = meta.post("/sandbox/api/phone_number", json=body)
        assert answer.status_code == 400 and answer.json()["error"], body
    assert meta.get("/sandbox/api/phone_number").json() == {
        "phone_number_id": PNID, "quality_rating": "GREEN", "messaging_limit": "TIER_250",
        "verified_name": "Hotel Serra Azul (sandbox)", "token_expired": False}


def test_phone_number_lookup_with_a_wrong_or_expired_token_is_oauth_190(meta):
    wrong = meta.get(f"/graph/v23.0/{PNID}", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 190
    assert wrong.json()["error"]["type"] == "OAuthException" and "error_subcode" not in wrong.json()["error"]
    meta.post("/sandbox/api/phone_number", json={"token_expired": True})
    expired = _number(meta, fields="quality_rating")
    error = expired.json()["error"]
    assert expired.status_code == 401 and error["code"] == 190 and error["error_subcode"] == 463
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    assert send(meta, text()).json()["error"]["error_subcode"] == 463  # sends are refused the same way
