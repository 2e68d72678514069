"""Silence rules kept by one timer per member fire exactly as with a timer each, and take over
from the timers of each rule that a state file written before them holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.runner import run
from playbook_engine.state import StateStore
from playbook_engine.triggers.silence import SilenceTrigger, SilenceTriggers
from tests.conftest import config_from, records
from tests.test_clock_properties import COMMUNITY, events_from

DAY = 86400

PLAYBOOK = """\
playbook: quiet
rules:
  - id: nudge
    when: {silence: 1d}
    do: [{mention: "{{ member.name }}?"}]
  - id: again
    when: {silence: 1d}
    if: member.messages > 1
    do: [{notify: "{{ member.name }} is quiet ({{ trigger.silent_since }})"}]
  - id: ask
    when: {silence: 2d12h}
    cooldown: 4d
    do: [{dm: "still there?"}]
  - id: last
    when: {silence: 6d}
    do: [{notify: "{{ member.name }} silent since {{ trigger.silent_since }}"}]
"""


CONFIG = config_from({"quiet.yaml": PLAYBOOK}, COMMUNITY)
gaps = st.sampled_from([0, 60, 3600, DAY, DAY + 1, 2 * DAY, 5 * DAY, 7 * DAY]) | st.integers(0, 7 * DAY)
kinds = st.sampled_from(["message", "message", "message", "member_joined", "member_left"])
steps = st.lists(st.tuples(gaps, st.sampled_from(["m1", "m2", "m3"]), kinds), min_size=1, max_size=20)


def _plan(events: list[dict], until: float) -> list[tuple]:
    result = run(CONFIG, records(events), until=until)
    return [(task.rule, task.member, task.due, task.text, task.reason) for task in result.tasks]


def _by_due(task: tuple) -> tuple:
    return (task[2], task)


@contextmanager
def _apart() -> Iterator[None]:
    """Silence rules checked one by one, each with its own timers, as engines before the group did."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SilenceTrigger, "checked_together", classmethod(lambda cls, triggers: None))
        for rule in CONFIG.rules:
            if isinstance(rule.trigger, SilenceTrigger):
                patch.setattr(rule.trigger, "group", None)
        yield


@settings(max_examples=120, deadline=None)
@given(drawn=steps, tail=st.integers(0, 9 * DAY))
@example(drawn=[(0, "m1", "message"), (DAY + DAY // 2, "m1", "message")], tail=9 * DAY)  # speaks between two deadlines
@example(drawn=[(0, "m1", "message"), (DAY + DAY // 2, "m1", "member_left"), (DAY, "m1", "member_joined")], tail=9 * DAY)
def test_one_timer_per_member_fires_as_a_timer_per_rule(drawn, tail):
    events = events_from(drawn)
    until = events[-1]["ts"] + tail
    together = _plan(events, until)
    with _apart():
        each = _plan(events, until)
    assert together == each


def test_the_group_keeps_one_timer_per_member(tmp_path):
    events = events_from([(0, "m1", "message"), (DAY // 2, "m2", "message")])
    store = StateStore.open(str(tmp_path / "ops.db"))
    result = run(CONFIG, records(events), state=store)
    pending = result.evaluation.clock.new_pending()
    silence = {"@silence"} | {rule.trigger.key for rule in CONFIG.rules if isinstance(rule.trigger, SilenceTrigger)}
    assert sorted((timer.handler, timer.subject) for timer in pending if timer.handler in silence) == [("@silence", "m1"), ("@silence", "m2")]
    assert isinstance(result.evaluation.matcher._groups["@silence"], SilenceTriggers)
    store.close()


@settings(max_examples=60, deadline=None)
@given(drawn=steps, cut=st.floats(min_value=0, max_value=1), tail=st.integers(0, 9 * DAY))
@example(drawn=[(0, "m1", "message"), (DAY // 2, "m2", "message"), (DAY, "m1", "message")], cut=0.7, tail=9 * DAY)
@example(drawn=[(46800, "m2", "message"), (60, "m1", "message"), (86400, "m2", "message")], cut=1.0, tail=0)  # a timer at the last event's instant
def test_a_state_saved_with_a_timer_per_rule_continues_as_one_run(tmp_path_factory, drawn, cut, tail):
    """The first run keeps a timer per rule (an engine before the group); the next run, with
    the group, takes over from those timers and plans what one run over everything plans."""
    events = events_from(drawn)
    until = events[-1]["ts"] + tail
    at = round(cut * len(events))
    while 0 < at < len(events) and events[at]["ts"] == events[at - 1]["ts"]:
        at += 1  # not between two events of one instant: the watermark would count the second as seen
    path = tmp_path_factory.mktemp("legacy") / "ops.db"
    with _apart():
        store = StateStore.open(str(path))
        first = run(CONFIG, records(events[:at]), state=store)
        first.save_state()
        store.close()
    store = StateStore.open(str(path))
    second = run(CONFIG, records(events[at:]), state=store, until=until)
    store.close()
    continued = [(task.rule, task.member, task.due, task.text, task.reason) for task in first.tasks + second.tasks]
    # Each run's tasks come out in due order; a task the second run plans for an instant the
    # first run already released tasks at comes after them, so the two are compared by due.
    assert sorted(continued, key=_by_due) == sorted(_plan(events, until), key=_by_due)
