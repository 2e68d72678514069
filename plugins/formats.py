"""Output formats for planned tasks: table (the terminal default), jsonl, json, csv, md.

``json`` and ``jsonl`` are for programs: each record is exactly ``Task.record(tz)``. ``csv``
is for Excel. ``table`` and ``md`` are for the operator: what to do by hand (the channel's
instruction, ``task.how``), when, for whom, how urgent and why, grouped by due day and then
by assignee, with counts.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import groupby
from typing import IO, TYPE_CHECKING, Any

from playbook_engine import hookimpl
from playbook_engine.contract import TASK_RECORD_FIELDS, OutputFormat, Task
from playbook_engine.plugins import option_name
from playbook_engine.printable import markdown_line, markdown_text, sheet_time, terminal_text
from playbook_engine.words import PlanWords, plan_words, words_for

if TYPE_CHECKING:
    from rich.text import Text

# Not a terminal (a file, a pipe, a golden-file test): a fixed width, so the same plan is
# always the same bytes whatever the COLUMNS of whoever ran it.
DEFAULT_WIDTH = 120
# The record's fields, then the operator's instruction: a spreadsheet is read by people.
CSV_FIELDS = (*TASK_RECORD_FIELDS, "how")
# Then an empty column for the operator to fill in (done, 完成, 跳过 …): `playbook tasks
# import` reads it back. Every column is named in the community's language (engine/words.py
# ExplainWords.columns); import knows the id and status columns by either language's name.
_PRIORITY_MARK = {"urgent": "!! ", "high": "! ", "normal": "", "low": ""}  # before the priority's word
_PRIORITY_STYLE = {"urgent": "bold red", "high": "bold yellow", "low": "dim"}
# Excel, LibreOffice and Sheets read a cell starting with one of these as a formula: a
# mention text such as "@小美 欢迎～" would show as #NAME?, and a crafted name could run one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _records(tasks: Iterable[Task], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [task.record(context["tz"]) for task in tasks]


def write_jsonl(tasks: Iterable[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    # One line per task as it comes: `playbook run` hands tasks out while the run goes on.
    tz = context["tz"]
    for task in tasks:
        stream.write(json.dumps(task.record(tz), ensure_ascii=False, separators=(",", ":")) + "\n")


def write_json(tasks: Iterable[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    json.dump(_records(tasks, context), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def _spreadsheet_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = str(value)
    # A leading apostrophe is Excel's own "this is text" marker; it is not shown in the cell.
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(tasks: Iterable[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    # A BOM first, so that Excel opens the Chinese text as UTF-8 rather than the local code
    # page; CRLF line ends, as Excel writes them. Every task field, then `params` as JSON text
    # (empty when the action has none) and `how`, the operator's instruction. Newlines inside
    # texts stay, quoted: Excel shows them as line breaks within the cell. Last, the status
    # column, empty, for the operator to fill in and `playbook tasks import` to read.
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    says = words_for(context.get("language"))
    columns, actions, priorities = says.explain.columns, context.get("actions", {}), says.explain.priorities
    tz, groups, operators = context["tz"], context.get("groups", {}), context.get("operators", {})
    writer.writerow([*(columns[name] for name in CSV_FIELDS), columns["status"]])
    for task in tasks:  # streamed, like jsonl
        record = task.record(tz)
        # The time, action, priority, channel, group and operator as the operator reads them (a
        # group and an operator by name, 微信 not wechat); JSON keeps the ids for programs.
        shown = {
            "due": sheet_time(task.due, tz), "action": actions.get(task.action, task.action), "priority": priorities.get(task.priority, task.priority), "how": task.how or None,
            "channel": context.get("channels", {}).get(task.channel, task.channel),
            "group": groups.get(task.group, task.group) if task.group is not None else None, "assignee": (operators.get(task.assignee) or task.assignee) if task.assignee is not None else None,
        }
        record = {**dict.fromkeys(CSV_FIELDS), **record, **shown}
        writer.writerow([*(_spreadsheet_cell(record[name]) for name in CSV_FIELDS), ""])


# ----- for the operator's eyes: table and md ------------------------------------------------


def _local(task: Task, context: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(task.due, context["tz"])


def _days(tasks: list[Task], context: Mapping[str, Any]) -> Iterator[tuple[datetime, list[Task]]]:
    """(day, tasks) in day order; within a day, by assignee, then due time, then plan order."""
    ordered = sorted(tasks, key=lambda task: task.due)  # stable: the planner's order breaks ties
    for _, day_tasks in groupby(ordered, key=lambda task: _local(task, context).date()):
        items = sorted(day_tasks, key=_by_assignee)
        yield _local(items[0], context), items


def _assignees(day_tasks: list[Task], words: PlanWords, context: Mapping[str, Any]) -> Iterator[tuple[str, list[Task]]]:
    for assignee, items in groupby(day_tasks, key=lambda task: task.assignee):
        yield _operator(assignee, words, context), list(items)


def _operator(assignee: str | None, words: PlanWords, context: Mapping[str, Any]) -> str:
    """An operator as people call them: the `name` community.yaml gives them
    (``context["operators"]``), else their id."""
    if assignee is None:
        return words.unassigned
    return str(context.get("operators", {}).get(assignee) or assignee)


def _by_assignee(task: Task) -> tuple[bool, str]:
    return task.assignee is None, task.assignee or ""  # the unassigned last


def _day_label(day: datetime, words: PlanWords) -> str:
    return f"{day:%Y-%m-%d} {words.weekdays[day.weekday()]}"


def _count(tasks: list[Task], words: PlanWords) -> str:
    return words.count(len(tasks), Counter(task.priority for task in tasks))


def _overview(tasks: list[Task], context: Mapping[str, Any], words: PlanWords) -> str:
    first, last = _local(tasks[0], context), _local(tasks[-1], context)
    span = first.strftime("%Y-%m-%d") if first.date() == last.date() else f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"
    people = Counter(task.assignee for task in tasks)
    ordered = sorted(people.items(), key=lambda item: (item[0] is None, item[0] or ""))  # by id, the unassigned last, as the sections
    return f"{_count(tasks, words)} · {span} · " + words.list_separator.join(f"{_operator(assignee, words, context)} {count}" for assignee, count in ordered)


def _priority(task: Task, words: PlanWords) -> str:
    return _PRIORITY_MARK[task.priority] + words.priorities[task.priority] if words.priorities[task.priority] else ""


def _who(task: Task, words: PlanWords, groups: Mapping[str, str] | None = None) -> str:
    """Whom the task is about: the member (name and id), or the group by its name in
    community.yaml (``context["groups"]``), else its id."""
    if task.member is None:
        return words.group.format(group=(groups or {}).get(task.group, task.group)) if task.group else words.everyone
    if task.member_name and task.member_name != task.member:
        return f"{task.member_name} ({task.member})"
    return task.member


def _params(task: Task, words: PlanWords, context: Mapping[str, Any]) -> str:
    """The action's options an operator needs by hand: the form link, the points, the group to
    invite to; each named as the community's language names it (``context["options"]``)."""
    options = context.get("options", {})
    return " · ".join(words.option.format(name=option_name(options, task.action, name), value=_plain(value)) for name, value in task.params.items())


