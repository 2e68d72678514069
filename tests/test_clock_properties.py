"""Properties of the event-time clock: split runs equal one run; no wall clock is read."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.plugins import load_registry
from tests.conftest import ROOT, config_from, plan

START = 1772326800.0  # 2026-03-01T09:00:00+08:00

COMMUNITY = """\
community:
  name: t
  timezone: Asia/Shanghai
  quiet_hours: "22:00-08:00"
  limits:
    - {actions: [dm], max: 2, per: 3d}
"""

PLAYBOOK = """\
playbook: mix
rules:
  - id: hello
    when: {event: member_joined}
    do: [{mention: "hi {{ member.name }}"}]
  - id: quiet
    when: {silence: 2d}
    cooldown: 3d
    do: [{dm: "still there?"}]
  - id: later
    when: {after_join: 1d}
    if: member.messages == 0
    do: [{dm: "say something"}]
  - id: sla
    when: {unanswered: 30m}
    do: [{notify: "answer {{ member.name }}"}]
  - id: daily
    when: {schedule: "0 21 * * *", each: member}
    if: member.messages_7d >= 2
    do: [{reward: {points: 1}}]
  - id: fading
    when: {stage: decline}
    do: [{dm: "we miss you"}]
"""


event_kinds = st.sampled_from(["message", "message", "message", "question", "answer", "member_joined", "member_left"])
steps = st.lists(
    st.tuples(st.sampled_from([0, 60, 1500, 2400, 5 * 3600, 86400, 2 * 86400 + 3600, 3 * 86400]) | st.integers(0, 4 * 86400), st.sampled_from(["m1", "m2", "m3", "m4"]), event_kinds),
    min_size=1,
    max_size=25,
)


def events_from(drawn: list[tuple[int, str, str]]) -> list[dict]:
    """Events from drawn (gap, member, kind) steps: messages, questions, answers, joins, leaves."""
    events, t = [], START
    for number, (gap, member, kind) in enumerate(drawn):
        t += gap
        event = {"ts": t, "type": "message", "group": "g1", "member": member, "id": f"x{number}", "text": "hi"}
        if kind == "question":
            event["text"] = "请问怎么报名？"
        elif kind == "answer":
            event["reply_to"] = f"x{max(0, number - 1)}"
        elif kind != "message":
            event = {"ts": t, "type": kind, "group": "g1", "member": member}
        events.append(event)
    return events


@settings(max_examples=150, deadline=None)
@given(drawn=steps, split_fraction=st.floats(min_value=0, max_value=1))
@example(drawn=[(0, "m1", "message"), (181440, "m1", "message")], split_fraction=0.248)  # cooldown spans the split
def test_a_split_run_plans_the_same_tasks_as_one_run(drawn, split_fraction):
    config = SPLIT_CONFIG
    events = events_from(drawn)
    until = events[-1]["ts"] + 10 * 86400
    split = START + (until - START) * split_fraction
    whole = {task.id: task.record(config.community.tz) for task in plan(config, events, until=until).tasks}
    first = plan(config, [e for e in events if e["ts"] <= split], until=split)
    second = plan(config, events, start=split, until=until)
    # The first run's tasks due after its clock are checked with what it knows; the second,
    # which knows what happened by their due time, decides them (--from: tasks due from then).
    halves = {task.id: task.record(config.community.tz) for task in [task for task in first.tasks if task.due <= split] + second.tasks}
    assert halves == whole


def test_the_same_inputs_give_byte_identical_output(tmp_path):
    from click.testing import CliRunner

    from playbook_engine.cli import cli

    registry = load_registry(entrypoints=False)
    args = ["run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--format", "jsonl"]
    outputs = [CliRunner().invoke(cli, args, obj={"registry": registry}).stdout for _ in range(2)]
    assert outputs[0] == outputs[1] and outputs[0].count("\n") > 5


def test_the_engine_never_reads_the_wall_clock():
    """Output depends on (playbooks, events, clock) only: no now()/today()/time() in the core."""
    forbidden = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|time\.monotonic|time\.perf_counter)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for directory in ("engine", "plugins")
        for path in sorted((ROOT / directory).glob("*.py"))
        if path.name not in ("cli.py",)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if forbidden.search(line)
    ]
    assert offenders == []


SPLIT_CONFIG = config_from({"mix.yaml": PLAYBOOK}, COMMUNITY)


# -- time thresholds against checking at every step ------------------------------------------

THRESHOLD_COMMUNITY = """\
community:
  name: t
  timezone: Asia/Shanghai
  lifecycle:
    - {stage: churn, label: 流失, if: "member.days_silent > 9"}
    - {stage: newbie, label: 新手, if: "member.days_since_join <= 2"}
    - {stage: mature, label: 成熟, if: "4 <= member.active_days_30d"}
    - {stage: growth, label: 成长, if: "true"}
