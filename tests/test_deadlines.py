"""Deadlines: the latest a task may be due. Quiet hours and capacity never move a task past
it; a task they would is dropped as `deadline`, and capacity keeps the earlier deadline first."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.output import render_explanation
from tests.conftest import plan, shipped_run, task_keys
from tests.test_guardrails import capacity_community, community, one_rule
from tests.test_triggers import msg


def test_a_rule_deadline_after_the_trigger_drops_what_quiet_hours_would_push_past_it(make_config):
    quiet = community("  quiet_hours: \"22:00-08:00\"\n")
    config = make_config({"p.yaml": one_rule("{event: message}", "    deadline: 2h\n")}, quiet)
    result = plan(config, [msg("01T21:00:00", "m1"), msg("01T23:00:00", "m2")], explain=True)
    assert task_keys(result, "member", "due") == [("m1", "2026-03-01T21:00:00+08:00")]
    assert [(item.guardrail, item.task.member, item.reason) for item in result.suppressed] == [
        ("deadline", "m2", "deadline: it would be due 2026-03-02 08:00, after its deadline 2026-03-02 01:00"),
    ]
    assert "1 suppressed (deadline 1)" in result.summary()
    assert "but        deadline: it would be due 2026-03-02 08:00" in render_explanation(result, config.community.tz)


def test_a_scheduled_post_is_not_moved_to_the_next_day_by_capacity(make_config):
    """A schedule's tasks are due by the end of its local day: tonight's post is no use tomorrow."""
    files = {
        "a.yaml": 'playbook: a\nrules:\n  - id: tonight\n    when: {schedule: "0 20 * * *"}\n    do:\n      - post: "今晚 21:00 截止报名"\n',
        "b.yaml": one_rule("{event: message}", playbook="b", priority="high"),
    }
    events = [msg("01T19:00:00", "m1"), msg("01T19:30:00", "m2"), msg("02T09:00:00", "m3")]
    result = plan(make_config(files, capacity_community()), events)
    assert task_keys(result, "playbook", "member", "due") == [
        ("b", "m1", "2026-03-01T19:00:00+08:00"),
        ("b", "m2", "2026-03-01T19:30:00+08:00"),
        ("b", "m3", "2026-03-02T09:00:00+08:00"),
    ]
    assert result.planner.suppressed_counts["deadline"] == 1


def test_a_task_capacity_moves_past_its_deadline_says_the_day_was_full(make_config):
    """Review 6: 103 course-end surveys were "过了截止时间" and nothing said why they would have
    moved: the operator's day was full. The reason names the full day and the capacity first."""
    files = {"a.yaml": 'playbook: a\nrules:\n  - id: tonight\n    when: {schedule: "0 20 * * *"}\n    do:\n      - post: "今晚 21:00 截止报名"\n', "b.yaml": one_rule("{event: message}", playbook="b", priority="high")}
    config = make_config(files, capacity_community().replace("community:\n", "community:\n  language: zh-CN\n", 1))
    result = plan(config, [msg("01T19:00:00", "m1"), msg("01T19:30:00", "m2"), msg("02T09:00:00", "m3")], explain=True)
    assert [(item.guardrail, item.reason) for item in result.suppressed] == [
        ("deadline", "过了截止时间：op 2026-03-01 的容量已满（每天 2 个），顺延到 2026-03-02 20:00 就晚于截止时间 2026-03-02 00:00"),
    ]


@pytest.mark.parametrize("keep", [False, True])
def test_the_summary_says_how_many_deadline_drops_a_full_day_caused(make_config, keep):
    """Review 9: 187 中秋 greetings were counted as 超过截止时间, and nothing in the summary said
    capacity, not lateness, cost them. The deadline count says how many a full day moved past
    it; one quiet hours pushed past its deadline is not among them."""
    files = {
        "a.yaml": 'playbook: a\nrules:\n  - id: tonight\n    when: {schedule: "0 20 * * *"}\n    do:\n      - post: "今晚 21:00 截止报名"\n',
        "b.yaml": one_rule("{event: message}", playbook="b", priority="high"),
        "c.yaml": one_rule("{event: message}", "    deadline: 2h\n", playbook="c", priority="high"),
    }
    community_text = capacity_community().replace("capacity: 2", "capacity: 3").replace("community:\n", "community:\n  language: zh-CN\n  quiet_hours: \"22:00-08:00\"\n", 1)
    events = [msg("01T19:00:00", "m1"), msg("01T19:30:00", "m2"), msg("01T23:00:00", "m4"), msg("02T09:00:00", "m3")]
    result = plan(make_config(files, community_text), events, keep_suppressed=keep)  # dropped as counted, or kept for --explain
    assert sorted((item.task.playbook, item.task.member) for item in result.suppressed) == ([("a", None), ("c", "m4")] if keep else [])
    assert result.planner.suppressed_counts["deadline"] == 2  # the post (its day full) and c's at 23:00 (quiet hours: past 01:00)…
    assert result.planner.full_past_deadline == 1  # …of which the post alone for a full day
    assert "未安排 2 个（超过截止时间 2（其中 1 个是那天容量已满、顺延就过了截止时间））" in result.summary("zh-CN")


def test_capacity_keeps_the_earlier_deadline_first_among_equal_priority(make_config):
    files = {
        "a.yaml": one_rule("{event: message}", "    deadline: 3d\n", playbook="a"),
        "b.yaml": one_rule("{event: message, keywords: [今天]}", "    deadline: 6h\n", playbook="b"),
    }
    config = make_config(files, capacity_community().replace("capacity: 2", "capacity: 1"))
    result = plan(config, [msg("01T09:00:00", "m1", text="今天")])
    # Both are due at 09:00 with one slot: b cannot wait, a can and moves to tomorrow.
    assert task_keys(result, "playbook", "due") == [("b", "2026-03-01T09:00:00+08:00"), ("a", "2026-03-02T09:00:00+08:00")]


@pytest.mark.parametrize(("options", "message"), [
    ("    deadline: 1h\n    delay: 2h\n", "deadline 1h is shorter than delay 2h"),
    ("    deadline: soon\n", "deadline"),
])
def test_a_deadline_that_cannot_work_is_an_error(make_config, options, message):
    with pytest.raises(InvalidPlaybooks) as raised:
        make_config({"p.yaml": one_rule("{event: message}", options)}, community())
    assert message in str(raised.value)


def test_every_trigger_declares_a_deadline_the_engine_can_read(registry):
    from playbook_engine.durations import parse_duration

    for trigger in registry.triggers.values():
        assert trigger.default_deadline == "day" or parse_duration(trigger.default_deadline) > 0, trigger.name
    assert {name for name, trigger in registry.triggers.items() if trigger.default_deadline == "day"} == {"schedule", "holiday", "group_age", "leaderboard", "milestone"}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(20, 300), capacity=st.integers(1, 30))
def test_no_task_is_due_after_its_deadline(tmp_path_factory, seed, members, capacity):
    """On generated histories, with the shipped playbooks and a binding capacity."""
    _, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members, lambda text: text.replace("capacity: 40", f"capacity: {capacity}"))
    assert result.tasks
    assert all(task.due <= task.deadline for task in result.tasks)
