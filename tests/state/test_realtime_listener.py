"""The per-process real-time registry and dispatch (design A), without a browser."""

import asyncio
import json

from crm_app.state import realtime
from tests.support.fake_app import FakeApp


def setup_function():
    realtime._TABS.clear()
    realtime._TENANT_OF.clear()
    realtime._SOCKET_OF.clear()


def test_pushes_go_only_to_the_socket_that_registered_the_tab():
    """A tab token read from a log and used on another socket (without an event of its own, which the session
    binding would check) must not receive the victim's pushes; the registering socket still does."""
    realtime.register_tab(1, "victim", "sid-victim")
    realtime.register_tab(1, "reconnected", "sid-old")
    app = FakeApp([])
    app.event_namespace.token_to_sid = {"victim": "sid-victim", "reconnected": "sid-attacker"}
    pushed = []

    async def push(app, token, events):
        pushed.append(token)
        return True

    assert asyncio.run(realtime.dispatch(app, 1, [{"kind": "message.new"}], push)) == 1
    assert pushed == ["victim"] and realtime.tabs_of(1) == ["victim"]
    realtime.register_tab(1, "reconnected", "sid-attacker")  # its own event passed the binding: pushes again
    assert asyncio.run(realtime.dispatch(app, 1, [{"kind": "message.new"}], push)) == 2


def test_messages_are_parsed_only_from_tenant_channels():
    event = {"seq": 3, "kind": "message.new", "conversation_id": 7, "data": {}}
    assert realtime.parse_message((realtime.channel_prefix() + "12").encode(), json.dumps(event)) == (12, event)
    assert realtime.parse_message(realtime.channel_prefix() + "seq:12", json.dumps(event)) is None
    assert realtime.parse_message(realtime.channel_prefix() + "12", "not json") is None
    assert realtime.parse_message(realtime.channel_prefix() + "12", json.dumps({"seq": 1})) is None


def test_a_tab_moves_between_tenants_and_disconnected_tabs_are_dropped():
    realtime.register_tab(1, "a")
    realtime.register_tab(1, "b")
    realtime.register_tab(2, "b")  # the same tab logged into another tenant
    assert realtime.tabs_of(1) == ["a"] and realtime.tabs_of(2) == ["b"]
    pushed = []

    async def push(app, token, event):
        pushed.append((token, event[0]["kind"]))
        return token != "gone"

    realtime.register_tab(1, "gone")
    realtime.register_tab(1, "closed")  # no socket in this process any more
    app = FakeApp(["a", "b", "gone"])
    reached = asyncio.run(realtime.dispatch(app, 1, [{"kind": "message.new"}], push))
    assert reached == 1
    assert sorted(pushed) == [("a", "message.new"), ("gone", "message.new")]
    assert realtime.tabs_of(1) == ["a"]  # "closed" had no socket, "gone" had no state


def test_a_failing_push_does_not_stop_the_others():
    realtime.register_tab(5, "x")
    realtime.register_tab(5, "y")

    async def push(app, token, event):
        if token == "x":
            raise RuntimeError("boom")
        return True

    assert asyncio.run(realtime.dispatch(FakeApp(["x", "y"]), 5, [{"kind": "typing"}], push)) == 1
    assert realtime.tabs_of(5) == ["x", "y"]  # x's socket is alive: it stays, and catches up on a later event


def test_which_events_a_tab_applies_and_when_it_reloads_everything():
    from crm_app.state.inbox.view import fresh_events

    typing = {"seq": None, "kind": "typing"}
    assert fresh_events(10, [{"seq": 9}, {"seq": 10}, {"seq": 11}, typing], 1000) == (11, [{"seq": 11}, typing],
                                                                                      False)
    assert fresh_events(10, [{"seq": 13}], 1000) == (13, [{"seq": 13}], True)  # 11 and 12 never came
    assert fresh_events(0, [{"seq": 7}], 1000) == (7, [{"seq": 7}], False)  # a fresh tab has nothing to miss
    assert fresh_events(5000, [{"seq": 1}, {"seq": 2}], 1000) == (2, [{"seq": 1}, {"seq": 2}], True)  # reset
    assert fresh_events(-1, [{"seq": 3}], 1000) == (3, [{"seq": 3}], True)  # a failed refresh: reload


def test_revoked_sessions_go_to_the_revocation_listeners_never_to_tabs(monkeypatch):
    from crm_app.services.core import realtime as rt_events

    heard = []
    monkeypatch.setattr(realtime, "_REVOCATION_LISTENERS", [heard.append])
    batch = {}
    message = {"type": "pmessage", "channel": rt_events.revocations_channel().encode(),
               "data": json.dumps({"session_ids": [4, 9]})}
    realtime._collect(batch, message)
    realtime._collect(batch, {**message, "data": "not json"})  # malformed: dropped, never a tab event
    assert heard == [[4, 9]] and batch == {}
