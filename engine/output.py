"""Emitting the plan: tasks through the chosen output-format plugin; explanations and summary.

Tasks go to standard output (or ``--out``); everything meant for the operator's eyes about
*how* the plan came to be — ``--explain``, the member timeline, the summary — goes to
standard error, so piping the tasks somewhere never mixes the two.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from playbook_engine.printable import terminal_text
from playbook_engine.words import ExplainWords, summary_words, words_for

if TYPE_CHECKING:
    from playbook_engine.contract import Task
    from playbook_engine.model import Community
    from playbook_engine.plugins import Registry
    from playbook_engine.runner import RunResult

_LABEL_WIDTH = 10


def write_tasks(registry: Registry, fmt: str, tasks: Iterable[Task], out: str | None, context: Mapping[str, Any]) -> None:
    writer = registry.formats[fmt].write
    if out is None:
        writer(tasks, sys.stdout, context)
        sys.stdout.flush()
        return
    if os.path.exists(out) and not os.path.isfile(out):
        # A device or pipe (/dev/null, /dev/stdout, a FIFO): written to as it is. Renaming a
        # temporary file over it would put a regular file in its place.
        with open(out, "w", encoding="utf-8", newline="") as stream:
            writer(tasks, stream, context)
        return
    # Written whole under a temporary name first: a failed run never leaves half a file behind.
    temporary = f"{out}.partial"
    with open(temporary, "w", encoding="utf-8", newline="") as stream:
        writer(tasks, stream, context)
    os.replace(temporary, out)


def _when(t: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M")


def _who(name: str | None, member: str | None, group: str | None, words: ExplainWords) -> str:
    if member is None:
        return words.group.format(group=group)
    return f"{name} ({member})" if name and name != member else member


def _label(label: str, words: ExplainWords) -> str:
    """The timeline's word for ``label``, padded to its column in terminal cells (a Chinese
    character takes two)."""
    from rich.cells import cell_len

    shown = words.labels.get(label, label)
    return shown + " " * max(_LABEL_WIDTH - cell_len(shown), 0)


def render_explanation(result: RunResult, tz: ZoneInfo, member: str | None = None) -> str:
    """Every decision, in time order: tasks with their reasons, suppressions, misses, stages,
    in the community's language.

    With ``member``, only that member's: their timeline.
    """
    entries: list[tuple[float, int, list[str]]] = []
    pad = " " * 17
    community = result.evaluation.community
    words = words_for(community.language).explain
    actions = community.action_names

    def add(t: float, rank: int, label: str, text: str, details: Sequence[tuple[str, str]] = ()) -> None:
        lines = [f"{_when(t, tz)}  {_label(label, words)} {text}"]
        lines.extend(f"{pad} {_label(name, words)} {detail}" for name, detail in details)
        entries.append((t, rank, lines))

    names = {task.member: task.member_name for task in result.tasks}
    for task in result.tasks:
        if member is not None and task.member != member:
            continue
        details = [("because", task.reason)] + [("and", condition) for condition in task.because] + [("moved", why) for why in task.moved]
        due = "" if task.due == task.trigger_at else words.due.format(at=_when(task.due, tz))
        add(task.trigger_at, 1, "planned", f"{task.playbook}/{task.rule} {actions.get(task.action, task.action)} → {_who(task.member_name, task.member, task.group, words)}{due}  [{task.id}]", details)
    # Tasks earlier --state runs printed that this one takes back: with their drop if it is kept.
    planner = result.planner
    taken_back = {item: "withdrawn" for item in planner.withdrawn + planner.merged_away} | {item: "displaced" for item in planner.displaced} if planner is not None else {}
    taken_back_ids = {item[1] for item in taken_back}
    for item in result.suppressed:
        task = item.task
        if member is not None and task.member != member:
            continue
        earlier = words.printed_earlier.format(id=task.id) if task.id in taken_back_ids else ""
        add(task.trigger_at, 2, "suppressed", f"{task.playbook}/{task.rule} {actions.get(task.action, task.action)} → {_who(task.member_name, task.member, task.group, words)}{earlier}", [("because", task.reason), ("but", item.reason)])
    explained = {item.task.id for item in result.suppressed}
    for (t, task_id, about, why), kind in taken_back.items():
        if task_id not in explained and (member is None or about == member):
            add(t, 2, kind, words.planned_earlier.format(id=task_id, who=_who(names.get(about), about, None, words) if about else words.no_member), [("but", why)])
    for note in result.notes:
        if member is not None and note.member != member:
            continue
        who = _who(names.get(note.member) or _member_name(result, note.member), note.member, None, words) if note.member else words.no_member
        if note.kind == "stage":
            add(note.t, 0, "stage", words.stage_note.format(who=who, change=note.reason))
        else:
            label = {"miss": "not"}.get(note.kind, note.kind)
            add(note.t, 3 if note.kind == "miss" else 1, label, words.note.format(rule=note.rule, who=who, reason=note.reason))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    # Names, texts and values from the history are in it: no escape sequence reaches the terminal.
    return terminal_text("".join(line + "\n" for lines in _collapse_repeats(entries, tz, words) for line in lines))


def _collapse_repeats(entries: list[tuple[float, int, list[str]]], tz: ZoneInfo, words: ExplainWords) -> list[list[str]]:
    """A scheduled rule saying "not" for the same reason every day is said once, with a count."""
    first_seen: dict[str, list[Any]] = {}
    shown: list[list[str]] = []
    for t, rank, lines in entries:
        if rank != 3 or len(lines) != 1:
            shown.append(lines)
            continue
        key = lines[0][17:]
        if key in first_seen:
            first_seen[key][1] += 1
            first_seen[key][2] = t
            continue
        record = [lines, 0, t]
        first_seen[key] = record
        shown.append(lines)
    for lines, repeats, last in first_seen.values():
        if repeats:
            lines[0] += words.repeats.format(count=repeats, s="s" if repeats > 1 else "", until=_when(last, tz))
    return shown


def _member_name(result: RunResult, member: str | None) -> str | None:
    known = result.evaluation.members.get(member) if member else None
    return known.name if known is not None else None


def render_summary(result: RunResult, community: Community) -> str:
    """The closing summary: what was read, who is where, what was planned, what was held back."""
    counts = result.counts
    words = summary_words(community.language)
    lines = [f"playbook: {result.summary(community.language)}"]
    staff = community.staff  # they may have a stage, but they are not members: not counted
    members = result.evaluation.members
    if result.state is not None:  # a --state run holds only the members it met: the others are counted in the state
        stages = result.state.stage_totals(members)
        for member_id in staff:
            member = members.get(member_id) if member_id in members else None
            stage = member.stage if member is not None else result.state.saved_stage(member_id)
            if stage and stages[stage] > 0:
                stages[stage] -= 1
        stages = +stages
    else:
        stages = Counter(member.stage for member in members.values() if member.stage and member.id not in staff)
    if stages:
        order = [stage.stage for stage in community.lifecycle]
        shown = words.separator.join(f"{community.stage_label(stage)} {stages[stage]}" for stage in order if stages[stage])
        lines.append(words.by_stage + shown)
    planned = result.tally
    if planned.total:
        lines.append(words.by_playbook + words.separator.join(f"{name} {count}" for name, count in sorted(planned.by_playbook.items())))
        by_day = planned.days()
        shown = words.separator.join(f"{day} {count}" for day, count in by_day[:14])
        more = words.more_days.format(count=len(by_day) - 14) if len(by_day) > 14 else ""
        lines.append(words.by_day + shown + more)
    if counts["error"]:
        lines.append(words.errors.format(count=counts["error"]))
    if counts["too_long"]:
        lines.append(words.too_long.format(count=counts["too_long"]))
    return "\n".join(lines)
