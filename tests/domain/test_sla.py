"""SLA deadlines: golden cases in São Paulo business hours (UTC-3), holidays, pauses, snooze and reopen."""

import datetime as dt

import pytest

from crm_app.domain import business_hours
from crm_app.domain.calendar import HolidayCalendar
from crm_app.domain.sla import (
    ACTIVE,
    FIRST_RESPONSE,
    HIT,
    MISSED,
    NEXT_RESPONSE,
    RESOLUTION,
    WALL,
    Clock,
    Event,
    Targets,
    compute_due,
    evaluate,
)

SP = "America/Sao_Paulo"
WEEK = ("mon", "tue", "wed", "thu", "fri")
LUNCH = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in WEEK}
SPLIT = {day: [["08:00", "12:00"], ["14:00", "20:00"]] for day in WEEK}
NIGHT = {day: [["22:00", "06:00"]] for day in WEEK}
HOUR, MINUTE = 3600, 60


def sp(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=business_hours.zone(SP))


def due(hours, start, seconds, holidays=None, pauses=()):
    return compute_due(start, seconds, Clock(hours, holidays or HolidayCalendar(state="SP"), SP), pauses)


def test_lunch_break_is_skipped():
    # 2027-03-01 is a Monday: 30 minutes before lunch, 30 after it.
    assert due(LUNCH, sp(2027, 3, 1, 11, 30), HOUR) == sp(2027, 3, 1, 13, 30)


def test_started_while_closed_counts_from_the_opening():
    assert due(LUNCH, sp(2027, 3, 1, 7, 0), 30 * MINUTE) == sp(2027, 3, 1, 9, 30)
    assert due(LUNCH, sp(2027, 3, 1, 12, 15), 30 * MINUTE) == sp(2027, 3, 1, 13, 30)


def test_a_budget_that_runs_out_at_closing_is_due_at_closing():
    assert due(LUNCH, sp(2027, 3, 1, 17, 0), HOUR) == sp(2027, 3, 1, 18, 0)


def test_split_shift():
    assert due(SPLIT, sp(2027, 3, 1, 11, 0), 3 * HOUR) == sp(2027, 3, 1, 16, 0)
    assert due(SPLIT, sp(2027, 3, 1, 19, 0), 6 * HOUR) == sp(2027, 3, 2, 15, 0)  # 1 h + 4 h + 1 h


def test_crossing_a_weekend():
    # Friday 2027-03-05 17:00: one hour on Friday, the second on Monday.
    assert due(LUNCH, sp(2027, 3, 5, 17, 0), 2 * HOUR) == sp(2027, 3, 8, 10, 0)


def test_overnight_shift_and_its_tail_after_midnight():
    # Monday 05:00 is closed (Sunday has no shift whose tail reaches it); the shift opens Monday 22:00.
    assert due(NIGHT, sp(2027, 3, 1, 5, 0), 3 * HOUR) == sp(2027, 3, 2, 1, 0)
    # Friday's shift runs into Saturday morning: 7 h there, the last hour on Monday night.
    assert due(NIGHT, sp(2027, 3, 5, 23, 0), 8 * HOUR) == sp(2027, 3, 8, 23, 0)


def test_national_holiday():
    # Christmas 2026 is a Friday: from Thursday 17:30, half an hour that day, the rest on Monday.
    assert due(LUNCH, sp(2026, 12, 24, 17, 30), HOUR) == sp(2026, 12, 28, 9, 30)


def test_carnival_counted_or_not_is_the_tenants_choice():
    start = sp(2027, 2, 5, 17, 0)  # Friday before Carnival (8 and 9 February, then Ash Wednesday)
    assert due(LUNCH, start, 2 * HOUR, HolidayCalendar(state="SP")) == sp(2027, 2, 8, 10, 0)
    counted = HolidayCalendar(state="SP", count_optional=True)
    assert due(LUNCH, start, 2 * HOUR, counted) == sp(2027, 2, 11, 10, 0)


def test_municipal_holiday():
    city = HolidayCalendar(state="SP").with_extra(["01-25 Aniversário de São Paulo"], kind="municipal")
    start = sp(2027, 1, 22, 17, 0)  # Friday; 25 January 2027 is a Monday
    assert due(LUNCH, start, 2 * HOUR, HolidayCalendar(state="SP")) == sp(2027, 1, 25, 10, 0)
    assert due(LUNCH, start, 2 * HOUR, city) == sp(2027, 1, 26, 10, 0)


def test_wall_clock_when_not_business_hours_only():
    clock = Clock(LUNCH, HolidayCalendar(state="SP"), SP, business_only=False)
    assert compute_due(sp(2027, 3, 5, 17, 0), 2 * HOUR, clock, ()) == sp(2027, 3, 5, 19, 0)


