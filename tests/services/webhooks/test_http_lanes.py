"""The webhook client's lanes: small pools, each request on the least busy, every lane given back."""

from __future__ import annotations

import asyncio

import pytest

from crm_app.integrations import outbound_urls, webhook_http
from tests.support.sandbox import sandbox_in_thread
from tests.support.webhooks import Receiver


@pytest.fixture(scope="module")
def receiver():
    with sandbox_in_thread() as base:
        yield Receiver(base)


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch):
    monkeypatch.setattr(outbound_urls, "private_allowed", lambda: True)


def test_concurrent_posts_spread_over_capped_lanes_and_every_lane_is_given_back(receiver):
    receiver.reset()
    receiver.control("slowish", mode="slow", delay=0.3)

    async def run():
        async with webhook_http.client(max_connections=8) as http:
            transport = http._transport
            answers = await asyncio.gather(*(webhook_http.post(http, receiver.url("slowish"), b"{}", {}, 10)
                                             for _ in range(20)))
            return answers, len(transport._lanes), list(transport._busy)

    answers, lanes, busy = asyncio.run(run())
    assert [a.status for a in answers] == [200] * 20
    assert lanes == 8 // webhook_http.LANE_CONNECTIONS and busy == [0] * lanes
    assert len(receiver.requests("slowish")) == 20


def test_a_timed_out_or_refused_request_gives_its_lane_back(receiver):
    receiver.reset()
    receiver.control("stuck", mode="slow", delay=3)

    async def run():
        async with webhook_http.client(max_connections=4) as http:
            late = await webhook_http.post(http, receiver.url("stuck"), b"{}", {}, 0.5)
            refused = await webhook_http.post(http, "http://127.0.0.1:9/x", b"{}", {}, 2)
            return late, refused, list(http._transport._busy)

    late, refused, busy = asyncio.run(run())
    assert late.error == "timeout" and refused.status is None and refused.error
    assert busy == [0] * len(busy)
