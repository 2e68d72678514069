"""Plan invariants of the shipped playbooks on generated histories that no single playbook test
pins: what a task says about the member is true of the history when it is due."""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, shipped_run

sys.path.insert(0, str(ROOT / "bench"))
from generate import Options, write

DAY = 86400.0
CONTACT = frozenset({"mention", "dm", "reward", "invite", "survey"})  # what the frequency limits count


def generated(seed: int, members: int) -> list[dict]:
    """The history shipped_run plans from (the same options)."""
    import json

    stream = io.StringIO()
    write(Options(events=1_500, members=members, groups=2, days=20, seed=seed), stream)
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def groups_at(events: list[dict], member: str, t: float) -> set[str]:
    """The groups the history shows ``member`` in at ``t``: a join or any event there brings
    them in, a leave takes them out."""
    groups: set[str] = set()
    for event in events:
        if datetime.fromisoformat(event["ts"]).timestamp() > t:
            break
        if event.get("member") == member and event.get("group"):
            (groups.discard if event["type"] == "member_left" else groups.add)(event["group"])
    return groups


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(20, 200))
def test_what_the_shipped_tasks_say_of_the_member_holds_when_they_are_due(tmp_path_factory, seed, members):
    """- a "why did you leave" DM (churn-winback/left-feedback) goes only to a member in no group;
    - vip-service's "contacted in the last two weeks" follows a task that reached the member then
      (an @, DM, reward, invite or survey — not a note to the operator about them);
    - a member is not reported dropping the same activity tier twice within 14 days."""
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members)
    events = generated(seed, members)
    by_member: dict[str, list] = defaultdict(list)
    for task in sorted(result.tasks, key=lambda task: task.due):
        if task.member is not None:
            by_member[task.member].append(task)
    for task in result.tasks:
        if task.rule == "left-feedback":
            assert not groups_at(events, task.member, task.due), task.id
        if task.playbook == "vip-service" and task.action == "notify" and "两周内刚被联系过" in (task.text or ""):
            assert any(other.action in CONTACT and task.due - 14 * DAY < other.due < task.due for other in by_member[task.member]), task.id
    for tasks in by_member.values():
        last: dict[str, float] = {}
        for task in tasks:
            if task.playbook == "activity-tiers" and task.rule.startswith("dropped-from"):
                assert task.rule not in last or task.trigger_at - last[task.rule] >= 14 * DAY, task.id
                last[task.rule] = task.trigger_at


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(20, 200))
def test_a_note_to_the_operator_is_planned_only_with_a_task_of_its_firing(tmp_path_factory, seed, members):
    """A note about a member ("需求回访：已私信 小徐…", "私信聊过之后…记进档案") from a rule that also
    writes to the member is in the plan only when one of its firing's tasks to the member is (on
    its own, or as a part of a merged message): the operator is never told about a DM that is
    not sent — whatever capacity, pace, limits, merges or the member's leaving did to it."""
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members)
    notes = result.planner.notes
    with_member_tasks = {rule.key for rule in config.rules if any(action.kind.name in notes for action in rule.actions) and any(action.kind.makes_task and action.kind.name not in notes for action in rule.actions)}
    merged = {item.task.id: item.task for item in result.suppressed if item.guardrail == "merged"}  # the parts, kept as merged
    sent = set()
    for task in result.tasks:
        if task.action not in notes:
            for part in [task, *(merged[part["id"]] for part in task.parts if part["id"] != task.id)]:  # a merged message: each part's firing
                sent.add((part.playbook, part.rule, part.trigger_at, part.member))
    for task in result.tasks:
        if task.action in notes and task.member is not None and f"{task.playbook}/{task.rule}" in with_member_tasks:
            assert (task.playbook, task.rule, task.trigger_at, task.member) in sent, task.id
