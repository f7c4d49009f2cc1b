"""A fake OpenAI-compatible API (`/openai/v1/...`) for tests and the demo.

It speaks the real wire format of `POST /chat/completions` and `GET /models`, checks the Bearer key,
and answers deterministically from the context it was given: the knowledge entry (written as
`[#<id>] <title>` followed by its text) sharing the most words with the last user message, returned
as the JSON `{"answer", "confidence", "sources"}` our client asks for. It records every request body,
so tests can prove it only ever saw redacted text, and it fails or slows down on request through
`/sandbox/api/openai/...`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crm_app.config import get_settings
from crm_app.domain.search import fold

MODES = ("ok", "error", "rate_limit", "slow", "bad_json")
MODELS = ("gpt-4o-mini", "gpt-4o", "sandbox-small")
NO_ANSWER = "Não encontrei essa informação na base de conhecimento."
_ENTRY = re.compile(r"^\[#(\d+)\][ \t]*(.*)$", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a o e de do da dos das em no na nos nas um uma uns umas para por com sem que qual quais quando onde como "
    "ha tem ter voce voces meu minha seu sua isso esse essa este esta sao ser pode posso gostaria queria quero "
    "saber sobre oi ola bom boa dia tarde noite obrigado obrigada favor the is are what when where how do does "
    "you your can i my of to in on for and or it".split()
)


@dataclass
class FakeOpenAI:
    """The fake's memory: its key, the fault to play, and every request body it received."""

    api_key: str = field(default_factory=lambda: get_settings().sandbox_openai_key.get_secret_value())
    mode: str = "ok"
    delay_seconds: float = 0.0
    remaining: int | None = None  # faults left to play; None = until reset
    requests: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        """Forget the requests and go back to answering normally."""
        self.mode, self.delay_seconds, self.remaining = "ok", 0.0, None
        self.requests.clear()

    def next_fault(self) -> tuple[str, float]:
        """The fault for this request (and count it down)."""
        if self.mode == "ok" or self.remaining == 0:
            return "ok", 0.0
        if self.remaining is not None:
            self.remaining -= 1
        return self.mode, self.delay_seconds


def fake_of(request: Request) -> FakeOpenAI:
    """The fake's state, kept on the sandbox app."""
    return request.app.state.openai


def openai_error(status: int, message: str, kind: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _authorized(request: Request, fake: FakeOpenAI) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip(), fake.api_key)


