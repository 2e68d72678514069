"""Output formats: golden files of the example dry run in every format, and what each promises.

The golden files ``tests/golden/example.FMT`` are the exact bytes of

    playbook run playbooks --events examples/events.jsonl --format FMT

When the engine or the example changes the plan, regenerate them all with one command and
read the diff before committing:

    PLAYBOOK_REGEN_GOLDEN=1 pytest tests/test_formats.py
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from playbook_engine.cli import cli
from playbook_engine.contract import TASK_FIELDS, Task
from playbook_engine.plugins import Registry, load_registry
from playbook_engine.words import words_for
from playbook_plugins.formats import DEFAULT_WIDTH, write_csv, write_md, write_table

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("PLAYBOOK_REGEN_GOLDEN") == "1"
EXAMPLE = ["run", "playbooks", "--events", "examples/events.jsonl"]
TZ = ZoneInfo("Asia/Shanghai")
FORMATS = sorted(load_registry(entrypoints=False).formats)


def run_cli(registry: Registry, *args: str) -> bytes:
    result = CliRunner().invoke(cli, list(args), obj={"registry": registry})
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.fixture
def example_output(registry: Registry, monkeypatch: pytest.MonkeyPatch):
    """The example dry run's standard output in a format, as bytes."""
    monkeypatch.chdir(ROOT)
    return lambda fmt, *more: run_cli(registry, *EXAMPLE, "--format", fmt, *more)


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(example_output, fmt: str) -> None:
    golden = GOLDEN / f"example.{fmt}"
    output = example_output(fmt)
    if REGENERATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(output)
    assert golden.exists(), f"no golden file {golden.name}: run PLAYBOOK_REGEN_GOLDEN=1 pytest tests/test_formats.py"
    assert output == golden.read_bytes(), f"{fmt} output changed: if intended, run PLAYBOOK_REGEN_GOLDEN=1 pytest tests/test_formats.py and read the diff"


def test_every_format_has_a_golden_file() -> None:
    """A golden file for a format that no longer exists is a leftover."""
    assert sorted(path.suffix[1:] for path in GOLDEN.glob("example.*")) == FORMATS


# The example community is zh-CN: the plan's own words are Chinese (engine/words.py).
@pytest.mark.parametrize(("fmt", "expected"), [("table", "没有安排任务。\n"), ("md", "没有安排任务。\n"), ("json", "[]\n"), ("jsonl", "")])
def test_empty_plan(example_output, fmt: str, expected: str) -> None:
    output = example_output(fmt, "--member", "nobody").decode()
    assert output.endswith(expected) if fmt == "md" else output == expected


def test_csv_for_excel(example_output, registry: Registry) -> None:
    """BOM, CRLF after every record, every task field plus params, parts and how, then an empty
    status column, all named in the community's language (zh-CN: 编号, 时间 … 状态); Python's csv
    module reads it back as the jsonl says."""
    output = example_output("csv")
    assert output.startswith("\ufeff编号,时间,剧本,规则,动作,".encode())  # the BOM: Excel and WPS read UTF-8
    assert output.endswith(b"\r\n")
    columns = words_for("zh-CN").explain.columns
    rows = list(csv.DictReader(io.StringIO(output.decode("utf-8-sig"), newline="")))
    records = [json.loads(line) for line in example_output("jsonl").decode().splitlines()]
    assert list(rows[0]) == [columns[name] for name in (*TASK_FIELDS, "params", "parts", "how", "status")]
    assert list(rows[0])[-1] == "状态" and {row["状态"] for row in rows} == {""}
    assert len(rows) == len(records)
    tz = ZoneInfo("Asia/Shanghai")
    groups = {"g1": "读书会1群", "g2": "读书会2群", "g3": "21天共读打卡营", "g4": "种子用户群"}
    for row, record in zip(rows, records, strict=True):
        # Times a spreadsheet reads as times (local, no `T`, no offset), the group and the operator by name.
        due = datetime.fromisoformat(record["due"])
        assert row["编号"] == record["id"] and datetime.strptime(row["时间"], "%Y-%m-%d %H:%M:%S" if due.second else "%Y-%m-%d %H:%M").replace(tzinfo=tz) == due
        assert row["群"] == groups[record["group"]] and row["负责人"] == {"op-lily": "Lily", "op-may": "阿May", "op-kai": "小凯"}[record["assignee"]]
        assert row["内容"].removeprefix("'") == record["text"]
        assert row["原因"] == record["reason"]
        assert (row["动作"], row["优先级"]) == (registry.actions[record["action"]].names["zh-CN"], words_for("zh-CN").explain.priorities[record["priority"]])
        assert (record["channel"], row["渠道"]) == ("wechat", "微信")  # every other cell is Chinese too
        assert (json.loads(row["参数"]) if row["参数"] else None) == record.get("params")
        assert row["怎么做"]


