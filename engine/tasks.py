"""``playbook tasks``: what the operators did, read back into the ``--state`` database.

``list`` shows the printed tasks with their status; ``mark`` sets the status of tasks named by
id; ``import`` reads the same from a spreadsheet — the CSV ``playbook run --format csv`` (or
``tasks list --format csv``) wrote, after it went through Excel, WPS or 腾讯文档 and an operator
filled its status column in. The next ``playbook run --state`` reads what was marked (a status
an operator set is never set back by a run: ``StateStore.save``).

Time: a task is ``late`` when it is still to do and its deadline is before the state's
watermark (the event time the last run reached: the engine reads no clock), or before
``--now``. When a task was marked is the wall clock's time unless ``--at`` says otherwise:
that is when the operator says it was done, which the history cannot know.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import TASK_RECORD_FIELDS
from playbook_engine.delivery import day_bounds
from playbook_engine.errors import PlaybookError
from playbook_engine.printable import sheet_time, terminal_text
from playbook_engine.state import StateStore, TaskRow
from playbook_engine.words import MarkWords

MARKS = ("done", "skipped", "failed", "replied")  # what an operator may say of a task
TAKEN_BACK = ("stale", "displaced")  # what a run says of a task it took back: hidden unless asked for
OVERTAKEN = "overtaken"  # still to do, but a run found the rest of its day made it unneeded (engine/runner.py ``_overtaken``)
SHOWN = ("todo", "late", OVERTAKEN, *MARKS, *TAKEN_BACK)  # what `tasks list --status` selects by


class TasksError(PlaybookError):
    """``playbook tasks`` cannot go on; nothing in the state was changed."""


# -- words ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListWords:
    """How a list of tasks is headed and its statuses named, in one language."""

    statuses: Mapping[str, str]
    headers: Mapping[str, str]
    status_column: str
    note_column: str
    nothing: str
    done_columns: Mapping[str, str]  # the CSV's columns after the status and note: deadline, outcome, outcome_at, marked_at


WORDS: dict[str, ListWords] = {
    "zh-CN": ListWords(
        statuses={"todo": "待办", "late": "逾期", "overtaken": "不用做了", "done": "已完成", "skipped": "跳过", "failed": "失败", "replied": "已回复", "stale": "已撤回", "displaced": "被挤出"},
        headers={"due": "时间", "status": "状态", "assignee": "负责人", "member": "成员", "task": "任务", "note": "备注", "id": "编号"},
        status_column="状态",
        note_column="备注",
        nothing="没有符合条件的任务。",
        done_columns={"deadline": "截止时间", "outcome": "结果", "outcome_at": "结果时间", "marked_at": "标记时间"},
    ),
    "en": ListWords(
        statuses={name: name for name in SHOWN},
        headers={"due": "due", "status": "status", "assignee": "assignee", "member": "member", "task": "task", "note": "note", "id": "id"},
        status_column="status",
        note_column="note",
        nothing="No tasks match.",
        done_columns={name: name for name in ("deadline", "outcome", "outcome_at", "marked_at")},
    ),
}

# What a status cell may say, in either language (compared after NFKC and lower case). None:
# leave the task as it is — an empty cell, "todo", or a word `tasks list` writes for a status
# the engine sets, so that a list exported and imported back changes nothing by itself.
STATUS_WORDS: dict[str, str | None] = {
    "done": "done", "完成": "done", "已完成": "done", "已发送": "done", "已发": "done", "√": "done", "✓": "done", "✔": "done",
    "skipped": "skipped", "skip": "skipped", "跳过": "skipped", "已跳过": "skipped",
    "failed": "failed", "fail": "failed", "失败": "failed", "发送失败": "failed",
    "replied": "replied", "已回复": "replied",
    "": None, "todo": None, "待办": None, "未完成": None,
    "late": None, "逾期": None, "stale": None, "已撤回": None, "displaced": None, "被挤出": None, "overtaken": None, "不用做了": None,
}  # fmt: skip
_COLUMNS = {
    "id": ("id", "任务id", "任务编号", "编号"),
    "status": ("status", "状态", "任务状态"),
    "note": ("note", "notes", "备注"),
    "parts": ("parts", "合并的任务"),
}
_TASK_ID = re.compile(r"t-[0-9a-f]{10}")
_SAY_STATUS = "write 完成, 跳过, 失败 or 已回复 (done, skipped, failed, replied), or leave it empty"


def words_of(store: StateStore) -> ListWords:
    """The words of the language the last run's community.yaml chose (English before it was saved)."""
    return WORDS.get(store.meta("language") or "en", WORDS["en"])


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


