"""The sandbox's fake OpenAI-compatible API, over real HTTP, with the real `openai` client and raw httpx."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from crm_app.config import get_settings
from tests.support.sandbox import sandbox_in_thread

CONTEXT = ("Responda só com base nas entradas.\n\n[#7] Horário de check-in\nO check-in começa às 14h e o "
           "check-out vai até as 12h.\n\n[#9] Wi-Fi\nA rede é HotelSol e a senha é sol2024.")


@pytest.fixture(scope="module")
def sandbox_url():
    with sandbox_in_thread() as url:
        yield url


@pytest.fixture
def http(sandbox_url):
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        assert client.delete("/sandbox/api/openai/requests").status_code == 200
        yield client


@pytest.fixture
def client(sandbox_url, http):
    key = get_settings().sandbox_openai_key.get_secret_value()
    with openai.OpenAI(api_key=key, base_url=f"{sandbox_url}/openai/v1", max_retries=0, timeout=5) as c:
        yield c


def _ask(client, question: str):
    return client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": CONTEXT}, {"role": "user", "content": question}])


def test_answers_from_the_entry_sharing_most_words(client, http):
    response = _ask(client, "Qual o horário do check-in?")
    assert response.object == "chat.completion" and response.id.startswith("chatcmpl-")
    assert response.model == "gpt-4o-mini" and response.choices[0].finish_reason == "stop"
    reply = json.loads(response.choices[0].message.content)
    assert reply == {"answer": "O check-in começa às 14h e o check-out vai até as 12h.", "confidence": 0.9,
                     "sources": [7]}
    usage = response.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    wifi = json.loads(_ask(client, "qual a senha do wifi").choices[0].message.content)
    assert wifi["sources"] == [9]


def test_no_overlap_gives_low_confidence(client):
    reply = json.loads(_ask(client, "Vocês aceitam cachorro?").choices[0].message.content)
    assert reply["confidence"] < 0.5 and reply["sources"] == []


def test_the_same_question_gets_the_same_answer(client):
    first = _ask(client, "check-in que horas").choices[0].message.content
    assert _ask(client, "check-in que horas").choices[0].message.content == first


def test_wrong_key_is_401_in_openais_shape(sandbox_url, http):
    response = http.post("/openai/v1/chat/completions", headers={"Authorization": "Bearer sk-wrong-key-123456"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "oi"}]})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
    assert "sk-wrong-key-123456" not in error["message"]
    with openai.OpenAI(api_key="wrong", base_url=f"{sandbox_url}/openai/v1", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError):
            _ask(bad, "oi")


def test_models_list(client, http):
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]
    assert http.get("/openai/v1/models").status_code == 401


def test_faults_500_and_429_then_recovery(client, http):
    assert http.post("/sandbox/api/openai/fault", json={"mode": "error", "count": 1}).status_code == 200
    with pytest.raises(openai.InternalServerError):
        _ask(client, "check-in")
    assert http.post("/sandbox/api/openai/fault", json={"mode": "rate_limit", "count": 1}).status_code == 200
    raw = http.post("/openai/v1/chat/completions",
                    headers={"Authorization": f"Bearer {get_settings().sandbox_openai_key.get_secret_value()}"},
                    json={"model": "m", "messages": [{"role": "user", "content": "oi"}]})
    assert raw.status_code == 429 and raw.headers["retry-after"] == "1"
    assert raw.json()["error"]["code"] == "rate_limit_exceeded"
    assert json.loads(_ask(client, "check-in").choices[0].message.content)["sources"] == [7]  # count used up


def test_slow_mode_delays_the_answer(sandbox_url, http):
    http.post("/sandbox/api/openai/fault", json={"mode": "slow", "delay_seconds": 1.5})
    key = get_settings().sandbox_openai_key.get_secret_value()
    with openai.OpenAI(api_key=key, base_url=f"{sandbox_url}/openai/v1", max_retries=0, timeout=0.5) as c:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            _ask(c, "check-in")
        assert time.monotonic() - started < 1.4


def test_bad_requests_and_bad_control(http):
    key = get_settings().sandbox_openai_key.get_secret_value()
    missing = http.post("/openai/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                        json={"model": "m"})
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"
    assert http.post("/sandbox/api/openai/fault", json={"mode": "explode"}).status_code == 400


def test_every_request_body_is_recorded(client, http):
    _ask(client, "qual o wifi?")
    recorded = http.get("/sandbox/api/openai/requests").json()
    assert len(recorded) == 1
    assert recorded[0]["body"]["messages"][-1] == {"role": "user", "content": "qual o wifi?"}
    assert http.delete("/sandbox/api/openai/requests").json() == {"ok": True}
    assert http.get("/sandbox/api/openai/requests").json() == []
