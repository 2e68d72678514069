"""A generated month of a real-sized community, planned by the shipped playbooks, read as the
operators would receive it (issue 24, item 5): nobody above the community's caps, no operator
above capacity, and no text said twice to the same member or group within a week.

The community is the shipped one (its groups, one of them the seed group, its three operators,
staff and capacities), with the generated fifth group given to an operator: the playbooks,
their content and every other setting are the shipped ones, as `playbook run playbooks` reads them.
"""

from __future__ import annotations

import io
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from playbook_engine.events import parse_jsonl
from playbook_engine.loading import load_config
from playbook_engine.model import Config
from playbook_engine.plugins import load_registry
from playbook_engine.runner import RunResult, run
from tests.conftest import ROOT

WEEK = 7 * 86400
GROUPS = 5


def _community(directory: Path) -> None:
    """The shipped playbook directory, its community as shipped (its groups, operators, staff,
    capacities), with the generated history's groups it does not declare given to the operator
    who looks after the fewest."""
    for path in (ROOT / "playbooks").iterdir():
        if path.is_file():
            shutil.copy(path, directory / path.name)
    data = yaml.safe_load((ROOT / "playbooks" / "community.yaml").read_text(encoding="utf-8"))
    community = data["community"]
    declared = {group["id"] for group in community.get("groups", [])}
    operators = community["operators"]
    assert len(operators) >= 3 and all(operator.get("groups") for operator in operators)
    for index in range(1, GROUPS + 1):
        if f"g{index}" not in declared:
            community["groups"].append({"id": f"g{index}", "name": f"读书会{index}群"})
            min(operators, key=lambda operator: len(operator["groups"]))["groups"].append(f"g{index}")
    for operator in operators:
        operator.pop("inbox", None)  # nothing is delivered here
    (directory / "community.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _month(seed: int) -> list[Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options, write

    stream = io.StringIO()
    write(Options(events=6_000, members=600, groups=GROUPS, days=30, seed=seed), stream)
    return list(parse_jsonl(io.StringIO(stream.getvalue())))


@pytest.fixture(scope="module", params=[1, 2])
def month(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, RunResult]:
    directory = tmp_path_factory.mktemp("month")
    _community(directory)
    config = load_config([directory], load_registry(entrypoints=False))
    return config, run(config, _month(request.param))


def test_the_month_plans_work_for_every_operator(month):
    config, result = month
    assignees = {task.assignee for task in result.tasks}
    assert assignees == {operator.id for operator in config.community.operators}
    assert len(result.tasks) > 100


def test_no_member_gets_more_than_the_community_limits_allow(month):
    """Every window of a limit's length holds at most its `max` of the tasks it counts, as the
    member receives them (a merged message is one)."""
    config, result = month
    exempt = {name for name, kind in config.registry.actions.items() if not kind.counts_toward_limits}
    by_member: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for task in result.tasks:
        if task.member is not None:
            by_member[task.member].append((task.due, task.action, task.id))
    assert config.community.limits
    for limit in config.community.limits:
        for member, tasks in by_member.items():
            counted = sorted(due for due, action, _ in tasks if (action in limit.actions if limit.actions is not None else action not in exempt))
            for index, first in enumerate(counted):
                within = [due for due in counted[index:] if due - first < limit.per]
                assert len(within) <= limit.max, f"{member}: {len(within)} tasks within {limit.per} s from {first}, limit {limit.max}"


def test_no_operator_is_given_more_than_their_capacity_on_any_day(month):
    config, result = month
    capacity = {operator.id: operator.capacity for operator in config.community.operators}
    per_day: dict[tuple[str | None, int], int] = defaultdict(int)
    local = result.evaluation.local
    for task in result.tasks:
        per_day[(task.assignee, local.day(task.due))] += 1
    over = {key: count for key, count in per_day.items() if key[0] is not None and capacity[key[0]] and count > capacity[key[0]]}
    assert not over


def test_no_text_is_said_twice_to_the_same_member_or_group_within_a_week(month):
    """What a member (or a group, for posts about no member) reads from the plan: never the same
    words again within seven days — a rule with text variants takes the next one."""
    _, result = month
    said: dict[tuple[str, str], float] = {}
    repeated = []
    for task in sorted(result.tasks, key=lambda task: task.due):
        if task.action == "notify":
            continue  # a note to the operator, not words anyone in the community reads
        target = task.member or f"group:{task.group}"
        key = (target, task.text)
        last = said.get(key)
        if last is not None and task.due - last < WEEK:
            repeated.append((task.playbook, task.rule, target, task.text[:40]))
        said[key] = task.due
    assert not repeated, "\n".join(map(str, sorted(set(repeated))))