# -- time ------------------------------------------------------------------------------------------


def parse_moment(text: str, tz: ZoneInfo) -> float:
    """``--at`` / ``--now``: an RFC 3339 time, or a local date and time as people and
    spreadsheets write them (2026-03-08 09:15, 2026/3/8 9:15, 2026-03-08). ValueError otherwise."""
    value = text.strip()
    found = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", value)
    if found:
        year, month, day, hour, minute, second = (int(part or 0) for part in found.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).timestamp()
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()


def timezone_of(store: StateStore) -> ZoneInfo:
    return ZoneInfo(store.meta("timezone") or "UTC")


def _iso(t: float | None, tz: ZoneInfo) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")


def open_state(path: str, *, lock: bool, read_only: bool = False) -> StateStore:
    """The state at ``path``; never a new one (a typo would otherwise start an empty state)."""
    if not Path(path).is_file():
        raise TasksError(f"{path}: no such state file — run `playbook run PATHS --events FILE --state {path}` first, or check the path")
    return StateStore.open(path, lock=lock, read_only=read_only)


# -- list --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """A printed task with what was done: ``status`` as shown (``late``: to do, past its deadline)."""

    row: TaskRow
    record: dict[str, Any]
    status: str


def shown_status(row: TaskRow, now: float | None) -> str:
    if row.status == "todo" and row.deadline is not None and now is not None and row.deadline < now:
        return "late"
    return row.status


def select(store: StateStore, *, statuses: Sequence[str] = (), assignee: str | None = None, day: date | None = None, now: float | None = None) -> list[Listed]:
    """The printed tasks, in due order: of ``day`` (local), of ``assignee``, with one of
    ``statuses`` (``todo`` includes the late ones, ``replied`` is the outcome); without
    ``statuses``, all but those a run took back. ``now``: for ``late``; the watermark by default."""
    now = store.watermark if now is None else now
    start = end = None
    if day is not None:
        start, end = day_bounds(day, timezone_of(store))
    wanted = set(statuses)
    found = []
    overtaken = store.overtaken()
    for row in store.printed_tasks(start, end, assignee):
        status = shown_status(row, now)
        if status in ("todo", "late") and row.id in overtaken:
            status = OVERTAKEN  # the question was answered, the newcomer spoke: not late, not to do
        if wanted:
            keep = status in wanted or (status == "late" and "todo" in wanted) or (row.outcome == "replied" and "replied" in wanted)
        else:
            keep = status not in TAKEN_BACK
        if keep:
            found.append(Listed(row, json.loads(row.data or "{}"), status))
    return found


def _word(listed: Listed, words: ListWords) -> str:
    """The status as the list says it: an answered task shows the answer."""
    return words.statuses["replied" if listed.row.outcome == "replied" else listed.status]


def _who(record: Mapping[str, Any]) -> str:
    member, name = record.get("member"), record.get("member_name")
    if member is None:  # a task for the whole group: the name the operators call it by
        return str(record.get("group_name") or record.get("group") or "")
    who = f"{name}（{member}）" if name and name != member else str(member)
    where = record.get("in_group")  # an @, a warning, a removal: in which of the operator's groups
    return f"{who} · {where}" if where else who


