"""Emitting the plan: tasks through the chosen output-format plugin, notes for ``--explain``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from engine.planner import Task
    from engine.plugins import Registry
    from engine.runner import RunResult


def write_tasks(registry: Registry, fmt: str, tasks: list[Task], out: str | None, context: Mapping[str, Any]) -> None:
    writer = registry.formats[fmt].write
    if out is None:
        writer(tasks, sys.stdout, context)
        sys.stdout.flush()
        return
    # Written whole to a temporary name first: a failed run never leaves half a file behind.
    temporary = f"{out}.partial"
    with open(temporary, "w", encoding="utf-8", newline="") as stream:
        writer(tasks, stream, context)
    import os

    os.replace(temporary, out)


def render_notes(result: RunResult, tz: ZoneInfo, member: str | None = None) -> str:
    """The ``--explain`` text: suppressed tasks, then rules that did not apply, in time order."""
    lines = []
    for task in result.tasks:
        if task.moved and (member is None or task.member == member):
            for why in task.moved:
                lines.append(f"moved      {task.playbook}/{task.rule} {task.action} → {task.member_name or task.group}: {why}")
    for item in result.suppressed:
        task = item.task
        if member is not None and task.member != member:
            continue
        when = datetime.fromtimestamp(task.due, tz).strftime("%Y-%m-%d %H:%M")
        lines.append(f"suppressed {when} {task.playbook}/{task.rule} {task.action} → {task.member_name or task.group}: {item.reason}")
    for note in result.notes:
        if member is not None and note.member != member:
            continue
        when = datetime.fromtimestamp(note.t, tz).strftime("%Y-%m-%d %H:%M")
        subject = note.member or "(group)"
        rule = f" {note.rule}" if note.rule else ""
        lines.append(f"{note.kind:<10} {when}{rule} {subject}: {note.reason}")
    return "".join(line + "\n" for line in lines)
