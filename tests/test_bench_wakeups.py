"""bench/wakeups.py's replay of member timers against one wake-up per member: the counts its
bench/README.md table reports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from wakeups import one_wake_up, record_member_timers

from tests.conftest import ROOT


def test_a_later_part_waits_behind_the_members_earlier_wake_up():
    """m1's silence wants them at 10, their stage at 20: one entry now, one more after 10."""
    assert one_wake_up([(0, 10, "@silence", "m1"), (0, 20, "@lifecycle", "m1")], end=100) == (2, 2)


def test_an_earlier_due_time_pushes_again_and_the_later_entry_is_popped_stale():
    """m1's silence moves from 50 to 30 at 5: a new entry; the one at 50 comes out stale."""
    assert one_wake_up([(0, 50, "@silence", "m1"), (5, 30, "@silence", "m1")], end=100) == (2, 2)


def test_each_member_has_a_wake_up_of_their_own_and_nothing_past_the_end_is_popped():
    calls = [(0, 10, "@silence", "m1"), (0, 10, "@lifecycle", "m2"), (0, 500, "@becomes", "m2")]
    assert one_wake_up(calls, end=100) == (3, 2)


def test_the_run_is_recorded_with_the_event_time_of_each_call_and_left_as_it_was(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text((ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    calls, end = record_member_timers(str(ROOT / "playbooks"), events)
    assert calls and {part for _, _, part, _ in calls} <= {"@silence", "@lifecycle", "@becomes", "@tag-expiry"}
    assert all(now <= due for now, due, _, _ in calls) and max(now for now, _, _, _ in calls) <= end
    from playbook_engine import clock

    assert clock.Clock.schedule.__name__ == "schedule"  # the recording is undone