def write_list(listed: list[Listed], fmt: str, stream: IO[str], words: ListWords, tz: ZoneInfo, *, terminal: bool = False, actions: Mapping[str, str] | None = None, priorities: Mapping[str, str] | None = None, columns: Mapping[str, str] | None = None, groups: Mapping[str, str] | None = None, operators: Mapping[str, str] | None = None, in_group: frozenset[str] = frozenset(), links: frozenset[str] = frozenset(), channels: Mapping[str, str] | None = None) -> None:
    """``listed`` in ``fmt``: table, md (for people), csv (to fill in and import), jsonl.
    ``actions``/``priorities``/``channels``: how the community's language names each action,
    priority and channel in the cells people read, ``groups`` each group's name (community.yaml's ``groups:``) for a
    task about a whole group, ``operators`` each operator's name (community.yaml's ``name:``),
    and ``columns`` the CSV's columns of the task record, as `playbook run` names them; JSON
    Lines keeps the ids and field names. ``links``: the addresses the playbooks write, which
    Markdown keeps links."""
    if fmt == "jsonl":
        _write_jsonl(listed, stream, words, tz, terminal)
        return
    if actions or priorities or groups or operators or in_group or channels:
        listed = [_named(item, actions or {}, priorities or {}, groups or {}, operators or {}, in_group, channels or {}) for item in listed]
    if fmt == "csv":
        _write_csv(listed, stream, words, tz, terminal, columns or {})
        return
    if fmt == "md":
        _write_md(listed, stream, words, tz, terminal, links)
        return
    _write_table(listed, stream, words, tz, terminal)


def _named(item: Listed, actions: Mapping[str, str], priorities: Mapping[str, str], groups: Mapping[str, str], operators: Mapping[str, str], in_group: frozenset[str] = frozenset(), channels: Mapping[str, str] | None = None) -> Listed:
    record = dict(item.record)
    action, priority, group, channel = record.get("action"), record.get("priority"), record.get("group"), record.get("channel")
    if action in in_group and isinstance(group, str) and record.get("member") is not None:
        record["in_group"] = groups.get(group, group)  # the table and md only: where the @ goes
    if isinstance(action, str):
        record["action"] = actions.get(action, action)
    if isinstance(priority, str):
        record["priority"] = priorities.get(priority, priority)
    if isinstance(channel, str) and channels:
        record["channel"] = channels.get(channel, channel)  # 微信, not wechat
    if isinstance(group, str) and group in groups:
        record["group_name"] = groups[group]  # the CSV's group column, the table's and md's names
    assignee = item.row.assignee
    if assignee is not None and operators.get(assignee):
        record["assignee_name"] = operators[assignee]  # likewise: the operator by name
    return replace(item, record=record)


