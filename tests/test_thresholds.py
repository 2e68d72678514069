"""When time alone could change a condition: the exact crossings of its comparisons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from playbook_engine.contract import Member
from playbook_engine.expressions import PlaybookEnvironment
from playbook_engine.lifecycle import TimeThresholds, _boundaries
from playbook_engine.localtime import DAY

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 4, 1, 12, tzinfo=TZ).timestamp()
TODAY = datetime(2026, 4, 1).toordinal()


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [("gteq", 14, {14}), ("lt", 14, {14}), ("gt", 14, {15}), ("lteq", 14, {15}), ("eq", 5, {5, 6}), ("ne", 5, {5, 6}), ("gteq", 2.5, {3}), ("gt", 2.5, {3}), ("eq", 2.5, set())],
)
def test_a_comparison_changes_only_where_a_whole_number_steps_across_its_boundary(op, value, expected):
    assert _boundaries(op, value) == expected
    compare = {"gteq": lambda x: x >= value, "lt": lambda x: x < value, "gt": lambda x: x > value, "lteq": lambda x: x <= value, "eq": lambda x: x == value, "ne": lambda x: x != value}[op]
    assert {x for x in range(-3, 30) if compare(x) != compare(x - 1)} == expected


def thresholds(*sources: str) -> TimeThresholds:
    return TimeThresholds(list(sources), PlaybookEnvironment(), TZ)


def test_days_of_silence_are_checked_once_the_day_they_reach_the_threshold():
    member = Member("m1", last_message_at=NOON - 3 * DAY)
    assert thresholds("member.days_silent >= 14").next_check(member, NOON) == NOON + 11 * DAY
    assert thresholds("14 < member.days_silent").next_check(member, NOON) == NOON + 12 * DAY  # > 14: on day 15


def test_a_window_count_is_checked_when_the_day_that_takes_it_below_a_threshold_leaves():
    # Active on 20 of the last 30 days: `>= 12` can only change when the ninth of them leaves.
    days = [TODAY - 29 + index for index in range(20)]
    member = Member("m1", daily=[number for day in days for number in (day, 1)])
    ninth_leaves = datetime.fromordinal(days[8] + 30).replace(tzinfo=TZ).timestamp()
    assert thresholds("member.active_days_30d >= 12").next_check(member, NOON) == ninth_leaves
    # Compared with something other than a number, it is checked as each day leaves.
    first_leaves = datetime.fromordinal(days[0] + 30).replace(tzinfo=TZ).timestamp()
    assert thresholds("member.active_days_30d >= member.messages").next_check(member, NOON) == first_leaves
    # Below every threshold already, days leaving cannot change it.
    assert thresholds("member.active_days_30d >= 25").next_check(member, NOON) is None


def test_messages_in_a_window_fall_by_the_day_s_count():
    member = Member("m1", daily=[TODAY - 6, 3, TODAY - 5, 2, TODAY - 1, 4])  # 9 messages in the last 7 days

    def leaves(day: int) -> float:
        return datetime.fromordinal(day + 7).replace(tzinfo=TZ).timestamp()

    assert thresholds("member.messages_7d >= 5").next_check(member, NOON) == leaves(TODAY - 5)  # 9 → 6 → 4
    assert thresholds("member.messages_7d > 6").next_check(member, NOON) == leaves(TODAY - 6)  # 9 → 6


def test_an_event_that_starts_a_count_or_lifts_a_window_asks_for_a_sooner_check():
    watched = thresholds("member.active_days_30d >= 12", "member.days_since_join < 7")
    member = Member("m1", joined_at=NOON)
    pending = NOON + 30 * DAY
    assert watched.rearm(member, NOON, pending, {"name"}) is None  # nothing it watches changed
    assert watched.rearm(member, NOON, pending, {"joined_at", "days_since_join"}) == NOON + 7 * DAY
    assert watched.rearm(member, NOON, NOON + 2 * DAY, {"days_since_join"}) is None  # the pending one is sooner