def _unauthorized(request: Request) -> JSONResponse:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    shown = f"{token[:3]}****{token[-4:]}" if len(token) > 8 else "****"
    return openai_error(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                             "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                        "invalid_api_key")


def words(text: str) -> set[str]:
    """Significant folded words, with a plural "s" dropped so "vagas" meets "vaga"."""
    found = set()
    for word in _WORD.findall(fold(text)):
        if len(word) < 3 or word in _STOP:
            continue
        found.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return found


def parse_context(messages: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """The knowledge entries written in system (or user) messages: (id, title, content)."""
    entries = []
    for message in messages:
        if message.get("role") not in ("system", "developer", "user"):
            continue
        text = _content(message)
        marks = list(_ENTRY.finditer(text))
        for index, mark in enumerate(marks):
            end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
            body = text[mark.end():end].strip()
            entries.append((int(mark.group(1)), mark.group(2).strip(), body))
    return entries


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # the "parts" form: [{"type": "text", "text": ...}]
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def overlap(asked: set[str], found: set[str]) -> int:
    """How many asked words the text has; "hora" meets "horario" (a shared start of 4+ letters)."""
    return sum(1 for w in asked if w in found or (len(w) >= 4 and any(
        len(f) >= 4 and (f.startswith(w) or w.startswith(f)) for f in found)))


def pick_answer(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The deterministic answer: the entry with the most words in common with the last user message.

    Words in the title count twice, as a reader skimming a FAQ would weigh them.
    """
    question = next((_content(m) for m in reversed(messages) if m.get("role") == "user"), "")
    asked = words(question)
    best, best_score = None, 0
    for entry_id, title, content in parse_context(messages):
        score = overlap(asked, words(f"{title} {content}")) + overlap(asked, words(title))
        if score > best_score:
            best, best_score = (entry_id, content), score
    if best is None:
        return {"answer": NO_ANSWER, "confidence": 0.1, "sources": []}
    return {"answer": best[1], "confidence": 0.9 if best_score >= 2 else 0.75, "sources": [best[0]]}


def _tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: about four characters per token."""
    return max(1, (len(text) + 3) // 4)


def completion_body(model: str, content: str, prompt_text: str) -> dict[str, Any]:
    """A chat completion exactly as OpenAI shapes it."""
    prompt_tokens, completion_tokens = _tokens(prompt_text), _tokens(content)
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_sandbox",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


async def _fault_response(mode: str, delay: float) -> Response | None:
    if mode == "slow":
        await asyncio.sleep(delay)
        return None
    if mode == "error":
        return openai_error(500, "The server had an error while processing your request. Sorry about that!",
                            "server_error")
    if mode == "rate_limit":
        return openai_error(429, "Rate limit reached for requests. Please try again in 1s.", "requests",
                            "rate_limit_exceeded", headers={"Retry-After": "1"})
    return None


def _bad_request(body: Any) -> JSONResponse | None:
    if not isinstance(body, dict):
        return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return openai_error(400, "Missing required parameter: 'messages'.", "invalid_request_error",
                            "missing_required_parameter")
    if not body.get("model"):
        return openai_error(400, "you must provide a model parameter", "invalid_request_error")
    return None


async def chat_completions(request: Request) -> Response:
    """POST /openai/v1/chat/completions."""
    fake = fake_of(request)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    fake.requests.append({"at": dt.datetime.now(dt.UTC).isoformat(), "body": body,
                          "raw": raw.decode("utf-8", "replace")})
    if not _authorized(request, fake):
        return _unauthorized(request)
    mode, delay = fake.next_fault()
    failed = await _fault_response(mode, delay)
    if failed is not None:
        return failed
    problem = _bad_request(body)
    if problem is not None:
        return problem
    content = "isto não é JSON" if mode == "bad_json" else json.dumps(pick_answer(body["messages"]),
                                                                       ensure_ascii=False)
    prompt_text = " ".join(_content(m) for m in body["messages"])
    return JSONResponse(completion_body(str(body["model"]), content, prompt_text))


async def list_models(request: Request) -> Response:
    """GET /openai/v1/models."""
    if not _authorized(request, fake_of(request)):
        return _unauthorized(request)
    data = [{"id": name, "object": "model", "created": 1700000000, "owned_by": "sandbox"} for name in MODELS]
    return JSONResponse({"object": "list", "data": data})


async def control_fault(request: Request) -> Response:
    """POST /sandbox/api/openai/fault {"mode", "delay_seconds", "count"}: fail or slow down the next calls."""
    fake = fake_of(request)
    try:
        spec = await request.json()
    except ValueError:
        spec = None
    if not isinstance(spec, dict) or spec.get("mode") not in MODES:
        return JSONResponse({"error": f"'mode' must be one of {', '.join(MODES)}"}, status_code=400)
    count = spec.get("count")
    fake.mode = spec["mode"]
    fake.delay_seconds = float(spec.get("delay_seconds") or 0)
    fake.remaining = int(count) if count is not None else None
    return JSONResponse({"mode": fake.mode, "delay_seconds": fake.delay_seconds, "count": fake.remaining})


async def control_requests(request: Request) -> Response:
    """GET lists the recorded request bodies; DELETE forgets them and clears any fault."""
    fake = fake_of(request)
    if request.method == "DELETE":
        fake.reset()
        return JSONResponse({"ok": True})
    return JSONResponse([{"at": r["at"], "body": r["body"], "raw": r["raw"]} for r in fake.requests])


ROUTES = [
    Route("/openai/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/openai/v1/models", list_models, methods=["GET"]),
    Route("/sandbox/api/openai/fault", control_fault, methods=["POST"]),
    Route("/sandbox/api/openai/requests", control_requests, methods=["GET", "DELETE"]),
]
