"""Planned tasks come out while the run goes on, in the same order as a whole run's plan."""

from __future__ import annotations

from playbook_engine.loading import load_config
from playbook_engine.runner import plan, read_source, run
from tests.conftest import ROOT


def test_tasks_stream_out_before_the_history_is_read_and_in_the_plans_order(registry):
    config = load_config([ROOT / "playbooks"], registry)
    records = list(read_source(registry, "jsonl", str(ROOT / "examples" / "events.jsonl")))
    whole = run(config, records)

    read = 0

    def counting():
        nonlocal read
        for record in records:
            read += 1
            yield record

    stream = plan(config, counting())
    streamed, read_when_out = [], []
    for task in stream:
        streamed.append(task)
        read_when_out.append(read)
    # A day's tasks are handed out once event time has left that day, long before the end.
    assert read_when_out[0] < len(records) // 2
    assert [task.record(config.community.tz) for task in streamed] == [task.record(config.community.tz) for task in whole.tasks]
    assert stream.result.summary() == whole.summary()


def test_the_command_line_writes_jsonl_as_the_run_goes(tmp_path):
    # The same bytes as before streaming existed: the CLI output equals run()'s plan.
    from click.testing import CliRunner

    from playbook_engine.cli import cli
    from playbook_engine.plugins import load_registry

    registry = load_registry(entrypoints=False)
    out = tmp_path / "plan.jsonl"
    args = ["run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--format", "jsonl", "--out", str(out)]
    result = CliRunner().invoke(cli, args, obj={"registry": registry})
    assert result.exit_code == 0, result.output
    config = load_config([ROOT / "playbooks"], registry)
    whole = run(config, read_source(registry, "jsonl", str(ROOT / "examples" / "events.jsonl")))
    import json

    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [task.record(config.community.tz) for task in whole.tasks]
    assert f"计划任务 {len(whole.tasks)} 个" in result.stderr  # the shipped community is zh-CN


def test_a_plan_collects_garbage_less_often_while_it_runs_and_restores_the_thresholds_after(registry):
    import gc

    config = load_config([ROOT / "playbooks"], registry)
    records = list(read_source(registry, "jsonl", str(ROOT / "examples" / "events.jsonl")))
    before = gc.get_threshold()
    during = []
    for _ in plan(config, records):
        during.append(gc.get_threshold())
    assert during and all(thresholds[0] > before[0] for thresholds in during)
    assert gc.get_threshold() == before
