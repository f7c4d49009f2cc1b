"""The webhook HTTP client (h11 on asyncio streams): keep-alive reuse, capped answers, chunked bodies, servers that
close idle connections, timeouts and the outbound-URL policy, against the sandbox's receiver and tiny servers."""

from __future__ import annotations

import asyncio
import contextlib

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


@contextlib.asynccontextmanager
async def _server(answer: bytes, *, close_after: bool = False):
    """A one-purpose HTTP server: reads a request (headers and Content-Length body), writes `answer` as is."""
    served = {"requests": 0, "connections": 0}
    heads: list[bytes] = []

    async def handle(reader, writer):
        served["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                served["requests"] += 1
                writer.write(answer)
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        served["heads"] = heads
        yield f"http://127.0.0.1:{port}/hook?x=1", served


def test_concurrent_posts_succeed_and_their_connections_are_kept_for_reuse(receiver):
    receiver.reset()
    receiver.control("many", mode="slow", delay=0.2)

    async def run():
        async with webhook_http.client(max_connections=8) as http:
            answers = await asyncio.gather(*(webhook_http.post(http, receiver.url("many"), b'{"n":1}',
                                                               {"webhook-id": "msg_1"}, 10) for _ in range(20)))
            return answers, http.idle_count()

    answers, idle = asyncio.run(run())
    assert [a.status for a in answers] == [200] * 20 and idle == 8  # never more than 8 open at once
    got = receiver.requests("many")
    assert len(got) == 20 and got[0]["raw"] == '{"n":1}' and got[0]["headers"]["webhook-id"] == "msg_1"


def test_a_long_answer_is_cut_at_the_cap_and_its_connection_is_not_reused():
    body = b"x" * 10_000
    answer = b"HTTP/1.1 500 Oops\r\ncontent-length: %d\r\nretry-after: 7\r\n\r\n%s" % (len(body), body)

    async def run():
        async with _server(answer) as (url, served), webhook_http.client() as http:
            got = await webhook_http.post(http, url, b"{}", {}, 5)
            return got, http.idle_count()

    got, idle = asyncio.run(run())
    assert (got.status, len(got.body), got.retry_after, idle) == (500, webhook_http.BODY_CAP, "7", 0)


def test_a_chunked_answer_is_read_whole_and_the_connection_reused():
    answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    async def run():
        async with _server(answer) as (url, served), webhook_http.client() as http:
            first = await webhook_http.post(http, url, b"{}", {}, 5)
            second = await webhook_http.post(http, url, b"{}", {}, 5)
            return first, second, served

    first, second, served = asyncio.run(run())
    assert (first.status, first.body, second.body) == (200, "hello world", "hello world")
    assert (served["requests"], served["connections"]) == (2, 1)


def test_a_server_that_closes_after_each_answer_gets_a_new_connection_each_time():
    answer = b"HTTP/1.1 204 No Content\r\n\r\n"

    async def run():
        async with _server(answer, close_after=True) as (url, served), webhook_http.client() as http:
            answers = []
            for _ in range(3):
                answers.append(await webhook_http.post(http, url, b"{}", {}, 5))
                await asyncio.sleep(0.05)  # the server's close reaches the kept connection
            return answers, served

    answers, served = asyncio.run(run())
    assert [a.status for a in answers] == [204] * 3 and (served["requests"], served["connections"]) == (3, 3)


def test_timeouts_refused_addresses_and_dead_ports_are_answers_not_exceptions(receiver):
    receiver.reset()
    receiver.control("stuck", mode="slow", delay=3)

    async def run():
        async with webhook_http.client() as http:
            late = await webhook_http.post(http, receiver.url("stuck"), b"{}", {}, 0.5)
            dead = await webhook_http.post(http, "http://127.0.0.1:9/x", b"{}", {}, 2)
            metadata = await webhook_http.post(http, "http://169.254.169.254/latest", b"{}", {}, 2)
            scheme = await webhook_http.post(http, "ftp://127.0.0.1/x", b"{}", {}, 2)
            return late, dead, metadata, scheme

    late, dead, metadata, scheme = asyncio.run(run())
    assert late.error == "timeout" and late.status is None
    assert dead.status is None and dead.error.startswith("no answer")
    assert metadata.error == scheme.error == "address refused by the outbound URL policy"


def test_a_name_is_pinned_to_its_checked_address_and_refused_once_it_points_inside(monkeypatch):
    """The connection goes to the address that was checked, with the name in Host; a name that now resolves to a
    refused address (DNS rebinding) is refused when it is looked up again (each drain job, at most every
    `DNS_TTL` seconds; until then the connection goes to the address already checked)."""
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"

    async def run(resolved: list[str]):
        async with _server(answer) as (url, served):
            port = url.split(":")[2].split("/")[0]
            named = f"http://hooks.erp.test:{port}/hook"
            with outbound_urls.use_resolver(lambda host, _port: resolved if host == "hooks.erp.test" else []):
                async with webhook_http.client() as http:
                    reached = await webhook_http.post(http, named, b"{}", {}, 5)
                monkeypatch.setattr(outbound_urls, "private_allowed", lambda: False)
                async with webhook_http.client() as http:  # the next drain job looks the name up again
                    refused = await webhook_http.post(http, named, b"{}", {}, 5)
            return reached, refused, served

    reached, refused, served = asyncio.run(run(["127.0.0.1"]))
    assert reached.status == 200 and b"\r\nhost: hooks.erp.test:" in served["heads"][0].lower()
    assert refused.error == "address refused by the outbound URL policy" and served["requests"] == 1


def test_a_protocol_switch_or_a_bad_header_is_an_answer_not_a_spin_or_a_crash():
    """A 101 to an Upgrade (h11 would pause for ever) and a header that cannot be encoded end the attempt at once."""
    switched = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n"

    async def run():
        async with _server(switched) as (url, _), webhook_http.client() as http:
            began = asyncio.get_running_loop().time()
            upgrade = await webhook_http.post(http, url, b"{}", {"Upgrade": "h2c", "Connection": "upgrade"}, 5)
            bad = await webhook_http.post(http, url, b"{}", {"X-Nome": "João"}, 5)
            return upgrade, bad, asyncio.get_running_loop().time() - began

    upgrade, bad, took = asyncio.run(run())
    assert upgrade.status is None and upgrade.error.startswith("no answer") and took < 2
    assert bad.status is None and bad.error.startswith("no answer")


def test_a_name_in_any_script_and_a_path_with_spaces_go_out_encoded():
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"

    async def run():
        async with _server(answer) as (url, served), webhook_http.client() as http:
            port = url.split(":")[2].split("/")[0]
            with outbound_urls.use_resolver(lambda host, _port: ["127.0.0.1"] if host == "xn--caf-dma.test" else []):
                got = await webhook_http.post(http, f"http://café.test:{port}/ganchos/pedido novo?x=ç", b"{}", {}, 5)
            return got, served

    got, served = asyncio.run(run())
    head = served["heads"][0].decode("latin-1").lower()
    assert got.status == 200 and head.startswith("post /ganchos/pedido%20novo?x=%c3%a7 http/1.1")
    assert "\r\nhost: xn--caf-dma.test:" in head


def test_waiting_for_a_free_connection_does_not_count_against_the_timeout(receiver):
    receiver.reset()
    receiver.control("queued", mode="slow", delay=0.6)

    async def run():
        async with webhook_http.client(max_connections=1) as http:
            return await asyncio.gather(*(webhook_http.post(http, receiver.url("queued"), b"{}", {}, 1.0)
                                          for _ in range(2)))

    first, second = asyncio.run(run())
    assert (first.status, second.status) == (200, 200), (first, second)


@pytest.mark.parametrize("name", ["Upgrade", "TE", "Expect", "Keep-Alive", "Proxy-Authorization", "Host",
                                  "Accept-Encoding"])
def test_hop_by_hop_and_protocol_headers_cannot_be_added_to_an_endpoint(name):
    from crm_app.domain import webhooks as rules

    with pytest.raises(ValueError):
        rules.clean_headers({name: "x"})
    with pytest.raises(ValueError):
        rules.clean_headers({"X-Nome": "João"})  # header values go out as ASCII
    assert rules.clean_headers({"Authorization": "Bearer abc"}) == {"Authorization": "Bearer abc"}
