"""The send-slot limiter (`core.ratelimit.take_slot`): a sliding window in one Lua script, with two lanes.

Several real processes share it through Redis; lanes are checked on a simulated clock (`now=`), so a
flood of bulk callers and a stream of interactive ones can be replayed exactly, without sleeping.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from crm_app.config import PROJECT_ROOT
from crm_app.services.core import ratelimit
from tests.support.waiting import wait_for

# Each process: say it is ready, wait for the start signal, then take slots as fast as it can for
# `duration` seconds; print the Redis times of its grants.
HAMMER = """
import json, sys, time
from crm_app.queue import get_redis
from crm_app.services.core import ratelimit
key, barrier = sys.argv[1], sys.argv[5]
limit, window, duration = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
redis = get_redis()
redis.rpush(barrier + ":ready", 1)
redis.blpop([barrier + ":go"], timeout=30)
grants, end = [], time.monotonic() + duration
while time.monotonic() < end:
    slot = ratelimit.take_slot(key, limit, window=window)
    if slot.granted:
        grants.append(slot.at)
print(json.dumps(grants))
"""


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside one half-open window [t, t + window), counted in whole
    microseconds as the limiter counts (float seconds near 1.8e9 are off by tenths of a microsecond)."""
    times, most, start, window = sorted(round(t * 1e6) for t in times), 0, 0, round(window * 1e6)
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_three_processes_never_exceed_the_limit_in_any_sliding_window(redis_client):
    key, barrier = f"test:{uuid.uuid4().hex}", f"test:barrier:{uuid.uuid4().hex}"
    limit, window, duration = 20, 0.1, 0.6  # 200 a second, shared
    procs = [subprocess.Popen([sys.executable, "-c", HAMMER, key, str(limit), str(window), str(duration), barrier],
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    wait_for(lambda: redis_client.llen(f"{barrier}:ready") == 3, timeout=60)
    redis_client.rpush(f"{barrier}:go", 1, 1, 1)
    per_process = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    grants = [moment for own in per_process for moment in own]
    assert most_in_any_window(grants, window) <= limit
    # and the limit was the bottleneck: about `limit` per window went through, to every process
    assert len(grants) >= limit * duration / window * 0.75
    assert all(own for own in per_process)


def simulate(replies: list[float], until: float, *, limit: int = 100, step: float = 0.005):
    """A bulk crowd asks 3 times every `step` seconds without ever waiting; each reply arrives at its time
    and, when refused, comes back exactly when told. Returns when replies were granted, bulk grant times and
    reply refusal times."""
    key, now = f"test:{uuid.uuid4().hex}", 0.0
    served: list[tuple[float, float]] = []  # (arrived, granted)
    bulk: list[float] = []
    refused: list[float] = []
    pending = [(t, t) for t in replies]  # (arrived, asks at)
    while now < until:
        for _ in range(3):
            if ratelimit.take_slot(key, limit, lane=ratelimit.BULK, now=now).granted:
                bulk.append(now)
        for arrived, asks_at in [p for p in pending if p[1] <= now]:
            pending.remove((arrived, asks_at))
            slot = ratelimit.take_slot(key, limit, now=now)
            if slot.granted:
                served.append((arrived, now))
            else:
                refused.append(now)
                pending.append((arrived, now + slot.wait))
        now = round(now + step, 6)
    assert not pending
    return served, bulk, refused


def test_replies_within_the_reserve_never_wait_for_a_bulk_crowd():
    replies = [0.5 + i / 15 for i in range(45)]  # 15 a second, under the reserve of 20 (of 100)
    served, bulk, refused = simulate(replies, 4.0)
    assert len(served) == 45 and not refused  # each went in the step it arrived
    # bulk had the rest: 80 a window less the replies in it
    assert most_in_any_window(bulk, 1.0) <= 80 and len(bulk) >= 3 * 80 - 45


def test_a_burst_of_replies_goes_before_bulk_which_then_resumes():
    replies = [1.0 + i / 200 for i in range(60)]  # 60 replies in 0.3 s: three times the reserve
    served, bulk, refused = simulate(replies, 5.0)
    assert len(served) == 60 and max(granted - arrived for arrived, granted in served) <= 1.0  # bulk never cut in
    last_reply = max(granted for _, granted in served)
    assert refused and not [t for t in bulk if min(refused) <= t <= last_reply]  # bulk kept off while they waited
    assert [t for t in bulk if t > last_reply + ratelimit.WAITER_GRACE]  # and resumed afterwards


def test_two_lanes_together_never_exceed_the_limit_in_any_sliding_window():
    key = f"test:{uuid.uuid4().hex}"
    grants, now = [], 0.0
    while now < 3.0:
        for lane in (ratelimit.BULK, ratelimit.INTERACTIVE, ratelimit.BULK):
            if ratelimit.take_slot(key, 50, lane=lane, now=now).granted:
                grants.append(now)
        now = round(now + 0.003, 6)
    assert most_in_any_window(grants, 1.0) == 50


def test_bulk_leaves_the_reserve_and_yields_while_a_reply_waits():
    key, now = f"test:{uuid.uuid4().hex}", 2_000_000.0
    take = ratelimit.take_slot
    assert sum(take(key, 10, lane=ratelimit.BULK, reserve=2, now=now).granted for _ in range(12)) == 8
    assert sum(take(key, 10, now=now).granted for _ in range(2)) == 2  # the reserve is the replies'
    refused = take(key, 10, now=now + 0.5)
    assert not refused.granted and refused.wait == pytest.approx(0.5)  # when the oldest slot frees
    # Slots free at +1.0, but a reply waits: bulk keeps off until the reply has had its chance to come back.
    assert not take(key, 10, lane=ratelimit.BULK, reserve=2, now=now + 1.01).granted
    assert take(key, 10, now=now + 1.02).granted
    assert take(key, 10, lane=ratelimit.BULK, reserve=2, now=now + 1.0 + ratelimit.WAITER_GRACE + 0.01).granted


def test_refused_callers_are_spread_one_slot_apart():
    key, now = f"test:{uuid.uuid4().hex}", 3_000_000.0
    for _ in range(4):
        assert ratelimit.take_slot(key, 4, now=now).granted
    waits = [ratelimit.take_slot(key, 4, now=now).wait for _ in range(3)]
    assert waits == pytest.approx([1.0, 1.25, 1.5])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="lane"):
        ratelimit.take_slot("k", 10, lane="vip")
    with pytest.raises(ValueError, match="positive"):
        ratelimit.take_slot("k", 0)


def test_a_number_limited_to_one_a_second_still_sends_bulk():
    key, now = f"test:{uuid.uuid4().hex}", 4_000_000.0
    assert ratelimit.take_slot(key, 1, lane=ratelimit.BULK, now=now).granted
    refused = ratelimit.take_slot(key, 1, lane=ratelimit.BULK, now=now + 0.1)
    assert not refused.granted and refused.wait == pytest.approx(0.9)


def test_bulk_held_for_a_reply_and_out_of_slots_comes_back_when_both_have_passed():
    key, now = f"test:{uuid.uuid4().hex}", 5_000_000.0
    take = ratelimit.take_slot
    assert sum(take(key, 10, lane=ratelimit.BULK, reserve=2, now=now).granted for _ in range(8)) == 8
    assert sum(take(key, 10, now=now).granted for _ in range(2)) == 2
    assert not take(key, 10, now=now + 0.1).granted  # a reply waits: bulk is held past its return
    held_until = now + 1.0 + ratelimit.WAITER_GRACE
    bulk = take(key, 10, lane=ratelimit.BULK, reserve=2, now=now + 0.2)
    assert not bulk.granted and now + 0.2 + bulk.wait >= held_until - 1e-6  # not back early, only to be refused