def test_csv_records_end_in_crlf_and_keep_newlines_inside_quotes(example_output) -> None:
    text = example_output("csv").decode("utf-8-sig")
    records = text.split("\r\n")
    assert records[-1] == ""
    assert any("\n" in record for record in records), "multi-line texts stay inside their quoted cell"
    assert all(record.count('"') % 2 == 0 for record in records if "\n" not in record)


def task(id: str, due: str, assignee: str | None, priority: str = "normal", **fields: Any) -> Task:
    values: dict[str, Any] = {
        "playbook": "care",
        "rule": "ask",
        "action": "dm",
        "channel": "wechat",
        "group": "g1",
        "member": "m1",
        "member_name": "小王",
        "text": "小王 你好\n最近怎么样？",
        "reason": "silent 7d",
        "how": "私信 小王：小王 你好\n最近怎么样？",
        **fields,
    }
    return Task(id=id, due=_epoch(due), assignee=assignee, priority=priority, trigger_at=_epoch(due), **values)


def _epoch(local: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(local).replace(tzinfo=TZ).timestamp()


TWO_DAYS = [
    task("t-4", "2026-03-02 09:00", "op-max", "urgent"),
    task("t-1", "2026-03-01 10:00", "op-lily"),
    task("t-3", "2026-03-01 08:00", "op-max", "high"),
    task("t-2", "2026-03-01 11:00", "op-lily", "low"),
    task("t-5", "2026-03-02 08:00", None),
]


def render(writer, tasks: list[Task]) -> str:
    stream = io.StringIO()
    writer(tasks, stream, {"tz": TZ, "title": "测试群: planned tasks", "width": None})
    return stream.getvalue()


def test_md_groups_by_day_then_assignee_with_counts() -> None:
    output = render(write_md, TWO_DAYS)
    headings = [line for line in output.splitlines() if line.startswith("#")]
    assert headings == [
        "# 测试群: planned tasks",
        "## 2026-03-01 Sun · 3 tasks (1 high)",
        "### op-lily · 2 tasks",
        "### op-max · 1 task (1 high)",
        "## 2026-03-02 Mon · 2 tasks (1 urgent)",
        "### op-max · 1 task (1 urgent)",
        "### unassigned · 1 task",
    ]
    ids = [line.rsplit("`", 2)[1] for line in output.splitlines() if line.endswith("`")]
    assert ids == ["t-1", "t-2", "t-3", "t-4", "t-5"]


def test_operators_are_called_by_the_names_community_yaml_gives_them() -> None:
    """The plan is read by people: sections and the overview say "Lily", not "op-lily" (the
    JSON record keeps the id); an operator with no name there keeps the id."""
    context = {"tz": TZ, "title": "读书会：待办任务", "width": None, "language": "zh-CN", "operators": {"op-lily": "Lily", "op-max": "小麦"}}
    for writer in (write_md, write_table):
        stream = io.StringIO()
        writer([*TWO_DAYS, task("t-6", "2026-03-02 10:00", "op-new")], stream, context)
        output = stream.getvalue()
        assert "6 个任务（紧急 1，高 1） · 2026-03-01 – 2026-03-02 · Lily 2，小麦 2，op-new 1，未分配 1" in output
        sections = [line.lstrip("# ") for line in output.splitlines() if line.lstrip("# ").startswith(("Lily", "小麦", "op-", "未分配"))]
        assert sections == ["Lily · 2 个任务", "小麦 · 1 个任务（高 1）", "小麦 · 1 个任务（紧急 1）", "op-new · 1 个任务", "未分配 · 1 个任务"], writer


def test_md_item_is_a_checkbox_with_the_full_text_and_the_reason() -> None:
    output = render(write_md, [task("t-1", "2026-03-01 10:00", "op-lily", "urgent", params={"form": "https://example.com/f"})])
    assert "- [ ] **10:00** **!! urgent** 私信 小王：\n  > 小王 你好\\\n  > 最近怎么样？\n  - form: https://example.com/f\n  - why: care/ask — silent 7d\n" in output


def test_table_groups_by_day_with_counts_and_fixed_width() -> None:
    output = render(write_table, TWO_DAYS)
    lines = output.splitlines()
    assert [line for line in lines if line.startswith("2026-")] == ["2026-03-01 Sun · 3 tasks (1 high)", "2026-03-02 Mon · 2 tasks (1 urgent)"]
    assert [line for line in lines if line.startswith(("op-", "unassigned"))] == ["op-lily · 2 tasks", "op-max · 1 task (1 high)", "op-max · 1 task (1 urgent)", "unassigned · 1 task"]
    assert max(cell_len(line) for line in lines) == DEFAULT_WIDTH
    assert "!! urgent" in output and "! high" in output
    assert "\x1b" not in output, "no terminal codes when not writing to a terminal"


def test_table_wraps_long_chinese_text_within_its_column() -> None:
    long_text = "你好，" + "这是一段很长的中文消息" * 20
    output = render(write_table, [task("t-1", "2026-03-01 10:00", "op-lily", text=long_text, how=f"私信 小王：{long_text}")])
    assert max(cell_len(line) for line in output.splitlines()) == DEFAULT_WIDTH
    assert "".join(line.split("│")[4].strip() for line in output.splitlines() if line.count("│") == 6).endswith(long_text)


def test_table_does_not_read_texts_as_markup() -> None:
    output = render(write_table, [task("t-1", "2026-03-01 10:00", "op-lily", text="[bold]回复[/bold] :smile:", how="私信 小王：[bold]回复[/bold] :smile:")])
    assert "[bold]回复[/bold] :smile:" in output


def test_csv_keeps_spreadsheets_from_reading_texts_as_formulas() -> None:
    output = render(write_csv, [task("t-1", "2026-03-01 10:00", "op-lily", action="mention", text="@小王 欢迎", member_name="=1+1")])
    row = next(csv.DictReader(io.StringIO(output.removeprefix("\ufeff"), newline="")))
    assert row["text"] == "'@小王 欢迎" and row["member_name"] == "'=1+1"
    assert row["params"] == "" and row["reason"] == "silent 7d"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_out_to_a_pipe_or_device_writes_into_it_and_leaves_it_in_place(example_output, tmp_path: Path) -> None:
    """`--out /dev/null` (or a FIFO) must not be replaced by a regular file, as a rename over it would."""
    import stat
    import threading

    pipe = tmp_path / "tasks.fifo"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    assert example_output("jsonl", "--out", str(pipe)) == b""
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert received and received[0] == example_output("jsonl")
    assert not (tmp_path / "tasks.fifo.partial").exists()


@pytest.mark.parametrize("extension", ["csv", "md", "json", "jsonl"])
def test_out_with_no_format_writes_what_its_extension_names(registry: Registry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extension: str) -> None:
    """`--out plan.csv` is a sheet for Excel, not JSON Lines in a .csv file."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"plan.{extension}"
    run_cli(registry, *EXAMPLE, "--out", str(out))
    assert out.read_bytes() == (GOLDEN / f"example.{extension}").read_bytes()


def test_a_task_the_channel_has_no_step_for_is_named_by_its_action_in_the_communitys_language() -> None:
    """A plugin channel with steps in Chinese only, in an `en` community (or the reverse): the
    plan says the action's name and whom it is for, then the text."""
    bare = task("t-1", "2026-03-01 10:00", "op-lily", how="小王 你好\n最近怎么样？")
    english = render(write_md, [bare])
    assert "- [ ] **10:00** dm → 小王 (m1):\n  > 小王 你好\\\n" in english
    chinese = io.StringIO()
    write_md([bare], chinese, {"tz": TZ, "title": "测试群：待办任务", "language": "zh-CN", "actions": {"dm": "私信"}})
    assert "- [ ] **10:00** 私信 → 小王 (m1):\n" in chinese.getvalue() and "  - 小王 (m1) · 私信 · `t-1`\n" in chinese.getvalue()