def _write_jsonl(listed: list[Listed], stream: IO[str], words: ListWords, tz: ZoneInfo, terminal: bool) -> None:
    for item in listed:
        row = item.row
        extra = {"status": item.status, "deadline": _iso(row.deadline, tz), "outcome": row.outcome, "outcome_at": _iso(row.outcome_at, tz), "marked_at": _iso(row.marked_at, tz), "note": row.note}
        stream.write(json.dumps({**item.record, **extra}, ensure_ascii=False, separators=(",", ":")) + "\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write_csv(listed: list[Listed], stream: IO[str], words: ListWords, tz: ZoneInfo, terminal: bool, columns: Mapping[str, str]) -> None:
    # The columns `playbook run --format csv` writes (less `how`), named as there, the status to
    # fill in, then what was done: BOM and CRLF for Excel, as there. `import` reads it back (the
    # id and status columns by either language's name).
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([*(columns.get(name, name) for name in TASK_RECORD_FIELDS), words.status_column, words.note_column, *(words.done_columns[name] for name in ("deadline", "outcome", "outcome_at", "marked_at"))])
    for item in listed:
        row = item.row
        record = item.record
        # As `playbook run --format csv` shows them: local times a spreadsheet reads as times,
        # the group and the operator by name.
        shown = {"due": sheet_time(row.due, tz), "group": record.get("group_name") or record.get("group"), "assignee": record.get("assignee_name") or record.get("assignee")}
        values = [shown[name] if name in shown else record.get(name) for name in TASK_RECORD_FIELDS]
        writer.writerow([_cell(value) for value in (*values, _word(item, words), row.note, sheet_time(row.deadline, tz), words.statuses.get(row.outcome or "", row.outcome), sheet_time(row.outcome_at, tz), sheet_time(row.marked_at, tz))])


def _write_md(listed: list[Listed], stream: IO[str], words: ListWords, tz: ZoneInfo, terminal: bool, links: frozenset[str] = frozenset()) -> None:
    from playbook_engine.printable import markdown_line

    if not listed:
        stream.write(words.nothing + "\n")
        return
    # A section per local day, in it one per operator (as `playbook run --format md` lays out
    # a plan: the unassigned last), each operator's tasks in time order.
    days: dict[date, list[Listed]] = {}
    for item in listed:
        days.setdefault(datetime.fromtimestamp(item.row.due, tz).date(), []).append(item)
    for number, (day, items) in enumerate(days.items()):
        stream.write(("\n" if number else "") + f"## {day.isoformat()}\n")
        in_order = sorted(items, key=lambda item: (item.row.assignee is None, item.row.assignee or ""))
        for assignee, theirs_all in groupby(in_order, key=lambda item: item.row.assignee):
            theirs = list(theirs_all)
            stream.write(f"\n### {markdown_line(theirs[0].record.get('assignee_name') or assignee or '—')}\n\n")
            for item in theirs:
                record, row = item.record, item.row
                box = "x" if row.status in MARKS else " "
                note = f" — {words.headers['note']}：{markdown_line(row.note)}" if row.note else ""
                text = markdown_line(f"{_who(record)} · {record.get('action')}：{record.get('text', '')}", links=links)
                stream.write(f"- [{box}] **{datetime.fromtimestamp(row.due, tz):%H:%M}** {_word(item, words)} · {text} · `{row.id}`{note}\n")


def _write_table(listed: list[Listed], stream: IO[str], words: ListWords, tz: ZoneInfo, terminal: bool) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=stream, width=None if terminal else 120, force_terminal=terminal, color_system="auto" if terminal else None, highlight=False, emoji=False, markup=False)
    if not listed:
        console.print(words.nothing)
        return
    table = Table(box=box.SIMPLE_HEAD)
    headers = words.headers
    for name in ("due", "status", "assignee", "member", "task", "note", "id"):
        table.add_column(headers[name], no_wrap=name in ("due", "id"), overflow="fold")
    for item in listed:
        record, row = item.record, item.row
        text = terminal_text(f"{record.get('action')}：{record.get('text', '')}")
        table.add_row(f"{datetime.fromtimestamp(row.due, tz):%m-%d %H:%M}", _word(item, words), terminal_text(record.get("assignee_name") or row.assignee or ""), terminal_text(_who(record)), text, terminal_text(row.note or ""), row.id)
    console.print(table)
    counts = Counter(_word(item, words) for item in listed)
    console.print(" · ".join(f"{name} {count}" for name, count in counts.items()))


# -- mark ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """What an operator says of one task: a status of ``MARKS`` (None: leave it) and a note (None: leave it)."""

    task_id: str
    status: str | None
    note: str | None = None
    line: int | None = None  # of the imported file


@dataclass
class Applied:
    """What marking did: tasks changed (by the status asked for) and those that already were so."""

    changed: Counter[str] = field(default_factory=Counter)
    already: int = 0

    @property
    def total(self) -> int:
        return sum(self.changed.values())


def after(row: TaskRow, status: str | None, note: str | None, at: float) -> TaskRow:
    """``row`` once ``status`` and ``note`` are applied at ``at``: ``replied`` is the outcome
    (a task still to do is then done too); the others set the status."""
    if status == "replied":
        if row.outcome != "replied":
            row = replace(row, outcome="replied", outcome_at=at)
        if row.status == "todo":
            row = replace(row, status="done", marked_at=at)
    elif status is not None and row.status != status:
        row = replace(row, status=status, marked_at=at)
    if note is not None and note != row.note:
        row = replace(row, note=note)
    return row


def apply_marks(store: StateStore, marks: Sequence[Mark], at: float) -> Applied:
    """Apply ``marks`` (every id known to ``store``) in one transaction. A merged message's parts
    (``parts`` of its record) take its status: they were sent in it."""
    rows = store.tasks_by_id(mark.task_id for mark in marks)
    parts_of = {task_id: [part["id"] for part in json.loads(row.data or "{}").get("parts") or () if part.get("id") != task_id] for task_id, row in rows.items()}
    rows.update(store.tasks_by_id(part for parts in parts_of.values() for part in parts if part not in rows))
    current = dict(rows)
    applied = Applied()
    for mark in marks:
        row = current[mark.task_id]
        new = after(row, mark.status, mark.note, at)
        if new == row:
            applied.already += 1
            continue
        applied.changed[mark.status or "note"] += 1
        current[mark.task_id] = new
        for part in parts_of.get(mark.task_id, ()):
            if part in current:
                current[part] = after(current[part], mark.status, None, at)
    store.write_marks(row for task_id, row in current.items() if row != rows[task_id])
    return applied


