"""A thin client for any OpenAI-compatible chat API, through the `openai` package.

Each call gets the tenant's own base URL, model, key and timeout. The SDK's own retries are off: a bot
turn waits for the answer, so one bounded attempt that fails fast into a handoff beats retries whose
`Retry-After` pauses would blow the tenant's timeout. The tenant's timeout bounds the whole call
(`deadlines.Deadline`), not only each read: a server that trickles its answer a byte at a time is cut off
when the time is up, so a bot turn never waits longer than that. Failures come out as `ExternalServiceError`
(`AiTimeout` for timeouts); the key is never part of an error message or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openai

from crm_app.integrations import outbound_urls
from crm_app.integrations.deadlines import Deadline
from crm_app.integrations.errors import ExternalServiceError

MAX_RETRIES = 0
CONNECT_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 2 * 1024 * 1024


class AiTimeout(ExternalServiceError):
    """The model did not answer within the tenant's timeout."""

    def __init__(self, message: str = "the AI did not answer in time") -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class ChatConfig:
    """Where and how to call: the tenant's settings, with the key already decrypted."""

    base_url: str
    model: str
    api_key: str
    timeout_seconds: float

    def __repr__(self) -> str:  # never print the key
        return f"ChatConfig(base_url={self.base_url!r}, model={self.model!r}, api_key='***')"


@dataclass(frozen=True)
class Completion:
    """The first choice's text and the token counts the server reported."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str


def _client(config: ChatConfig, deadline: Deadline) -> openai.OpenAI:
    """The SDK over the outbound-URL policy's client: the base URL is the tenant's, so it is checked at the
    address connected to, redirects are not followed and the answer is capped (`outbound_urls`). `deadline`
    watches its connections."""
    timeout = openai.Timeout(config.timeout_seconds, connect=min(CONNECT_TIMEOUT, config.timeout_seconds))
    http = outbound_urls.client(timeout=config.timeout_seconds, max_bytes=MAX_ANSWER_BYTES,
                                event_hooks={"request": [deadline.watch]})
    return openai.OpenAI(api_key=config.api_key or "no-key", base_url=config.base_url.rstrip("/"),
                         timeout=timeout, max_retries=MAX_RETRIES, http_client=http)


def _wrap(exc: openai.OpenAIError) -> ExternalServiceError:
    """The SDK's errors as ours, with the HTTP status and OpenAI's error code, never the request."""
    if isinstance(exc, openai.APITimeoutError):
        return AiTimeout()
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = getattr(exc, "code", None)
        return ExternalServiceError(f"the AI answered HTTP {status}", retryable=status == 429 or status >= 500,
                                    http_status=status, details=str(code) if code else None)
    if isinstance(exc, openai.APIConnectionError):
        return ExternalServiceError("could not reach the AI server", retryable=True)
    return ExternalServiceError(f"the AI call failed ({type(exc).__name__})", retryable=False)


def complete(config: ChatConfig, messages: list[dict[str, Any]], *, json_mode: bool = True,
             max_tokens: int = 600) -> Completion:
    """One chat completion within the tenant's timeout, all of it; raises `AiTimeout` or `ExternalServiceError`.

    Args:
        config: The tenant's endpoint, model, key and timeout (a deadline for the whole call).
        messages: OpenAI chat messages, already redacted by the caller.
        json_mode: Ask for a JSON object (`response_format`), which compatible servers honour.
        max_tokens: A ceiling on the answer's length, which also bounds its cost.
    """
    extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
    deadline = Deadline(config.timeout_seconds)
    try:
        with deadline, _client(config, deadline) as client:
            response = client.chat.completions.create(model=config.model, messages=messages, temperature=0.2,
                                                      max_tokens=max_tokens, **extra)
    except openai.OpenAIError as exc:
        raise (AiTimeout() if deadline.expired else _wrap(exc)) from None
    choice = response.choices[0] if response.choices else None
    usage = response.usage
    return Completion(
        content=(choice.message.content or "") if choice and choice.message else "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        model=response.model or config.model,
    )
