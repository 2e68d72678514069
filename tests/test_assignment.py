"""Who gets a group's tasks: the operator who lists the group under `groups:`; for a group nobody
lists, the operator who lists no groups (the rest), or nobody — never someone else's operator."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import config_from, plan, shipped_run
from tests.test_clock_properties import START

HELLO = "playbook: hi\nrules:\n  - id: hi\n    when: {event: member_joined}\n    do: [{mention: \"欢迎 {{ member.name }}\"}]\n"


def _community(operators: str) -> str:
    return f"community:\n  name: t\n  timezone: Asia/Shanghai\n  groups: [{{id: g1, name: 一群}}, {{id: g2, name: 二群}}]\n  operators:\n{operators}"


def _assignees(operators: str) -> dict[str, str | None]:
    config = config_from({"hi.yaml": HELLO}, _community(operators))
    joins = [{"type": "member_joined", "ts": START + index, "member": f"m{index}", "group": group} for index, group in enumerate(("g1", "g2", "g3"))]
    return {task.group: task.assignee for task in plan(config, joins).tasks}


def test_a_group_nobody_lists_goes_to_the_operator_of_the_rest_or_to_nobody():
    assert _assignees("    - {id: a, name: A, groups: [g1]}\n    - {id: b, name: B, groups: [g2]}\n") == {"g1": "a", "g2": "b", "g3": None}
    assert _assignees("    - {id: a, name: A, groups: [g1]}\n    - {id: rest, name: R}\n") == {"g1": "a", "g2": "rest", "g3": "rest"}


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(20, 200))
def test_no_task_goes_to_an_operator_who_does_not_look_after_its_group(tmp_path_factory, seed, members):
    # The shipped operators look after g1–g4; here nobody has g2 (阿May takes g5 instead), so some go to nobody.
    config, result = shipped_run(tmp_path_factory.mktemp("pb"), seed, members, lambda text: text.replace("groups: [g2]", "groups: [g5]").replace("- {id: g4,", "- {id: g5, name: 读书会5群}\n    - {id: g4,"))
    groups = {operator.id: set(operator.groups) for operator in config.community.operators}
    tasks = [task for task in result.tasks if task.group is not None]
    assert tasks and any(task.assignee is None for task in tasks)
    assert all(task.assignee is None or not groups[task.assignee] or task.group in groups[task.assignee] for task in tasks)
    assert result.tally.unassigned == {group: sum(1 for task in tasks if task.assignee is None and task.group == group) for group in {task.group for task in tasks if task.assignee is None}}


def test_validate_warns_of_a_declared_group_no_operator_looks_after(tmp_path):
    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry

    (tmp_path / "community.yaml").write_text(_community("    - {id: a, name: A, groups: [g1]}\n"), encoding="utf-8")
    (tmp_path / "hi.yaml").write_text(HELLO, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)], obj={"registry": load_registry(entrypoints=False)})
    assert result.exit_code == 0
    assert result.stderr == f"warning: {tmp_path / 'community.yaml'}: group g2 「二群」 is in no operator's `groups:` — its tasks would go to nobody; add it to an operator's groups, or give one operator no `groups:` to take the rest\n"
    assert result.stdout.startswith("ok: 1 playbooks")