def mark_status(word: str) -> str | None:
    """``tasks mark --status``: a status of ``MARKS`` in either language, as a status cell may
    say it (完成 → done); None for a word that is not one."""
    return STATUS_WORDS.get(_normal(word))


def mark(store: StateStore, task_ids: Sequence[str], status: str, note: str | None, at: float) -> Applied:
    """``playbook tasks mark``: every id must be known, or nothing changes."""
    known = store.tasks_by_id(task_ids)
    unknown = [task_id for task_id in dict.fromkeys(task_ids) if task_id not in known]
    if unknown:
        listed = ", ".join(unknown)
        raise TasksError(f"no task {listed} in {store.path} — copy the ids from `playbook tasks list --state {store.path}` (or the plan); nothing was changed")
    parts = [(task_id, message) for task_id in dict.fromkeys(task_ids) if (message := _message_of(store, known[task_id])) is not None]
    if parts:
        said = "; ".join(f"{part} went out in message {message}" for part, message in parts)
        raise TasksError(f"{said} — mark the message ({', '.join(message for _, message in parts)}): its parts follow it; nothing was changed")
    return apply_marks(store, [Mark(task_id, status, note) for task_id in dict.fromkeys(task_ids)], at)


def _message_of(store: StateStore, row: TaskRow) -> str | None:
    """The message a task went out in, if it was merged into another (a part is marked with its
    message, not on its own: the message is what was sent)."""
    if row.data is not None and row.status != "merged":
        return None
    return store.message_of(row.id)


# -- import --------------------------------------------------------------------------------------------


@dataclass
class Imported:
    """What ``import`` did with a file: ``problems`` are lines that changed nothing."""

    applied: Applied
    rows: int  # lines naming a task
    unchanged: int  # of which, with an empty (or todo) status and no note
    problems: list[str]


@dataclass(frozen=True)
class _Line:
    number: int
    task_id: str
    status: str
    note: str
    parts: frozenset[str] | None = None  # the ids its parts column shows (None: the file has no such column)


def decode(data: bytes, path: str) -> str:
    """The text of a spreadsheet's CSV: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's
    "Unicode text"), else GB 18030, which Excel on a Chinese Windows writes (a superset of GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return data.decode("gb18030")
            except UnicodeDecodeError:
                pass
    raise TasksError(f"{path}: not a text file (neither UTF-8 nor GBK) — save it from the spreadsheet as CSV (CSV UTF-8, or CSV); nothing was changed")


def read_lines(path: str) -> list[_Line]:
    """The lines of a status file that name a task, with their line numbers; TasksError for a
    file that cannot be one (unreadable, no header, no id or status column)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise TasksError(f"{path}: {error.strerror} — nothing was changed") from None
    text = decode(data, path)
    if not text.strip():
        raise TasksError(f"{path}: the file is empty — import the CSV that `playbook run --format csv` wrote, with its status column filled in; nothing was changed")
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)  # Excel's "Unicode text" is tab-separated; a European locale writes ;
    # strict: a quote left open at the end is a file cut short, not one long last cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        names = [_normal(name) for name in header]
        columns = {key: next((index for index, name in enumerate(names) if name in aliases), None) for key, aliases in _COLUMNS.items()}
        if columns["id"] is None:
            shown = ", ".join(name for name in header if name.strip())[:200]
            raise TasksError(f"{path}:1: no `id` column (the first line has: {terminal_text(shown)}) — import the CSV that `playbook run --format csv` wrote, its header line kept; nothing was changed")
        if columns["status"] is None and columns["note"] is None:
            raise TasksError(f"{path}:1: no `status` (状态) column — add one and in it {_SAY_STATUS}; nothing was changed")
        lines = []
        start = reader.line_num + 1
        for cells in reader:

            def cell(key: str, cells: list[str] = cells) -> str:
                index = columns[key]
                return cells[index].strip() if index is not None and index < len(cells) else ""

            task_id = cell("id").lstrip("'")
            if task_id or any(value.strip() for value in cells):
                parts = frozenset(_TASK_ID.findall(cell("parts"))) if columns["parts"] is not None else None
                lines.append(_Line(start, task_id, cell("status"), cell("note"), parts))
            start = reader.line_num + 1
    except csv.Error as error:
        raise TasksError(f"{path}:{reader.line_num}: the file is not CSV ({error}) — save it from the spreadsheet as CSV; nothing was changed") from None
    return lines