def _plain(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def _instruction(task: Task, words: PlanWords, actions: Mapping[str, str], groups: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Split what to do into the channel's step (``私信 小美：``) and the message text to send.

    The channel builds ``how`` from a template ending in the text for most actions; when it
    does not (a removal, a channel with no instruction), the whole of it is the step.
    """
    how = task.how or task.text
    if task.text and how != task.text and how.endswith(task.text):
        return how[: -len(task.text)].rstrip(), task.text
    if how == task.text:
        return f"{actions.get(task.action, task.action)} → {_who(task, words, groups)}:", task.text  # the channel has no step for it in this language
    return how, ""


def write_md(tasks: Iterable[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    """A checklist to tick through: a section per day, a subsection per operator, full texts."""
    tasks = list(tasks)  # laid out as a whole
    words = plan_words(context.get("language"))
    stream.write(f"# {markdown_line(context.get('title', 'Planned tasks'))}\n\n")
    if not tasks:
        stream.write(f"{words.no_tasks}\n")
        return
    stream.write(f"{markdown_line(_overview(sorted(tasks, key=lambda task: task.due), context, words))}\n")
    for day, day_tasks in _days(tasks, context):
        stream.write(f"\n## {_day_label(day, words)} · {_count(day_tasks, words)}\n")
        for assignee, items in _assignees(day_tasks, words, context):
            stream.write(f"\n### {markdown_line(assignee)} · {_count(items, words)}\n")
            for task in items:
                stream.write("\n" + _md_item(task, context, words))


def _md_item(task: Task, context: Mapping[str, Any], words: PlanWords) -> str:
    """One checklist item; every text from the history in it is literal Markdown (printable.py)."""
    links = context.get("written_links", False)  # the addresses the playbooks write stay links; a member's stay inert
    step, message = (markdown_text(part, links=links) for part in _instruction(task, words, context.get("actions", {}), context.get("groups")))
    mark = _priority(task, words)
    head = f"**{_local(task, context):%H:%M}**" + (f" **{mark}**" if task.priority in ("urgent", "high") else f" _{mark}_" if mark else "")
    step_lines = step.split("\n")
    lines = [f"- [ ] {head} {step_lines[0]}".rstrip()]
    lines.extend(f"  {line}" for line in step_lines[1:])
    if message:
        # A quote keeps the message apart from the step; a backslash ends each line with a
        # hard break, so the message keeps its line breaks when the Markdown is rendered.
        message_lines = message.split("\n")
        lines.extend(f"  > {line}".rstrip() + ("\\" if index < len(message_lines) - 1 and line.strip() else "") for index, line in enumerate(message_lines))
    if task.params:
        lines.append(f"  - {markdown_line(_params(task, words, context), links=True)}")  # the playbook's options: a form's link stays one
    lines.append(f"  - {words.why}{markdown_line(f'{task.playbook}/{task.rule} — {task.reason}')}")
    action = context.get("actions", {}).get(task.action, task.action)  # its name in the community's language
    who = _who(task, words, context.get("groups"))
    lines.append(f"  - {markdown_line(f'{who} · {action}')} · `{task.id}`")
    return "".join(line + "\n" for line in lines)


def write_table(tasks: Iterable[Task], stream: IO[str], context: Mapping[str, Any]) -> None:
    """Rich tables: a heading per day, a table per operator; long texts wrap within their column."""
    tasks = list(tasks)  # laid out as a whole
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    terminal = bool(getattr(stream, "isatty", lambda: False)())
    console = Console(
        file=stream,
        width=context.get("width") or (None if terminal else DEFAULT_WIDTH),
        force_terminal=terminal,
        color_system="auto" if terminal else None,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
    )
    words = plan_words(context.get("language"))
    if not tasks:
        console.print(words.no_tasks)
        return
    widths = _column_widths(max(console.width, MIN_TABLE_WIDTH))
    console.print(Text(terminal_text(context.get("title", "Planned tasks")), style="bold"))
    console.print(Text(terminal_text(_overview(sorted(tasks, key=lambda task: task.due), context, words))))
    for day, day_tasks in _days(tasks, context):
        console.print()
        console.print(Text(f"{_day_label(day, words)} · {_count(day_tasks, words)}", style="bold underline"))
        for assignee, items in _assignees(day_tasks, words, context):
            console.print(Text(terminal_text(f"{assignee} · {_count(items, words)}"), style="bold"))
            table = Table(box=box.ROUNDED, show_lines=True, width=sum(widths.values()) + _TABLE_CHROME)
            for name, width in widths.items():
                table.add_column(words.columns[name], width=width, no_wrap=True)
            for task in items:
                table.add_row(
                    f"{_local(task, context):%H:%M}",
                    Text(_priority(task, words), style=_PRIORITY_STYLE.get(task.priority, "")),
                    _cell(_table_member(task, words, context.get("groups")), widths["member"]),
                    _cell(_table_instruction(task, words, context), widths["what to do"]),
                    _cell(_table_why(task), widths["why"]),
                )
            console.print(table)


MIN_TABLE_WIDTH = 80
_TABLE_CHROME = 16  # five columns: six borders and one space of padding either side of each


def _column_widths(total: int) -> dict[str, int]:
    rest = total - _TABLE_CHROME - 5 - 9
    member = min(max(rest // 8, 8), 16)
    why = min(max(rest * 3 // 10, 14), 40)
    return {"time": 5, "priority": 9, "member": member, "what to do": rest - member - why, "why": why}


def _table_member(task: Task, words: PlanWords, groups: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    if task.member is None:
        return [(_who(task, words, groups), "italic")]
    if task.member_name and task.member_name != task.member:
        return [(task.member_name, ""), (task.member, "dim")]
    return [(task.member, "")]


def _table_instruction(task: Task, words: PlanWords, context: Mapping[str, Any]) -> list[tuple[str, str]]:
    step, message = _instruction(task, words, context.get("actions", {}), context.get("groups"))
    parts = [(step, "bold")]
    if message:
        parts.append((message, ""))
    if task.params:
        parts.append((_params(task, words, context), "cyan"))
    return parts


def _table_why(task: Task) -> list[tuple[str, str]]:
    return [(f"{task.playbook}/{task.rule}", "bold"), (task.reason, ""), (task.id, "dim")]


def _cell(parts: list[tuple[str, str]], width: int) -> Text:
    """Styled paragraphs, each starting on its own line, wrapped to the column by ``_wrap``."""
    from rich.text import Text

    cell = Text()
    for text, style in parts:
        for line in terminal_text(text).split("\n"):  # a name or text may hold escape sequences
            for piece in _wrap(line, width):
                if cell:
                    cell.append("\n")
                cell.append(piece, style=style)
    return cell


# Chinese has no spaces between words: a line may break between any two wide characters, but
# not before closing punctuation (避头) nor after opening punctuation (避尾).
_NO_LINE_START = set("，。、；：！？）》」』】〕”’…—～,.;:!?)]}%")
_NO_LINE_END = set("（《「『【〔“‘([{")


def _wrap(line: str, width: int) -> list[str]:
    """Wrap one line to ``width`` terminal cells: Latin words stay whole, CJK breaks anywhere."""
    from rich.cells import cell_len

    tokens: list[str] = []
    for char in line:
        narrow_word = tokens and cell_len(char) == 1 and not char.isspace() and cell_len(tokens[-1][-1]) == 1 and not tokens[-1][-1].isspace()
        if narrow_word or (tokens and char.isspace() and tokens[-1][-1].isspace()):
            tokens[-1] += char
        else:
            tokens.append(char)
    lines: list[list[str]] = [[]]
    used = 0
    for token in tokens:
        size = cell_len(token)
        if used + size > width and lines[-1] and not token.isspace():
            carried: list[str] = []
            if token[0] in _NO_LINE_START and len(lines[-1]) > 1:
                carried.append(lines[-1].pop())
            while len(lines[-1]) > 1 and lines[-1][-1][-1] in _NO_LINE_END:
                carried.insert(0, lines[-1].pop())
            lines.append(carried)
            used = sum(cell_len(piece) for piece in carried)
        while size > width:  # a word longer than the column: fold it
            head = _fit(token, width - used)
            lines[-1].append(head)
            lines.append([])
            token, used = token[len(head):], 0
            size = cell_len(token)
        lines[-1].append(token)
        used += size
    return ["".join(pieces).rstrip() for pieces in lines]


def _fit(text: str, cells: int) -> str:
    from rich.cells import cell_len

    end = 0
    while end < len(text) and cell_len(text[: end + 1]) <= cells:
        end += 1
    return text[: max(end, 1)]


FORMATS = (
    OutputFormat("table", write_table, "Tables per due day and assignee: time, priority, member, what to do by hand, why (default on a terminal)."),
    OutputFormat("jsonl", write_jsonl, "One JSON task record per line (default when piped)."),
    OutputFormat("json", write_json, "A JSON array of task records."),
    OutputFormat("csv", write_csv, "CSV for Excel: UTF-8 with BOM, CRLF, every task field plus params (JSON), how, and an empty status column to fill in (`playbook tasks import`)."),
    OutputFormat("md", write_md, "A Markdown checklist per day and operator, with the full texts to send."),
)


@hookimpl
def register_formats(register: Callable[[OutputFormat], None]) -> None:
    for output_format in FORMATS:
        register(output_format)