"""

THRESHOLD_PLAYBOOK = """\
playbook: th
rules:
""" + "".join(
    f"  - id: r{number}\n    when: {{becomes: \"{condition}\"}}\n    do: [{{notify: \"{number}\"}}]\n"
    for number, condition in enumerate([
        "member.active_days_30d >= 3", "member.active_days_30d < 2", "2 < member.active_days_30d <= 5",
        "member.messages_7d < 2 and member.messages > 1", "member.messages_30d != 4", "member.messages_7d == 3",
        "member.days_silent > 3", "member.days_silent == 5", "member.days_since_join >= 4", "member.messages_30d >= 2.5",
    ])
) + """\
  - id: entered
    when: {stage: mature}
    do: [{notify: "mature"}]
  - id: left-mature
    when: {stage: growth}
    do: [{notify: "growth"}]
"""


THRESHOLD_CONFIG = config_from({"th.yaml": THRESHOLD_PLAYBOOK}, THRESHOLD_COMMUNITY)


def _every_step(self, member, now):
    """The oracle: the next instant any time-driven field changes at all (a local midnight,
    a whole day of silence or of membership) — checking there can miss nothing."""
    from playbook_engine.localtime import DAY

    candidates = [self._local.midnight(self._local.day(now) + 1)]
    for start in (member.silent_since, member.joined_at):
        if start is not None:
            candidates.append(start + ((now - start) // DAY + 1) * DAY)
    return min(candidates)


def _rearm_every_step(self, member, now, pending, changed):
    due = _every_step(self, member, now)
    return None if pending is not None and now < pending <= due else due


@settings(max_examples=150, deadline=None)
@given(drawn=st.lists(st.tuples(st.sampled_from([0, 3600, 86400, 2 * 86400, 4 * 86400, 9 * 86400]) | st.integers(0, 6 * 86400), st.sampled_from(["m1", "m2", "m3"]), st.sampled_from(["message", "message", "message", "member_joined", "member_left"])), min_size=1, max_size=30))
@example(drawn=[(0, "m1", "message"), (0, "m1", "member_joined")])  # a join after a check was armed brings the next one sooner
@example(drawn=[(0, "m1", "member_joined"), (0, "m1", "member_left")])  # time alone does not move a member who left
@example(drawn=[(0, "m1", "message"), (0, "m1", "member_joined"), (0, "m1", "member_left")])  # a check moved sooner, then left
def test_checks_at_the_thresholds_alone_plan_what_checks_at_every_step_plan(drawn):
    from playbook_engine.lifecycle import TimeThresholds

    events = events_from(drawn)
    until = events[-1]["ts"] + 45 * 86400
    tz = THRESHOLD_CONFIG.community.tz
    original = TimeThresholds.next_check, TimeThresholds.rearm
    superseded = 0  # checks moved sooner: the later one stays queued and does nothing when due

    def rearm(self, member, now, pending, changed):
        nonlocal superseded
        due = original[1](self, member, now, pending, changed)
        superseded += due is not None and pending is not None and pending > now
        return due

    TimeThresholds.rearm = rearm
    try:
        fast = plan(THRESHOLD_CONFIG, events, until=until)
    finally:
        TimeThresholds.rearm = original[1]
    TimeThresholds.next_check, TimeThresholds.rearm = _every_step, _rearm_every_step
    try:
        exhaustive = plan(THRESHOLD_CONFIG, events, until=until)
    finally:
        TimeThresholds.next_check, TimeThresholds.rearm = original
    assert [task.record(tz) for task in fast.tasks] == [task.record(tz) for task in exhaustive.tasks]
    # Checking at the thresholds alone never comes due more often, but for the checks an event
    # moved sooner (a join starts counting days where none were counted).
    assert fast.evaluation.clock.fired <= exhaustive.evaluation.clock.fired + superseded