def _grown(row: TaskRow, line: _Line) -> list[str]:
    """The parts the task's message carries now that ``line`` (with a parts column) did not show."""
    if line.parts is None:
        return []
    parts = [part["id"] for part in json.loads(row.data or "{}").get("parts") or () if part.get("id") != row.id]
    return [part for part in parts if part not in line.parts]


def import_file(store: StateStore, path: str, at: float) -> Imported:
    """``playbook tasks import``: the lines that name a known task with a known status are
    applied in one transaction; the others are reported, by line, and change nothing. A file
    none of whose ids is in ``store`` changes nothing at all (TasksError)."""
    lines = read_lines(path)
    with_ids = [line for line in lines if line.task_id]
    if not with_ids:
        raise TasksError(f"{path}: no line names a task (the `id` column is empty) — import the CSV the plan was written to; nothing was changed")
    known = store.tasks_by_id(line.task_id for line in with_ids)
    if not known:
        raise TasksError(
            f"{path}: none of its {len({line.task_id for line in with_ids})} task id(s) is in {store.path} — a status file of another state? import it into the --state its plan came from; nothing was changed"
        )
    problems: list[str] = []
    marks: list[Mark] = []
    seen: dict[str, tuple[int, str | None]] = {}
    unchanged = 0
    for line in lines:
        where = f"{path}:{line.number}"
        if not line.task_id:
            problems.append(f"{where}: no task id on this line — copy the line's id from the plan; this line changed nothing")
            continue
        if line.task_id not in known:
            problems.append(f"{where}: no task `{terminal_text(line.task_id)}` in {store.path} — check the id (copy it from the plan) or the --state this file belongs to; this line changed nothing")
            continue
        message = _message_of(store, known[line.task_id]) if line.status.strip() else None
        if message is not None:
            problems.append(f"{where}: task {line.task_id} went out in message {message} — write the status on the message's line (its parts follow it); this line changed nothing")
            continue
        grown = _grown(known[line.task_id], line) if line.status.strip() else []
        if grown:
            # The plan this file came from showed the message without them: a later run merged
            # them in. Its status says nothing of them (the operator may have sent the old text).
            problems.append(f"{where}: task {line.task_id} also carries {', '.join(grown)} since the plan this file came from — import the latest plan, or mark them with `playbook tasks mark`; this line changed nothing")
            continue
        word = _normal(line.status)
        if word not in STATUS_WORDS:
            problems.append(f"{where}: `{terminal_text(line.status)}` is not a status — {_SAY_STATUS}; this line changed nothing")
            continue
        status = STATUS_WORDS[word]
        if line.task_id in seen:
            earlier, earlier_status = seen[line.task_id]
            if earlier_status != status:
                problems.append(f"{where}: task {line.task_id} is also on line {earlier}, with another status — keep one line per task; this line changed nothing")
            continue
        seen[line.task_id] = (line.number, status)
        if status is None and not line.note:
            unchanged += 1
            continue
        marks.append(Mark(line.task_id, status, line.note or None, line.number))
    applied = apply_marks(store, marks, at)
    return Imported(applied, len(with_ids), unchanged, problems)


def summary(applied: Applied, words: MarkWords, without_status: int = 0, reported: int = 0) -> str:
    """``3 task(s) changed (2 done, 1 skipped), 1 already so`` / ``改了 3 个任务（完成 2，跳过 1）``,
    then an imported file's lines without a status and those reported above."""
    parts = words.separator.join(words.status.format(count=count, status=words.statuses[status]) for status, count in sorted(applied.changed.items()))
    said = [words.changed.format(count=applied.total, statuses=f"{words.brackets[0]}{parts}{words.brackets[1]}" if parts else "")]
    for template, count in ((words.already, applied.already), (words.without_status, without_status), (words.reported, reported)):
        if count:
            said.append(template.format(count=count))
    return words.separator.join(said)
