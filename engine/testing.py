"""``playbook test``: run the examples in each playbook's ``tests:`` and compare.

A test gives events and, optionally, ``until``; ``expect`` lists tasks that must be planned
and ``absent`` tasks that must not be, each as a subset of task fields (``due`` in RFC 3339).
``replied`` lists members who replied to a task of the playbook, and when: what an operator's
marks would tell a ``--state`` run (``until: replied`` reads it). ``tags`` gives members' tags
when the history ends, exactly (a rule that only tags and untags plans no task to expect).
Each playbook is tested alone, with the directory's community.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playbook_engine.contract import SourceRecord, Task
from playbook_engine.events import EventError, parse_time
from playbook_engine.model import Config, Playbook
from playbook_engine.runner import plan


@dataclass
class TestOutcome:
    playbook: str
    name: str
    file: str
    line: int
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _matches(expected: dict[str, Any], record: dict[str, Any], tz: Any) -> bool:
    for key, value in expected.items():
        actual = record.get(key)
        if key == "due" and isinstance(value, str) and isinstance(actual, str):
            try:
                if parse_time(value, tz) != parse_time(actual, tz):
                    return False
            except EventError:
                return False
            continue
        if key == "text" and isinstance(value, str) and isinstance(actual, str):
            if value not in actual:
                return False
            continue
        if actual != value:
            return False
    return True


def _records(task: Task, tz: Any) -> list[dict[str, Any]]:
    """What a test's `expect` and `absent` see of a planned task: its record, and for a merged
    message each of its other parts as a task of its own rule and action, due when the message
    is and with its text (the invitation that went out in the evening's reward message is
    still an invitation planned)."""
    record = task.record(tz)
    parts = [
        record | {"id": part["id"], "playbook": part["rule"].partition("/")[0], "rule": part["rule"].partition("/")[2], "action": part.get("action", record["action"]), "reason": part["reason"]}
        for part in task.parts if part["id"] != task.id
    ]
    return [record, *parts]


def _show(record: dict[str, Any], keys: tuple[str, ...] = ("due", "rule", "action", "member", "text")) -> str:
    return ", ".join(f"{key}={str(record.get(key))[:40]!s}" for key in keys if key in record)


def run_playbook_tests(config: Config) -> list[TestOutcome]:
    outcomes = []
    tz = config.community.tz
    for playbook in config.playbooks:
        for index, test in enumerate(playbook.tests):
            outcomes.append(_run_one(config, playbook, test, playbook.test_lines[index], tz))
    return outcomes


def _run_one(config: Config, playbook: Playbook, test: dict[str, Any], line: int, tz: Any) -> TestOutcome:
    outcome = TestOutcome(playbook.id, test["name"], playbook.file, line)
    alone = Config(config.community, [playbook], config.registry, config.env)
    records = [SourceRecord(number, event) for number, event in enumerate(test["events"], 1)]
    until = None
    if "until" in test:
        try:
            until = parse_time(test["until"], tz)
        except EventError as exc:
            outcome.failures.append(f"`until`: {exc}")
            return outcome
    planning = plan(alone, records, until=until)
    try:
        planning.evaluation.replies.restore([], [(item["member"], playbook.id, parse_time(item["at"], tz)) for item in test.get("replied", [])])
    except EventError as exc:
        outcome.failures.append(f"`replied`: {exc}")
        return outcome
    tasks = list(planning)
    result = planning.result
    for rejected in result.rejected:
        outcome.failures.append(f"event {rejected.line} rejected: {rejected.reason}")
    planned = [record for task in tasks for record in _records(task, tz)]
    for expected in test.get("expect", []):
        if not any(_matches(expected, record, tz) for record in planned):
            lines = "\n".join(f"      {_show(record)}" for record in planned) or "      (no tasks)"
            outcome.failures.append(f"expected a task with {_show(expected, tuple(expected)) or expected}\n    planned:\n{lines}")
    for unwanted in test.get("absent", []):
        hits = [record for record in planned if _matches(unwanted, record, tz)]
        for record in hits:
            outcome.failures.append(f"planned a task that should be absent: {_show(record)}")
    for member_id, wanted in test.get("tags", {}).items():
        member = planning.evaluation.members.get(member_id)
        carried = sorted(member.tags) if member is not None else []
        if carried != sorted(wanted):
            outcome.failures.append(f"member {member_id} carries the tags {carried}, expected {sorted(wanted)}")
    return outcome

