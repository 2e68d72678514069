"""Output formats for planned tasks: table (the terminal default), jsonl, json, csv, md."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import groupby
from typing import IO, Any

from engine import hookimpl
from engine.planner import TASK_FIELDS, Task
from engine.plugins import OutputFormat


def _records(tasks: list[Task], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [task.record(context["tz"]) for task in tasks]


def write_jsonl(tasks: list[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    for record in _records(tasks, context):
        stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_json(tasks: list[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    json.dump(_records(tasks, context), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def write_csv(tasks: list[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    # A BOM first, so that Excel opens the Chinese text as UTF-8 rather than the local code page.
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(TASK_FIELDS)
    for record in _records(tasks, context):
        writer.writerow(["" if record[name] is None else record[name] for name in TASK_FIELDS])


def _day(task: Task, context: Mapping[str, Any]) -> str:
    return datetime.fromtimestamp(task.due, context["tz"]).strftime("%Y-%m-%d")


def write_md(tasks: list[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    tz = context["tz"]
    stream.write(f"# {context.get('title', 'Planned tasks')}\n")
    if not tasks:
        stream.write("\nNo tasks planned.\n")
    for day, day_tasks in groupby(tasks, key=lambda task: _day(task, context)):
        stream.write(f"\n## {day}\n")
        for assignee, items in groupby(sorted(day_tasks, key=lambda t: (t.assignee or "", t.due)), key=lambda t: t.assignee or ""):
            stream.write(f"\n### {assignee or 'unassigned'}\n\n")
            for task in items:
                time = datetime.fromtimestamp(task.due, tz).strftime("%H:%M")
                flag = " **!**" if task.priority in ("high", "urgent") else ""
                how = task.how.replace("\n", " ")
                stream.write(f"- [ ] {time}{flag} {how} — _{task.playbook}/{task.rule}: {task.reason}_\n")


def write_table(tasks: list[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    tz = context["tz"]
    console = Console(file=stream, width=max(100, context.get("width") or 0) or None, highlight=False, soft_wrap=False)
    if not tasks:
        console.print("No tasks planned.")
        return
    for day, day_tasks in groupby(tasks, key=lambda task: _day(task, context)):
        day_tasks = list(day_tasks)
        table = Table(title=f"{day} — {len(day_tasks)} task(s)", title_justify="left", show_lines=False, expand=False)
        for column in ("time", "who", "action", "member", "group", "text", "why"):
            table.add_column(column, overflow="fold")
        for task in sorted(day_tasks, key=lambda t: (t.assignee or "", t.due)):
            text = task.text.replace("\n", " ")
            table.add_row(
                datetime.fromtimestamp(task.due, tz).strftime("%H:%M"),
                task.assignee or "—",
                task.action + ("!" if task.priority in ("high", "urgent") else ""),
                task.member_name or "(group)",
                task.group or "",
                text if len(text) <= 60 else text[:59] + "…",
                f"{task.playbook}/{task.rule}: {task.reason}",
            )
        console.print(table)


FORMATS = (
    OutputFormat("table", write_table, "Readable tables grouped by due day and assignee (default on a terminal)."),
    OutputFormat("jsonl", write_jsonl, "One JSON task record per line (default when piped)."),
    OutputFormat("json", write_json, "A JSON array of task records."),
    OutputFormat("csv", write_csv, "CSV with a header; UTF-8 with BOM so Excel shows Chinese text."),
    OutputFormat("md", write_md, "A Markdown checklist per day and operator."),
)


@hookimpl
def register_formats(register: Callable[[OutputFormat], None]) -> None:
    for output_format in FORMATS:
        register(output_format)