@pytest.mark.parametrize("hours", [LUNCH, SPLIT, NIGHT])
def test_adding_is_the_inverse_of_counting(hours):
    calendar = HolidayCalendar(state="SP", count_optional=True)
    for start in (sp(2027, 2, 5, 11, 17), sp(2027, 2, 6, 3, 0), sp(2027, 3, 1, 23, 59), sp(2026, 12, 24, 21, 0)):
        for seconds in (1, 59 * MINUTE, 5 * HOUR + 7, 40 * HOUR):
            end = business_hours.add_business_seconds(hours, calendar, SP, start, seconds)
            assert business_hours.business_seconds(hours, calendar, SP, start, end) == pytest.approx(seconds)


def test_hours_with_no_open_day_have_no_deadline():
    every_day = [f"{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 32) if _real(m, d)]
    calendar = HolidayCalendar().with_extra(every_day, kind="municipal")
    assert business_hours.add_business_seconds(LUNCH, calendar, SP, sp(2027, 3, 1, 9, 0), HOUR) is None


def _real(month: int, day: int) -> bool:
    try:
        dt.date(2024, month, day)
    except ValueError:
        return False
    return True


def test_pauses_stop_the_clock_and_an_open_pause_has_no_deadline():
    start = sp(2027, 3, 1, 10, 0)
    pauses = [(sp(2027, 3, 1, 10, 5), sp(2027, 3, 1, 11, 5))]
    assert compute_due(start, HOUR, WALL, pauses) == sp(2027, 3, 1, 12, 0)
    # In business hours the pause and the lunch add up: 5 min, pause to 11:05, 55 min to 12:00, 0 left.
    assert due(LUNCH, start, HOUR, pauses=pauses) == sp(2027, 3, 1, 12, 0)
    assert due(LUNCH, start, 70 * MINUTE, pauses=pauses) == sp(2027, 3, 1, 13, 10)
    assert compute_due(start, HOUR, WALL, [(sp(2027, 3, 1, 10, 5), None)]) is None
    # A pause that starts after the budget ran out does not matter.
    assert compute_due(start, HOUR, WALL, [(sp(2027, 3, 1, 11, 30), None)]) == sp(2027, 3, 1, 11, 0)


def ev(kind, *at, until=None):
    return Event(sp(2027, 3, 1, *at), kind, until)


def test_waiting_on_the_customer_pauses_resolution():
    events = [ev("handoff", 10, 0), ev("human", 10, 5), ev("customer", 11, 5), ev("human", 11, 10),
              ev("close", 12, 0)]
    # Counted: 10:00–10:05 and 11:05–11:10, so the hour is far from used up at the close.
    result = evaluate(Targets(resolution=HOUR), events, WALL, sp(2027, 3, 1, 13, 0))
    assert result.states[RESOLUTION].status == HIT
    assert result.states[RESOLUTION].due_at == sp(2027, 3, 1, 12, 50)
    assert result.misses == []
    # The same conversation with a 5-minute target was missed at 11:05 (5 min counted by 10:05, then paused).
    tight = evaluate(Targets(resolution=5 * MINUTE), events, WALL, sp(2027, 3, 1, 13, 0))
    assert tight.states[RESOLUTION].status == MISSED
    assert [m.due_at for m in tight.misses] == [sp(2027, 3, 1, 10, 5)]


def test_while_waiting_on_the_customer_resolution_has_no_deadline():
    events = [ev("handoff", 10, 0), ev("human", 10, 5)]
    result = evaluate(Targets(resolution=HOUR), events, WALL, sp(2027, 3, 1, 20, 0))
    assert result.states[RESOLUTION].status == ACTIVE
    assert result.states[RESOLUTION].due_at is None
    assert result.next_due_at is None


def test_bot_time_before_the_handoff_does_not_count():
    with_bot = [ev("customer", 9, 0), ev("bot", 9, 0, 5), ev("customer", 9, 10), ev("bot", 9, 11),
                ev("handoff", 9, 20), ev("human", 9, 40)]
    first = evaluate(Targets(first_response=30 * MINUTE), with_bot, WALL, sp(2027, 3, 1, 10, 0))
    assert first.states[FIRST_RESPONSE].started_at == sp(2027, 3, 1, 9, 20)
    assert first.states[FIRST_RESPONSE].status == HIT
    without_bot = [ev("customer", 9, 0), ev("human", 9, 40)]
    late = evaluate(Targets(first_response=30 * MINUTE), without_bot, WALL, sp(2027, 3, 1, 10, 0))
    assert late.states[FIRST_RESPONSE].status == MISSED
    assert late.states[FIRST_RESPONSE].done_at == sp(2027, 3, 1, 9, 40)


def test_first_response_still_due_and_then_missed():
    events = [ev("customer", 9, 0), ev("bot", 9, 0, 1), ev("handoff", 9, 5)]
    targets = Targets(first_response=30 * MINUTE)
    before = evaluate(targets, events, WALL, sp(2027, 3, 1, 9, 20))
    assert (before.states[FIRST_RESPONSE].status, before.next_due_at) == (ACTIVE, sp(2027, 3, 1, 9, 35))
    after = evaluate(targets, events, WALL, sp(2027, 3, 1, 9, 35))
    assert after.states[FIRST_RESPONSE].status == MISSED
    assert after.next_due_at is None  # missed clocks are the escalation's business, not the next deadline's


def test_snooze_until_pauses_every_clock():
    events = [ev("handoff", 10, 0), ev("snooze", 10, 10, until=sp(2027, 3, 1, 11, 10)), ev("human", 11, 25)]
    result = evaluate(Targets(first_response=30 * MINUTE), events, WALL, sp(2027, 3, 1, 12, 0))
    assert result.states[FIRST_RESPONSE].due_at == sp(2027, 3, 1, 11, 30)
    assert result.states[FIRST_RESPONSE].status == HIT


def test_a_customer_message_wakes_a_snooze():
    events = [ev("handoff", 10, 0), ev("snooze", 10, 10), ev("customer", 10, 40)]
    result = evaluate(Targets(first_response=30 * MINUTE), events, WALL, sp(2027, 3, 1, 10, 45))
    assert result.next_due_at == sp(2027, 3, 1, 11, 0)
    snoozed = evaluate(Targets(first_response=30 * MINUTE), events[:2], WALL, sp(2027, 3, 1, 10, 45))
    assert snoozed.states[FIRST_RESPONSE].due_at is None
    assert snoozed.states[FIRST_RESPONSE].status == ACTIVE


def test_each_late_next_response_is_one_breach():
    events = [ev("handoff", 9, 0), ev("human", 9, 1),
              ev("customer", 9, 30), ev("customer", 9, 35), ev("human", 9, 50),  # 20 min: late
              ev("customer", 10, 0), ev("human", 10, 5),  # 5 min: in time
              ev("customer", 11, 0)]  # open: due 11:10
    targets = Targets(next_response=10 * MINUTE)
    result = evaluate(targets, events, WALL, sp(2027, 3, 1, 11, 30))
    assert [(m.target, m.started_at, m.due_at) for m in result.misses] == [
        (NEXT_RESPONSE, sp(2027, 3, 1, 9, 30), sp(2027, 3, 1, 9, 40)),
        (NEXT_RESPONSE, sp(2027, 3, 1, 11, 0), sp(2027, 3, 1, 11, 10))]
    # Evaluating again gives the same breaches under the same keys: acting on them once is possible.
    again = evaluate(targets, list(reversed(events)), WALL, sp(2027, 3, 1, 11, 30))
    assert [m.key for m in again.misses] == [m.key for m in result.misses]


def test_reopen_starts_a_new_resolution_clock_and_first_response_is_owed_once():
    events = [ev("handoff", 9, 0), ev("human", 9, 5), ev("close", 9, 30), ev("reopen", 14, 0)]
    targets = Targets(first_response=30 * MINUTE, resolution=2 * HOUR)
    result = evaluate(targets, events, WALL, sp(2027, 3, 1, 16, 30))
    assert result.states[FIRST_RESPONSE].status == HIT
    assert result.states[RESOLUTION].started_at == sp(2027, 3, 1, 14, 0)
    assert result.states[RESOLUTION].status == MISSED
    assert [(m.target, m.started_at) for m in result.misses] == [(RESOLUTION, sp(2027, 3, 1, 14, 0))]


def test_a_customer_message_after_the_close_owes_a_next_response_in_a_new_cycle():
    events = [ev("handoff", 9, 0), ev("human", 9, 5), ev("close", 9, 30), ev("customer", 14, 0)]
    targets = Targets(next_response=30 * MINUTE, resolution=2 * HOUR)
    result = evaluate(targets, events, WALL, sp(2027, 3, 1, 14, 10))
    assert result.states[NEXT_RESPONSE].due_at == sp(2027, 3, 1, 14, 30)
    assert result.states[RESOLUTION].started_at == sp(2027, 3, 1, 14, 0)
    assert result.next_due_at == sp(2027, 3, 1, 14, 30)


def test_a_conversation_across_a_weekend_in_business_hours():
    clock = Clock(LUNCH, HolidayCalendar(state="SP"), SP)
    events = [Event(sp(2027, 3, 5, 17, 30), "handoff")]  # Friday
    result = evaluate(Targets(first_response=HOUR), events, clock, sp(2027, 3, 8, 9, 0))
    assert result.states[FIRST_RESPONSE].due_at == sp(2027, 3, 8, 9, 30)
    assert result.states[FIRST_RESPONSE].status == ACTIVE


def test_no_target_no_state_and_unknown_events_are_refused():
    assert evaluate(Targets(), [ev("handoff", 9, 0)], WALL, sp(2027, 3, 1, 12, 0)).states == {}
    with pytest.raises(ValueError, match="unknown SLA event"):
        evaluate(Targets(), [ev("typing", 9, 0)], WALL, sp(2027, 3, 1, 12, 0))


def test_a_reply_at_the_deadline_itself_is_in_time():
    events = [ev("handoff", 9, 0), ev("human", 9, 30)]
    assert evaluate(Targets(first_response=30 * MINUTE), events, WALL, sp(2027, 3, 1, 10, 0)).misses == []
    late = events[:1] + [ev("human", 9, 30, 1)]
    assert evaluate(Targets(first_response=30 * MINUTE), late, WALL, sp(2027, 3, 1, 10, 0)).misses != []


CHAIN = [{"action": "notify_supervisor", "after_minutes": 0}, {"action": "reassign_user", "after_minutes": 10,
                                                               "user_id": 7},
         {"action": "raise_priority", "after_minutes": 30}]


def _plan(events, now, warn=dt.timedelta(minutes=5), chain=CHAIN):
    from crm_app.domain.sla import plan_actions

    evaluation = evaluate(Targets(first_response=30 * MINUTE), events, WALL, now)
    return evaluation, plan_actions(evaluation, warn_before=warn, escalation=chain)


def test_a_warning_before_the_deadline_then_each_escalation_step_once_in_order():
    from crm_app.domain.sla import ESCALATE, WARN, due_actions, next_wake_at

    events = [ev("handoff", 9, 0)]  # first response due 09:30
    evaluation, actions = _plan(events, sp(2027, 3, 1, 9, 20))
    assert [(a.kind, a.at) for a in actions] == [(WARN, sp(2027, 3, 1, 9, 25))]
    assert due_actions(actions, [], sp(2027, 3, 1, 9, 24)) == []
    assert next_wake_at(actions, [], evaluation) == sp(2027, 3, 1, 9, 25)
    [warning] = due_actions(actions, [], sp(2027, 3, 1, 9, 25))
    done = [warning.key]

    evaluation, actions = _plan(events, sp(2027, 3, 1, 9, 45))  # missed at 09:30; the warning is no longer owed
    assert [(a.kind, a.step, a.at) for a in actions] == [
        (ESCALATE, 0, sp(2027, 3, 1, 9, 30)), (ESCALATE, 1, sp(2027, 3, 1, 9, 40)),
        (ESCALATE, 2, sp(2027, 3, 1, 10, 0))]
    due = due_actions(actions, done, sp(2027, 3, 1, 9, 45))
    assert [(a.action, a.user_id) for a in due] == [("notify_supervisor", None), ("reassign_user", 7)]
    # The worker dies after the first step: the next run does the second only, and never the first again.
    done.append(due[0].key)
    evaluation, actions = _plan(events, sp(2027, 3, 1, 9, 46))
    assert [a.step for a in due_actions(actions, done, sp(2027, 3, 1, 9, 46))] == [1]
    done.append(due[1].key)
    assert due_actions(actions, done, sp(2027, 3, 1, 9, 59)) == []
    assert next_wake_at(actions, done, evaluation) == sp(2027, 3, 1, 10, 0)
    [last] = due_actions(actions, done, sp(2027, 3, 1, 11, 0))
    assert last.action == "raise_priority"
    assert next_wake_at(actions, [*done, last.key], evaluation) is None


def test_a_step_never_runs_before_the_one_ahead_of_it():
    from crm_app.domain.sla import due_actions

    events = [ev("handoff", 9, 0)]
    _, actions = _plan(events, sp(2027, 3, 1, 12, 0))
    first, second, third = actions
    assert due_actions([second, third], [], sp(2027, 3, 1, 12, 0)) == []
    assert due_actions([second, third], [first.key], sp(2027, 3, 1, 12, 0)) == [second, third]


def test_each_breach_has_its_own_steps_and_a_late_start_warns_at_once():
    from crm_app.domain.sla import plan_actions

    events = [ev("handoff", 9, 0), ev("human", 9, 1), ev("customer", 9, 30), ev("human", 9, 50),
              ev("customer", 10, 0)]
    evaluation = evaluate(Targets(next_response=10 * MINUTE), events, WALL, sp(2027, 3, 1, 10, 2))
    actions = plan_actions(evaluation, warn_before=dt.timedelta(minutes=30), escalation=CHAIN[:1])
    assert [(a.kind, a.at) for a in actions] == [("escalate", sp(2027, 3, 1, 9, 40)), ("warn", sp(2027, 3, 1, 10, 0))]
    assert len({a.key for a in actions}) == 2
