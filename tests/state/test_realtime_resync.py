"""The real-time listener reconnects after losing Redis, and its tabs resync (notes sent meanwhile are lost)."""

import asyncio
import os
import time

os.environ.setdefault("REFLEX_SKIP_COMPILE", "1")

from crm_app.config import get_settings  # noqa: E402
from crm_app.queue import get_redis  # noqa: E402
from crm_app.services.core import realtime as rt_events  # noqa: E402
from crm_app.state import realtime  # noqa: E402
from crm_app.state.inbox import InboxListState, InboxLiveState  # noqa: E402
from tests.support.fake_app import FakeApp  # noqa: E402
from tests.support.faults import kill_listener, listener_connections  # noqa: E402
from tests.support.isolation import build_side, fresh_state, run_handler  # noqa: E402


async def _until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_killed_subscriber_reconnects_and_every_tab_is_told_to_resync(monkeypatch):
    monkeypatch.setattr(get_settings(), "realtime_reconnect_delay", 0.05)
    realtime._TABS.clear()
    realtime._TENANT_OF.clear()
    realtime.register_tab(901, "tab-a")
    realtime.register_tab(901, "tab-b")
    realtime.register_tab(902, "tab-c")
    pushed: list[tuple[str, list]] = []

    async def push(app, token, events):
        pushed.append((token, events))
        return True

    redis = get_redis()
    listener = asyncio.create_task(realtime.listen(FakeApp(["tab-a", "tab-b", "tab-c"]), push))
    try:
        first = await _until(lambda: listener_connections(redis))
        before = realtime.stats["reconnects"]
        assert kill_listener(redis) == first  # CLIENT KILL TYPE pubsub: the connection drops, no pause
        await _until(lambda: realtime.stats["reconnects"] == before + 1)
        again = await _until(lambda: listener_connections(redis))
        assert len(again) == 1 and again != first
        resynced = await _until(lambda: sorted(t for t, events in pushed if events[0]["kind"] == realtime.RESYNC))
        assert resynced == ["tab-a", "tab-b", "tab-c"]
        rt_events.publish(901, "message.new", conversation_id=5)  # and the new subscription delivers
        await _until(lambda: {t for t, events in pushed if events[0]["kind"] == "message.new"} == {"tab-a", "tab-b"})
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        realtime._TABS.clear()
        realtime._TENANT_OF.clear()


async def test_a_quiet_channel_is_not_taken_for_a_dead_connection(monkeypatch):
    """The listener reads with its own timeout: silence longer than the socket timeout is no error."""
    monkeypatch.setattr(get_settings(), "redis_socket_timeout", 0.2)
    monkeypatch.setattr(get_settings(), "redis_health_check_seconds", 1)
    before = realtime.stats["reconnects"]

    async def push(app, token, events):
        return True

    redis = get_redis()
    listener = asyncio.create_task(realtime.listen(FakeApp([]), push))
    try:
        first = await _until(lambda: listener_connections(redis))
        quiet_until = time.monotonic() + 1.5  # several socket timeouts and a health check, with nothing published
        await _until(lambda: time.monotonic() > quiet_until, timeout=5)
        assert listener_connections(redis) == first and realtime.stats["reconnects"] == before
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def test_a_resync_note_reloads_everything_the_tab_shows(db):
    side = build_side(db, marker="resync")
    root, live = fresh_state(InboxLiveState, side.cookies["admin"])
    await run_handler(live, "load", ())
    listing = root.get_substate(InboxListState.get_full_name().split(".")[1:])
    listing.rows = []  # what a tab shows after missing notes: not what the database holds
    assert live._apply_events([{"seq": None, "kind": realtime.RESYNC}])
    assert {r["id"] for r in listing.rows} == {str(side.ids["admins_conversation"])}
