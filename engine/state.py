"""``--state DB``: what the engine knows between runs, in one SQLite file.

A daily run continues where the last one ended: member state, pending timers, the triggers'
own memory, the history of planned tasks (for cooldowns, limits and capacity) and the
watermark — the event time up to which everything has been processed. Members are loaded
when an event or timer touches them, so a run costs its events, not the size of the state.

Pending timers are read in due order as they come due, and the planned-task history only as
far back as the guardrails look (see ``history``): a daily run reads its day, not the years.

Each task a run printed is kept whole (``tasks.data``: its ``--format jsonl`` record), so that
later commands (``playbook deliver``) can show it without the playbooks or the history; what
``deliver`` sent is kept in ``deliveries``.

Everything is written in one transaction at the end of a run, after the tasks were output:
a run killed at any point leaves the database exactly as it was before that run, and the
rerun plans the same tasks with the same ids. Of the timers, the run deletes those that came
due and inserts those it scheduled; the rest are left where they are.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from playbook_engine.clock import Clock, Timer
from playbook_engine.contract import TAG_EXPIRY, Group, Member, Task
from playbook_engine.errors import PlaybookError
from playbook_engine.jsontext import dump_record, dumps, loads
from playbook_engine.planner import Sent, printed_form_of
from playbook_engine.words import words_for

if TYPE_CHECKING:
    from playbook_engine.holdout import Holdout
    from playbook_engine.model import Config
    from playbook_engine.planner import Planner

APPLICATION_ID = 0x50424B31  # "PBK1": marks the file as ours
SCHEMA_VERSION = 10
SQLITE_HEADER = b"SQLite format 3\x00"
AHEAD = "ahead"  # meta: the ids of the tasks the last run planned ahead (``save_ahead``)
NO_ROOM = "ahead_no_room"  # meta: what the last look-ahead found no room for, by local day, operator and playbook
OVERTAKEN = "overtaken"  # meta: tasks due before the last run's end that no longer held as it ended, and why

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS timers (seq INTEGER PRIMARY KEY, due REAL NOT NULL, handler TEXT NOT NULL, subject TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trigger_state (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, rule TEXT NOT NULL, member TEXT, action TEXT NOT NULL, trigger_at REAL NOT NULL, due REAL NOT NULL, assignee TEXT, status TEXT NOT NULL DEFAULT 'todo', data TEXT, deadline REAL, outcome TEXT, outcome_at REAL, marked_at REAL, note TEXT);
CREATE TABLE IF NOT EXISTS rechecks (id TEXT PRIMARY KEY, due REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (operator TEXT NOT NULL, date TEXT NOT NULL, part INTEGER NOT NULL, inbox TEXT NOT NULL, digest TEXT NOT NULL, tasks TEXT NOT NULL, sent_at REAL NOT NULL, PRIMARY KEY (operator, date, part));
CREATE TABLE IF NOT EXISTS holdouts (playbook TEXT NOT NULL, member TEXT NOT NULL, arm TEXT NOT NULL, due REAL NOT NULL, wrote_at REAL, PRIMARY KEY (playbook, member));
CREATE TABLE IF NOT EXISTS stage_moves (member TEXT NOT NULL, group_id TEXT, from_stage TEXT, to_stage TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS day_counts (day TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, playbook TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (day, kind, reason, playbook));
CREATE TABLE IF NOT EXISTS open_counts (task TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, playbook TEXT NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS questions (key TEXT PRIMARY KEY, group_id TEXT, asker TEXT NOT NULL, asked_at REAL NOT NULL, answered_at REAL, answered_by TEXT);
CREATE TABLE IF NOT EXISTS trigger_entries (store TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (store, key));
"""

# Version 2: timers are read in due order and deleted as they come due; planned tasks are read
# back only as far as the guardrails look. Both need an index; a version 1 file gets them.
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due, seq)",
    "CREATE INDEX IF NOT EXISTS tasks_by_trigger_at ON tasks (trigger_at)",
    "CREATE INDEX IF NOT EXISTS tasks_by_due ON tasks (due)",
    "CREATE INDEX IF NOT EXISTS tasks_by_member ON tasks (member)",  # the loop fields, a member at a time
    "CREATE INDEX IF NOT EXISTS questions_by_asked_at ON questions (asked_at)",  # the open ones of the last week, each run
    "CREATE INDEX IF NOT EXISTS deliveries_by_date ON deliveries (date)",  # version 10: what was delivered of the open days, each run
    "CREATE INDEX IF NOT EXISTS holdouts_by_due ON holdouts (due)",  # version 10: the exposures still waiting for a message, each run
)
# A day and a half before the watermark: earlier than the start of its local day in any time
# zone, daylight saving included. Capacity counts the tasks due from that day on.
_CAPACITY_LOOKBACK = 36 * 3600
# Trigger memories kept a row per key (``trigger_entries``) and read by key as a run asks
# (``KeyedStore``), not whole: they hold an entry for every member or group ever concerned.
# ``@variants``: which text variant each target last got (engine/enforcer.py).
KEYED_STORES = ("@variants",)
_IDS_PER_QUERY = 500  # under SQLite's limit of host parameters (999 in old versions)
_CACHE_KB = 65536
_MMAP_BYTES = 1 << 30  # address space only: the pages a run reads are what it costs


@dataclass(frozen=True)
class Lookback:
    """How far before a new task the planner's guardrails look at earlier ones, in seconds."""

    limits: float = 0  # member frequency limits: the longest window, over every task about the member
    cooldowns: Mapping[str, float] = field(default_factory=dict)  # rule key → cooldown: that rule's tasks

    @classmethod
    def of(cls, config: Config) -> Lookback:
        return cls(
            limits=max((limit.per for limit in config.community.limits), default=0),
            cooldowns={rule.key: rule.cooldown for rule in config.rules if rule.cooldown},
        )


class SavedChecks(Protocol):
    """The re-check's part of what ``StateStore.save`` keeps (engine/recheck.py)."""

    @property
    def consumed(self) -> list[str]: ...
    def pending(self) -> list[dict[str, Any]]: ...


class SavedRun(Protocol):
    """What ``StateStore.save`` keeps of an evaluation (the state layer does not know the evaluator).

    Read-only properties: the evaluation's own attributes may be of narrower types (a dict for a Mapping).
    """

    @property
    def members(self) -> Mapping[str, Member]: ...
    @property
    def groups(self) -> Mapping[str, Group]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def trigger_state(self) -> Mapping[str, Any]: ...
    @property
    def community(self) -> Any: ...  # its ``timezone`` is saved
    @property
    def started(self) -> bool: ...
    @property
    def now(self) -> float: ...
    def watermark_events(self) -> list[str]: ...
    def unconfirmed_rows(self) -> list[list[Any]]: ...
    @property
    def recheck(self) -> SavedChecks: ...
    @property
    def replies(self) -> SavedReplies: ...
    @property
    def holdout(self) -> Holdout | None: ...
    @property
    def stage_moves(self) -> list[tuple[str, str | None, str | None, str | None, float]] | None: ...
    @property
    def question_log(self) -> SavedQuestions | None: ...


class SavedQuestions(Protocol):
    """What ``StateStore.save`` keeps of the questions of a run (engine/questions.py)."""

    @property
    def asked(self) -> list[tuple[str, str | None, str, float]]: ...  # (key, group, asker, asked at)
    @property
    def answered(self) -> list[tuple[str, float, str]]: ...  # (key, answered at, how)


class SavedReplies(Protocol):
    @property
    def found(self) -> list[tuple[str, float]]: ...  # (task id, when the member replied)


@dataclass(frozen=True)
class TaskRow:
    """A planned task as the state keeps it, with what operators said of it (``playbook tasks``)."""

    id: str
    due: float
    assignee: str | None
    status: str  # todo; stale, displaced (taken back by a run); done, skipped, failed (operators')
    data: str | None  # the printed record (``task_data``); None for a task merged into another
    deadline: float | None
    outcome: str | None  # replied
    outcome_at: float | None
    marked_at: float | None
    note: str | None


_TASK_ROW = "id, due, assignee, status, data, deadline, outcome, outcome_at, marked_at, note"


class StateError(PlaybookError):
    """The --state file cannot be used; it has not been modified."""


# A saved member is a JSON array of the Member fields after ``id``, in their declared order (the
# sets as sorted lists, ``daily`` flat): about 30 % shorter than an object with every key named,
# and read straight into ``Member(id, *record)``. Versions 1 and 2 saved objects (still read).
_RECORD_FIELDS = tuple(field.name for field in fields(Member))[1:]
_record_values = attrgetter(*_RECORD_FIELDS)
_GROUPS, _TAGS = _RECORD_FIELDS.index("groups"), _RECORD_FIELDS.index("tags")


def member_record(member: Member) -> list[Any]:
    """What the state saves of ``member`` (its id is the row's key)."""
    record = list(_record_values(member))
    record[_GROUPS] = sorted(record[_GROUPS])
    record[_TAGS] = sorted(record[_TAGS])
    return record


def member_from_data(member_id: str, data: list[Any] | dict[str, Any]) -> Member:
    """A member from its saved record: an array, or the object a version 1 or 2 state wrote."""
    if isinstance(data, dict):  # versions 1 and 2: named fields, ``daily`` as [day, messages] pairs
        data["daily"] = [number for pair in data["daily"] for number in pair]
        data = [data[name] for name in _RECORD_FIELDS if name in data]  # the fields after it came later
    data[_GROUPS] = set(data[_GROUPS])
    data[_TAGS] = set(data[_TAGS])
    return Member(member_id, *data)


def printed_parts(payload: Mapping[str, Any]) -> list[str]:
    """The parts of a message a run left open (a ``rechecks`` row) that went out on their own in
    that run: each carried the message, whose own task was dropped (``Recheck._printed_part``)."""
    return [data["id"] for data in payload.get("parts", ()) if data.get("printed") is not None]


def member_to_data(member: Member) -> dict[str, Any]:
    """The member's saved state with its fields named (``playbook state show``)."""
    data = dict(zip(_RECORD_FIELDS, member_record(member), strict=True))
    data["daily"] = member.day_counts()
    return data


class StateStore:
    """An opened --state database. Use ``StateStore.open(path)``; it refuses foreign files."""

    def __init__(self, path: str, connection: sqlite3.Connection, lock: int | None = None):
        self.path = path
        self.connection = connection
        self._lock = lock  # the open lock file's descriptor, held until close()
        self.read_only = False
        self._ahead_left_out: frozenset[str] = frozenset()  # tasks planned ahead that ``history`` leaves out (``drop_ahead``)
        self.ahead_gone: list[str] = []  # kept tasks planned ahead the last save took back (``_reconcile_ahead``)
        # The rows of groups and trigger memory as read (``groups``, ``trigger_state``): the
        # save writes only those that changed, not every group the community ever had.
        self._group_rows: dict[str, str] = {}
        self._trigger_rows: dict[str, str] | None = None
        self._stage_totals: Counter[str] | None = None  # every member by stage as the run saved them (stage_totals)

    @classmethod
    def open(cls, path: str, *, lock: bool = True, read_only: bool = False) -> StateStore:
        """Open (or create) the state at ``path``. With ``lock`` (a run), no other run may use
        it until this one closes it: two runs on one state would both print the same tasks.
        ``read_only``: SQLite refuses every write (``playbook forecast`` runs the engine on
        without saving); a state of an earlier version, which opening would upgrade, is refused."""
        held = _lock(path) if lock else None
        try:
            return cls._open(path, held, read_only)
        except BaseException:
            if held is not None:
                os.close(held)
            raise

    @classmethod
    def _open(cls, path: str, held: int | None, read_only: bool = False) -> StateStore:
        file = Path(path)
        fresh = not file.exists()
        if fresh and read_only:
            raise StateError(f"{path}: no such state file — run `playbook run PATHS --events FILE --state {path}` first, or check the path")
        if not fresh and file.stat().st_size == 0:
            # Not what a run leaves (a new state has its tables at once): a truncated or damaged
            # file; starting over would welcome every member again.
            raise StateError(f"{path}: the state file is empty — it was left untouched; delete it to start a new state, or restore a backup")
        if not fresh:
            with open(file, "rb") as stream:
                header = stream.read(len(SQLITE_HEADER))
            if header != SQLITE_HEADER:
                raise StateError(f"{path}: not a playbook state database (not an SQLite file) — it was left untouched; give --state a new file name or the file an earlier run wrote")
        try:
            connection = sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None) if read_only else sqlite3.connect(path, isolation_level=None)
            if not fresh:
                application_id = connection.execute("PRAGMA application_id").fetchone()[0]
                if application_id != APPLICATION_ID:
                    connection.close()
                    raise StateError(f"{path}: an SQLite database of another program, not a playbook state — it was left untouched; give --state a new file name")
                version = int(connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0])
                if not 1 <= version <= SCHEMA_VERSION:
                    connection.close()
                    raise StateError(f"{path}: state version {version}, this engine reads version {SCHEMA_VERSION}")
                if read_only and version < SCHEMA_VERSION:
                    connection.close()
                    raise StateError(f"{path}: state version {version}, written by an earlier engine — it was left untouched; run `playbook run PATHS --events FILE --state {path}` once to bring it to version {SCHEMA_VERSION}, then again")
        except sqlite3.DatabaseError as exc:
            if read_only and Path(path + "-journal").exists():
                # A hot journal: rolling it back is a write, which SQLite refuses read-only.
                raise StateError(f"{path}: a run stopped half-way through saving (its journal {path}-journal is still there) — it was left untouched; the next `playbook run … --state {path}` puts it back as it was before that run, then try again") from None
            raise StateError(f"{path}: the state database is damaged ({exc}) — it was left untouched; restore a backup or start a new state file") from None
        # A daily run reads and rewrites members spread over the whole file: a page cache of
        # 64 MB (SQLite's default is 2 MB) keeps the b-tree pages it walks twice in memory, and
        # reading through a memory map saves copying each page it looks at (writes are not
        # mapped: a run killed mid-save still leaves the file as it was).
        connection.execute(f"PRAGMA cache_size = -{_CACHE_KB}")
        connection.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        store = cls(path, connection, held)
        store.read_only = read_only
        if fresh:
            with store.transaction():
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for statement in filter(str.strip, _TABLES.split(";")):
                    connection.execute(statement)
                for statement in _INDEXES:
                    connection.execute(statement)
                connection.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
        else:
            try:
                _check(store, version)
            except StateError:
                connection.close()
                raise
        if not fresh and version < SCHEMA_VERSION:
            # Version 2 has the same tables and content as 1, plus the indexes a run reads them
            # by. Version 3 saves members as arrays; the objects of version 2 are still read, and
            # each is rewritten as an array the next time a run changes that member. Version 4
            # keeps one silence timer per member (handler ``@silence``) where 3 kept one per
            # rule; those still saved are taken over as they come due. An engine of version 3
            # would ignore the new timers, so it must refuse the file: hence the number.
            # Version 5 adds the table of printed tasks a later run checks again when they are due.
            # Version 6 keeps each printed task whole (tasks.data; NULL for the tasks planned
            # before, whose texts were never saved) and what `playbook deliver` sent. Version 7
            # keeps what was done (the loop back): each task's deadline (NULL: none, or planned
            # before), its outcome (`replied`) and when, when and with what note it was marked.
            # Version 8 keeps what `playbook report` draws besides the tasks: the moves between
            # stages, the summary's counts by day, the questions and their answers — from the
            # first run of version 8 on (an older state has none of that history).
            # It keeps too, per playbook with a holdout, each member's first task of it (given
            # or held out) and when they wrote again (engine/holdout.py); tasks may be `held_out`.
            # Version 9 saves each member's purchases and what they spent (the last two fields of
            # the array: an older member, without them, reads as one who bought nothing) and each
            # group's `since`, its first event, which its age (`group_age`) counts from. An older
            # state never saw its groups' first events: their age counts from its watermark, the
            # first instant this version saw them, unless community.yaml declares `created`.
            # An engine of version 8 would fail on the longer member arrays: hence the number.
            # Version 10 indexes the deliveries by date: a run looks up which of the tasks it
            # may settle again were delivered among the last days' deliveries, not all of them;
            # and the holdouts' exposures by due time: a run reads those still waiting, not all.
            # It keeps the memories of KEYED_STORES a row per key (trigger_entries), moved there
            # from their one row of trigger_state. An engine of version 9 would not find them.
            with store.transaction():
                for statement in _SINCE_8:
                    connection.execute(statement)
                connection.execute(_RECHECKS)
                connection.execute(_DELIVERIES)
                connection.execute(_TRIGGER_ENTRIES)
                for name in KEYED_STORES:
                    row = connection.execute("SELECT data FROM trigger_state WHERE key = ?", (name,)).fetchone()
                    if row is not None:
                        connection.executemany("INSERT OR REPLACE INTO trigger_entries VALUES (?, ?, ?)", ((name, key, dumps(value)) for key, value in loads(row[0]).items()))
                        connection.execute("DELETE FROM trigger_state WHERE key = ?", (name,))
                for statement in _INDEXES:
                    connection.execute(statement)
                if version < 5:
                    connection.execute("ALTER TABLE tasks ADD COLUMN status TEXT NOT NULL DEFAULT 'todo'")
                if version < 6:
                    connection.execute("ALTER TABLE tasks ADD COLUMN data TEXT")
                if version < 7:
                    for column in ("deadline REAL", "outcome TEXT", "outcome_at REAL", "marked_at REAL", "note TEXT"):
                        connection.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
                if version < 9:
                    watermark = store.watermark
                    for group_id, data in connection.execute("SELECT id, data FROM groups").fetchall():
                        values = loads(data)
                        values.setdefault("since", watermark)
                        connection.execute("UPDATE groups SET data = ? WHERE id = ?", (dumps(values), group_id))
                connection.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(SCHEMA_VERSION),))
        return store

    def transaction(self) -> _Transaction:
        return _Transaction(self.connection)

    def close(self) -> None:
        self.connection.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None

    # -- reading -----------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def watermark_events(self) -> frozenset[str] | None:
        """What identifies the events read at the watermark's instant (None: not saved by the
        version that wrote this state, so every event of that second counts as read)."""
        value = self.meta("watermark_events")
        return None if value is None else frozenset(loads(value))

    def save_ahead(self, tasks: Iterable[Task], kept: Mapping[str, Sent], records: Mapping[str, str], no_room: Mapping[str, Mapping[str, Mapping[str, int]]] | None = None) -> None:
        """Keep the tasks a run planned ahead (``playbook run --ahead``): to do, each with its
        printed record (the parts merged into one as `merged`, as a run keeps them), and their
        ids, for the next run to take back (``drop_ahead``); and what it found no room for
        (local day → operator → playbook → tasks), for that morning's list (``no_room``)."""
        ahead: dict[str, list[str]] = {}
        rows = []
        for task in tasks:
            parts = [part["id"] for part in task.parts if part["id"] != task.id]
            ahead[task.id] = parts
            for task_id in [task.id, *parts]:
                sent = kept.get(task_id)
                if sent is not None:
                    rows.append((task_id, sent.rule, sent.member, sent.action, sent.trigger_at, task.due, sent.assignee, "todo" if task_id == task.id else "merged", records.get(task_id), sent.deadline if sent.deadline != float("inf") else None))
        with self.transaction():
            self.connection.executemany("INSERT OR IGNORE INTO tasks (id, rule, member, action, trigger_at, due, assignee, status, data, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            earlier = loads(self.meta(AHEAD) or "{}")  # kept, due after the last run's history: not reconciled yet
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AHEAD, dumps({**earlier, **ahead})))
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (NO_ROOM, dumps(no_room or {})))

    def no_room(self, day: str, operator: str) -> dict[str, int]:
        """What the last look-ahead found no room for on local day ``day`` among ``operator``'s
        tasks, by playbook (``save_ahead``)."""
        found: dict[str, dict[str, dict[str, int]]] = loads(self.meta(NO_ROOM) or "{}")
        return dict(found.get(day, {}).get(operator, {}))

    def drop_ahead(self) -> tuple[list[str], dict[str, tuple[Any, ...]]]:
        """Before a run: the tasks the last run planned ahead are planned again from the history
        as it turned out. Those still to do that no list delivered are taken out, with their
        merged parts (their ids returned first). Those an operator marked or a list delivered
        stay, as printed (returned second: what was printed of each, by id, as
        ``planner.printed_form``): the run plans them again — their effects happen, their text
        turns are taken — and prints them again only if they changed; ``history`` leaves them
        out meanwhile, or the run would find them planned already. A read-only state (a
        forecast, the look ahead itself) leaves every one out of ``history`` and deletes nothing."""
        ahead: dict[str, list[str]] = loads(self.meta(AHEAD) or "{}")
        if not ahead:
            return [], {}
        ids = dumps(list(ahead))
        delivered = {task_id for (task_id,) in self.connection.execute("SELECT DISTINCT value FROM deliveries, json_each(deliveries.tasks) WHERE value IN (SELECT value FROM json_each(?))", (ids,))}
        rows = {row[0]: row[1:] for row in self.connection.execute("SELECT id, status, due, assignee, data FROM tasks WHERE id IN (SELECT value FROM json_each(?))", (ids,))}
        dropped = [task_id for task_id in ahead if task_id in rows and rows[task_id][0] == "todo" and task_id not in delivered]
        kept: dict[str, tuple[Any, ...]] = {}
        for task_id, (_, due, assignee, data) in rows.items():
            if task_id in dropped or data is None:
                continue
            record = loads(data)
            kept[task_id] = printed_form_of(due, record.get("text"), assignee, record.get("parts") or ())
        self._ahead_left_out = frozenset(task_id for carrier in (ahead if self.read_only else kept) for task_id in (carrier, *ahead.get(carrier, ())))
        if not self.read_only and dropped:
            with self.transaction():
                self.connection.executemany("DELETE FROM tasks WHERE id = ? AND status IN ('todo', 'merged')", ((task_id,) for carrier in dropped for task_id in (carrier, *ahead[carrier])))
                self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AHEAD, dumps({carrier: parts for carrier, parts in ahead.items() if carrier not in dropped})))
        return dropped, kept

    def _reconcile_ahead(self, now: float, planned: Mapping[str, Sent], said: set[str]) -> list[str]:
        """At a run's save: the tasks planned ahead and kept (marked, delivered) that are due by
        the history's end are reconciled with it — planned again by the run, or, still to do,
        taken back as stale (the day made them unneeded); their ids (those taken back) returned.
        Those due later wait for a later run."""
        ahead: dict[str, list[str]] = loads(self.meta(AHEAD) or "{}")
        if not ahead:
            return []
        dues = dict(self.connection.execute("SELECT id, due FROM tasks WHERE id IN (SELECT value FROM json_each(?))", (dumps(list(ahead)),)))
        done = [carrier for carrier in ahead if dues.get(carrier, now) <= now]
        gone = [carrier for carrier in done if carrier not in planned and carrier not in said]  # `said`: taken back by the run, with its reason
        self.connection.executemany("UPDATE tasks SET status = 'stale' WHERE id = ? AND status = 'todo'", ((carrier,) for carrier in gone))
        self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AHEAD, dumps({carrier: parts for carrier, parts in ahead.items() if carrier not in done})))
        return gone

    def overtaken(self) -> dict[str, str]:
        """The tasks due before the last run's end that no longer held as it ended, and why."""
        return dict(loads(self.meta(OVERTAKEN) or "{}"))

    def task_dues(self, ids: list[str]) -> list[tuple[str, float]]:
        """(id, due) of the tasks ``ids`` the state holds."""
        return self.connection.execute("SELECT id, due FROM tasks WHERE id IN (SELECT value FROM json_each(?))", (dumps(ids),)).fetchall()

    def ahead_ids(self) -> frozenset[str]:
        """The ids of the tasks the last run planned ahead (``save_ahead``)."""
        return frozenset(loads(self.meta(AHEAD) or "{}"))

    def known_tasks(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` the state holds a task of."""
        return {task_id for (task_id,) in self.connection.execute("SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?))", (dumps(list(ids)),))}

    @property
    def watermark(self) -> float | None:
        value = self.meta("watermark")
        return None if value is None else float(value)

    def member_text(self, member_id: str) -> bytes | str | None:
        """The member's saved state as stored: JSON, as UTF-8 bytes or text."""
        row = self.connection.execute("SELECT data FROM members WHERE id = ?", (member_id,)).fetchone()
        return None if row is None else row[0]

    def member_texts(self, member_ids: list[str]) -> list[tuple[str, bytes | str]]:
        """(id, JSON) of those of ``member_ids`` that are saved, in no particular order."""
        found: list[tuple[str, bytes | str]] = []
        for start in range(0, len(member_ids), _IDS_PER_QUERY):
            chunk = member_ids[start : start + _IDS_PER_QUERY]
            found += self.connection.execute(f"SELECT id, data FROM members WHERE id IN ({', '.join('?' * len(chunk))})", chunk).fetchall()
        return found

    def groups(self) -> Iterator[Group]:
        for group_id, data in self.connection.execute("SELECT id, data FROM groups ORDER BY id"):
            self._group_rows[group_id] = data
            values = loads(data)
            yield Group(group_id, values["name"], values["channel"], set(values["members"]), values["messages"], values.get("since"))

    def operator_names(self) -> dict[str, str]:
        """Each operator's name by id, as the last run's community.yaml gave them (none before a
        run saved them)."""
        saved = self.meta("operators")
        return dict(json.loads(saved)) if saved else {}

    def group_names(self) -> dict[str, str]:
        """Each saved group's name, by id, for the groups that have one (read without their
        members: a name is all `tasks list` and `deliver` need)."""
        query = "SELECT id, json_extract(data, '$.name') FROM groups WHERE json_extract(data, '$.name') IS NOT NULL"
        return dict(self.connection.execute(query).fetchall())

    def timers(self, after: tuple[float, int] | None, limit: int) -> list[Timer]:
        """The next ``limit`` pending timers in (due, seq) order, after position ``after`` (a
        (due, seq) pair) or from the first; what ``Clock.restore`` reads them with."""
        if after is None:
            rows = self.connection.execute("SELECT due, seq, handler, subject, payload FROM timers ORDER BY due, seq LIMIT ?", (limit,))
        else:
            rows = self.connection.execute("SELECT due, seq, handler, subject, payload FROM timers WHERE (due, seq) > (?, ?) ORDER BY due, seq LIMIT ?", (*after, limit))
        return [Timer(due, seq, handler, subject, loads(payload)) for due, seq, handler, subject, payload in rows]

    def rechecks(self) -> list[dict[str, Any]]:
        """The printed tasks an earlier run left to be checked again when due, in due order."""
        return [json.loads(data) for (data,) in self.connection.execute("SELECT data FROM rechecks ORDER BY due, id")]

    def loop(self, watermark: float, window: int, lookback: int, awaiting: Iterable[str]) -> tuple[list[tuple[str, float, str, str]], list[tuple[str, str, float]]]:
        """What ``Replies`` starts from: tasks of the ``awaiting`` actions marked done, with no
        outcome yet and done within ``window`` before ``watermark`` or after; and the replies of
        the ``lookback`` before it, as (member, playbook, when)."""
        actions = sorted(awaiting)
        # By due time (indexed): a task is marked done after it is due, rarely more than the lookback after.
        done = self.connection.execute(
            f"SELECT member, coalesce(marked_at, due), id, rule FROM tasks WHERE due >= ? AND status = 'done' AND outcome IS NULL AND member IS NOT NULL AND action IN ({', '.join('?' * len(actions))})",
            [watermark - window - lookback, *actions],
        ).fetchall()
        replied = self.connection.execute(
            "SELECT member, rule, coalesce(outcome_at, marked_at, due) FROM tasks WHERE due >= ? AND outcome = 'replied' AND member IS NOT NULL",
            [watermark - 2 * lookback],
        ).fetchall()
        return (
            [(member, done_at, task_id, rule.split("/")[0]) for member, done_at, task_id, rule in done if done_at + window >= watermark],
            [(member, rule.split("/")[0], when) for member, rule, when in replied if when >= watermark - lookback],
        )

    def member_tasks(self, member: str) -> list[tuple[str, float, str, float | None, float | None, str, list[str]]]:
        """``member``'s planned tasks, as ``TaskLog`` keeps them: (id, due, status, done at, replied at,
        action, the ids of a merged message's parts), those taken back (stale, displaced) and
        those merged into another left out."""
        rows = self.connection.execute(
            "SELECT id, due, status, CASE WHEN status = 'done' THEN coalesce(marked_at, due) END, CASE WHEN outcome = 'replied' THEN coalesce(outcome_at, marked_at, due) END, action,"
            " CASE WHEN data LIKE '%\"parts\"%' THEN (SELECT json_group_array(json_extract(value, '$.id')) FROM json_each(data, '$.parts')) END"
            " FROM tasks WHERE member = ? AND status NOT IN ('stale', 'displaced', 'merged')",
            (member,),
        ).fetchall()
        return [(*row[:6], loads(row[6]) if row[6] else []) for row in rows]

    def holdouts(self, playbooks: Iterable[str], since: float | None = None) -> list[tuple[str, str, float, float | None]]:
        """The exposures earlier runs recorded for ``playbooks``: (playbook, member, due, wrote at);
        with ``since``, only those due since then that no message has followed yet (by index)."""
        names = sorted(playbooks)
        query = f"SELECT playbook, member, due, wrote_at FROM holdouts WHERE playbook IN ({', '.join('?' * len(names))})"
        if since is None:
            return [tuple(row) for row in self.connection.execute(query, names)]
        # By due time: by the key (playbook, member) SQLite would read every exposure of the playbooks.
        query = f"SELECT playbook, member, due, wrote_at FROM holdouts INDEXED BY holdouts_by_due WHERE due >= ? AND wrote_at IS NULL AND playbook IN ({', '.join('?' * len(names))})"
        return [tuple(row) for row in self.connection.execute(query, [since, *names])]

    def exposure_recorded(self, playbook: str, member: str) -> bool:
        """Whether an earlier run recorded ``member``'s first task of ``playbook`` (``holdouts``)."""
        return self.connection.execute("SELECT 1 FROM holdouts WHERE playbook = ? AND member = ?", (playbook, member)).fetchone() is not None

    def reopenable(self, saved: list[dict[str, Any]], keep_printed: bool = False) -> list[dict[str, Any]]:
        """Of the tasks the last run left open (``saved`` rows of version 2), those the next run
        may settle again: not printed, or printed, still ``todo`` and not delivered — a task an
        operator marked, or that ``deliver`` sent to their inbox, keeps its place (and, with
        ``keep_printed``, every printed one: the morning's list will hold it). A message whose
        part went out on its own (``printed_parts``) is as printed as that part."""
        opened = [payload for payload in saved if payload.get("v") == 2]
        if keep_printed:
            unprinted = {payload["id"] for payload in opened if payload["printed"] is None and "merged_into" not in payload and not printed_parts(payload)}
            return [payload for payload in opened if payload["id"] in unprinted or payload.get("merged_into") in unprinted]
        shown = {payload["id"]: [payload["id"]] if payload["printed"] is not None else printed_parts(payload) for payload in opened}
        printed = [task_id for ids in shown.values() for task_id in ids]
        statuses: dict[str, str] = {}
        for start in range(0, len(printed), 500):
            chunk = printed[start : start + 500]
            statuses.update(self.connection.execute(f"SELECT id, status FROM tasks WHERE id IN ({', '.join('?' * len(chunk))})", chunk).fetchall())
        delivered: set[str] = set()
        if printed:
            # A task is delivered with the local day it is due on: the deliveries of the days
            # from the earliest due (a UTC day, less two for any time zone) hold them all.
            from datetime import UTC, datetime, timedelta

            earliest = min([payload["due"] for payload in opened if payload["printed"] is not None] + [data["printed"][0] for payload in opened for data in payload.get("parts", ()) if data.get("printed") is not None])
            since = (datetime.fromtimestamp(earliest, UTC).date() - timedelta(days=2)).isoformat()
        for start in range(0, len(printed), 500):
            chunk = printed[start : start + 500]
            query = f"SELECT DISTINCT value FROM deliveries, json_each(deliveries.tasks) WHERE deliveries.date >= ? AND value IN ({', '.join('?' * len(chunk))})"
            delivered.update(task_id for (task_id,) in self.connection.execute(query, [since, *chunk]))
        reopened = {
            payload["id"] for payload in opened
            if (payload["printed"] is not None or "merged_into" not in payload) and all(statuses.get(task_id) == "todo" and task_id not in delivered for task_id in shown[payload["id"]])
        }
        # A part merged into a message that stays as it is (marked, delivered) went out with it;
        # one merged into a part of a message reopened (the part carried it on as that message's
        # own task was dropped) is reopened with that message.
        with_message = reopened | {part["id"] for payload in opened if payload["id"] in reopened for part in payload["parts"]}
        return [payload for payload in opened if payload["id"] in reopened or payload.get("merged_into") in with_message]

    def open_questions(self, since: float) -> list[tuple[str, str | None, str, float]]:
        """The questions asked since ``since`` and not answered yet: (key, group, asker, asked at)."""
        query = "SELECT key, group_id, asker, asked_at FROM questions WHERE asked_at >= ? AND answered_at IS NULL"
        return [tuple(row) for row in self.connection.execute(query, (since,))]

    def clock_seq(self) -> int:
        """The clock's counter: timers scheduled from here on come after every saved one."""
        highest = self.connection.execute("SELECT max(seq) FROM timers").fetchone()[0]
        return max(int(self.meta("clock_seq") or 0), highest or 0)

    def trigger_state(self) -> dict[str, dict[Any, Any]]:
        """The triggers' memory: each store whole, but those of KEYED_STORES, read by key (``KeyedStore``)."""
        self._trigger_rows = dict(self.connection.execute("SELECT key, data FROM trigger_state"))
        memory: dict[str, dict[Any, Any]] = {key: loads(data) for key, data in self._trigger_rows.items()}
        for name in KEYED_STORES:
            memory[name] = KeyedStore(self, name)
        return memory

    def trigger_entry(self, store: str, key: str) -> str | None:
        """The saved entry ``key`` of the keyed trigger memory ``store`` (JSON), or None."""
        row = self.connection.execute("SELECT data FROM trigger_entries WHERE store = ? AND key = ?", (store, key)).fetchone()
        return None if row is None else row[0]

    def history(self, lookback: Lookback | None = None) -> list[Sent]:
        """Planned tasks, in trigger order, for the planner's guardrails.

        With ``lookback``, only those a run continuing from the watermark can still consult (a
        new task is triggered at the watermark or later): a rule's tasks within its cooldown,
        tasks due within the longest frequency limit (limits count tasks at their due time) or
        on the watermark's local day or later (operator capacity), and those triggered in the watermark's last
        second (duplicate ids round the instant). Without it, or before a first watermark, all.
        """
        columns = "SELECT id, rule, member, action, trigger_at, due, assignee, status FROM tasks"
        watermark = self.watermark
        left_out = self._ahead_left_out
        if lookback is None or watermark is None:
            return [Sent(*row) for row in self.connection.execute(f"{columns} ORDER BY trigger_at, id") if row[0] not in left_out]
        # Each window a second wider, so rounding never loses a task at its edge. Written as
        # (a trigger_at range AND filters) OR (a due range), so SQLite reads both indexes, not the table.
        member_terms: list[str] = []
        values: list[float | str] = [watermark - 1]
        by_cooldown: dict[float, list[str]] = {}
        for rule, cooldown in lookback.cooldowns.items():
            by_cooldown.setdefault(cooldown, []).append(rule)
        for cooldown, rules in sorted(by_cooldown.items()):
            member_terms.append(f"(rule IN ({', '.join('?' * len(rules))}) AND trigger_at >= ?)")
            values += [*sorted(rules), watermark - cooldown - 1]
        earliest = watermark - max([0, *lookback.cooldowns.values()]) - 1
        about_members = f" OR (member IS NOT NULL AND ({' OR '.join(member_terms)}))" if member_terms else ""
        # Two queries, each a range of one index, joined here: written as one WHERE with OR,
        # SQLite may judge a scan of the whole table cheaper, and reads every task ever planned.
        # Limits a day wider: the watermark's day is settled again (its tasks capacity carried
        # in were offered earlier), and a task due at its start looks back a limit's window.
        limits, capacity = watermark - lookback.limits - 86400 - 1, watermark - _CAPACITY_LOOKBACK
        rows = self.connection.execute(f"{columns} INDEXED BY tasks_by_trigger_at WHERE trigger_at >= ? AND (trigger_at >= ?{about_members})", [earliest, *values]).fetchall()
        seen = {row[0] for row in rows}
        rows += [
            row for row in self.connection.execute(f"{columns} INDEXED BY tasks_by_due WHERE due >= ? AND ((member IS NOT NULL AND due >= ?) OR due >= ?)", [min(limits, capacity), limits, capacity])
            if row[0] not in seen
        ]
        rows.sort(key=lambda row: (row[4], row[0]))  # not ORDER BY: SQLite would then scan the table
        return [Sent(*row) for row in rows if row[0] not in left_out]

    # -- what `playbook deliver` reads and records -------------------------------------------

    def tasks_due(self, start: float, end: float) -> list[tuple[str, str | None, str]]:
        """(id, assignee, record) of the printed tasks still to do, due in [start, end), in due order."""
        rows: list[tuple[str, str | None, str]] = self.connection.execute(
            "SELECT id, assignee, data FROM tasks WHERE due >= ? AND due < ? AND status = 'todo' AND data IS NOT NULL ORDER BY due, id", (start, end)
        ).fetchall()
        return rows

    def carried_over(self, since: float, start: float, date: str, first: str, begins: float | None = None) -> list[tuple[str, str | None, str]]:
        """(id, assignee, record) of the printed tasks still to do due in [``since``, ``start``)
        (``start``: local day ``date`` begins; ``since``: local day ``first`` does), whose
        deadline has not passed by ``begins`` (the operators' day: by default ``start``), and that no delivery of another day has sent: a nightly
        run plans the day's event tasks after their time, so no morning's list held them yet. A
        task without a deadline (planned before version 7 kept them) is not carried: its day's
        list was the one it had."""
        rows = self.connection.execute(
            "SELECT id, assignee, data FROM tasks WHERE due >= ? AND due < ? AND deadline > ? AND status = 'todo' AND data IS NOT NULL ORDER BY due, id", (since, start, start if begins is None else begins)
        ).fetchall()
        return self._not_sent(rows, date, first)

    def missed(self, since: float, start: float, date: str, first: str, after: float, begins: float) -> list[tuple[str, str | None, str, float]]:
        """(id, assignee, record, deadline) of the printed tasks still to do due in [``since``,
        ``start``) whose deadline passed in [``after``, ``begins``) — since the operators' day
        before ``date`` began, before this one does — and that no list sent: planned after their
        time by a nightly run (a member who joined after the night's export was cut), they never
        reach a list. ``deliver`` names them, each on one morning."""
        rows = self.connection.execute(
            "SELECT id, assignee, data, deadline FROM tasks WHERE due >= ? AND due < ? AND deadline >= ? AND deadline < ? AND status = 'todo' AND data IS NOT NULL ORDER BY due, id", (since, start, after, begins)
        ).fetchall()
        return self._not_sent(rows, date, first)

    def _not_sent(self, rows: list[Any], date: str, first: str) -> list[Any]:
        """Of ``rows`` (the task's id first), those no delivery of the days from ``first`` on but ``date`` sent."""
        if not rows:
            return []
        sent = self.delivered_elsewhere(date, first)
        return [row for row in rows if row[0] not in sent]

    def delivered_elsewhere(self, date: str, first: str) -> set[str]:
        """The ids of the tasks that the deliveries of the days from ``first`` on, but ``date``
        (YYYY-MM-DD), sent."""
        query = "SELECT tasks FROM deliveries WHERE date >= ? AND date != ?"
        return {task_id for (tasks,) in self.connection.execute(query, (first, date)) for task_id in loads(tasks)}

    def unrecorded_due(self, start: float, end: float) -> list[str]:
        """Ids of tasks to do in [start, end) whose record the state does not hold: planned by an
        engine before state version 6, or merged into another task (whose record lists them)."""
        return [task_id for (task_id,) in self.connection.execute("SELECT id FROM tasks WHERE due >= ? AND due < ? AND status = 'todo' AND data IS NULL", (start, end))]

    def due_range(self) -> tuple[float, float] | None:
        """The earliest and latest due time of the printed tasks still to do, or None if there are none."""
        low, high = self.connection.execute("SELECT min(due), max(due) FROM tasks WHERE status = 'todo' AND data IS NOT NULL").fetchone()
        return None if low is None else (low, high)

    def deliveries(self, date: str) -> dict[str, tuple[set[str], int]]:
        """By operator: the ids of the tasks of local day ``date`` (YYYY-MM-DD) already delivered, and the last part number."""
        found: dict[str, tuple[set[str], int]] = {}
        for operator, part, tasks in self.connection.execute("SELECT operator, part, tasks FROM deliveries WHERE date = ? ORDER BY operator, part", (date,)):
            ids, _ = found.get(operator, (set(), 0))
            found[operator] = (ids | set(loads(tasks)), part)
        return found

    def record_delivery(self, operator: str, date: str, part: int, inbox: str, digest: str, task_ids: list[str], sent_at: float) -> None:
        """That a robot accepted part ``part`` of ``operator``'s day ``date``, holding ``task_ids``:
        written at once, in its own transaction, so a later failure cannot take it back."""
        with self.transaction():
            self.connection.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?)", (operator, date, part, inbox, digest, dumps(task_ids), sent_at))

    # -- what `playbook tasks` reads and writes ----------------------------------------------

    def assignees(self) -> list[str]:
        """The operators the printed tasks are assigned to, by id."""
        return [assignee for (assignee,) in self.connection.execute("SELECT DISTINCT assignee FROM tasks WHERE data IS NOT NULL AND assignee IS NOT NULL ORDER BY assignee")]

    def printed_tasks(self, start: float | None = None, end: float | None = None, assignee: str | None = None) -> list[TaskRow]:
        """The printed tasks (those with a record), due in [start, end) and of ``assignee`` when given, in due order."""
        # A task an earlier run printed on its own and a later run merged into another message
        # keeps its old record: the message's record lists it among its parts.
        terms: list[str] = ["data IS NOT NULL AND status != 'merged'"]
        values: list[float | str] = []
        if start is not None and end is not None:
            terms.append("due >= ? AND due < ?")
            values += [start, end]
        if assignee is not None:
            terms.append("assignee = ?")
            values.append(assignee)
        query = f"SELECT {_TASK_ROW} FROM tasks WHERE {' AND '.join(terms)} ORDER BY due, id"
        return [TaskRow(*row) for row in self.connection.execute(query, values)]

    def tasks_by_id(self, task_ids: Iterable[str]) -> dict[str, TaskRow]:
        """The saved tasks among ``task_ids`` (printed, or merged into a printed one), by id."""
        wanted = list(dict.fromkeys(task_ids))
        found: dict[str, TaskRow] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            for row in self.connection.execute(f"SELECT {_TASK_ROW} FROM tasks WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
                found[row[0]] = TaskRow(*row)
        return found

    def message_of(self, part_id: str) -> str | None:
        """The printed message whose ``parts`` list ``part_id`` (a task merged into it), if any."""
        pattern = f'%"id":"{part_id}"%'
        for task_id, data in self.connection.execute("SELECT id, data FROM tasks WHERE id != ? AND data LIKE ?", (part_id, pattern)):
            if any(part.get("id") == part_id for part in json.loads(data).get("parts") or ()):
                return str(task_id)
        return None

    def write_marks(self, rows: Iterable[TaskRow]) -> None:
        """What operators said of these tasks (status, outcome, when, note), in one transaction:
        a later run never sets these statuses back (``save``), nor reopens a marked task (``reopenable``)."""
        rows = list(rows)
        with self.transaction():
            self.connection.executemany(
                "UPDATE tasks SET status = ?, outcome = ?, outcome_at = ?, marked_at = ?, note = ? WHERE id = ?",
                ((row.status, row.outcome, row.outcome_at, row.marked_at, row.note, row.id) for row in rows),
            )

    def stage_totals(self, members: Mapping[str, Member]) -> Counter[str]:
        """Every member of the state by stage, as this run leaves them (staff among them): the
        totals the last run saved (``meta.stage_counts``), less the stages of the members this
        run loaded as they were saved, plus the stages of those it holds now — proportional to
        the members the run met, not to the community. The first run of a state without totals
        counts them once, from every saved record."""
        if self._stage_totals is not None:
            return Counter(self._stage_totals)
        saved = self.meta("stage_counts")
        totals: Counter[str] = Counter(loads(saved)) if saved is not None else self._count_saved_stages()
        loaded = members.loaded_stages if isinstance(members, LazyMembers) else {}
        for stage in loaded.values():
            if stage:
                totals[stage] -= 1
        for member in members.values():
            if member.stage:
                totals[member.stage] += 1
        return +totals

    def saved_stage(self, member_id: str) -> str | None:
        """The stage a member's saved record holds (None: not saved, or no stage)."""
        text = self.member_text(member_id)
        return member_from_data(member_id, orjson.loads(text) if type(text) is bytes else loads(text)).stage if text is not None else None

    def _count_saved_stages(self) -> Counter[str]:
        stages: Counter[str] = Counter()
        at = f"$[{_RECORD_FIELDS.index('stage')}]"
        query = "SELECT CASE WHEN substr(CAST(data AS TEXT), 1, 1) = '[' THEN json_extract(CAST(data AS TEXT), ?) ELSE json_extract(CAST(data AS TEXT), '$.stage') END FROM members"
        for (stage,) in self.connection.execute(query, (at,)):
            if stage:
                stages[stage] += 1
        return stages

    @property
    def lasting(self) -> bool:
        """Whether a later run will read what this one saves (not the in-memory state a
        `--report` without `--state` plans with)."""
        return self.path != ":memory:"

    def unconfirmed(self) -> list[list[Any]]:
        """[line, event] of the events the last run held back past --max-future, for this run to
        read before its own (``Evaluation.unconfirmed``)."""
        saved = self.meta("unconfirmed")
        return loads(saved) if saved else []

    def member_count(self) -> int:
        count: int = self.connection.execute("SELECT count(*) FROM members").fetchone()[0]
        return count

    def task_count(self) -> int:
        count: int = self.connection.execute("SELECT count(*) FROM tasks").fetchone()[0]
        return count

    # -- writing -----------------------------------------------------------------------------

    def save(self, evaluation: SavedRun, planner: Planner, records: Mapping[str, str] | None = None) -> None:
        """Write everything the run changed, atomically. ``records``: the JSON record of each
        task the run printed, by id (``task_data``), kept with its row."""
        printed = records or {}
        db = self.connection
        with self.transaction():
            totals = self.stage_totals(evaluation.members)  # from the rows as the run found them
            self._stage_totals = totals
            db.execute("INSERT OR REPLACE INTO meta VALUES ('stage_counts', ?)", (dumps(dict(sorted(totals.items()))),))
            # An upsert rewrites a saved member's row in place; INSERT OR REPLACE would delete
            # it and insert it again, updating the id index twice.
            db.executemany("INSERT INTO members VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data", _changed_members(evaluation.members))
            db.executemany("INSERT OR REPLACE INTO groups VALUES (?, ?)", _changed_groups(evaluation.groups, self._group_rows))
            clock = evaluation.clock
            if clock.consumed is not None:  # saved timers come due in (due, seq) order: a prefix is gone
                db.execute("DELETE FROM timers WHERE (due, seq) <= (?, ?)", clock.consumed)
            db.executemany("INSERT INTO timers VALUES (?, ?, ?, ?, ?)", ((timer.seq, timer.due, timer.handler, timer.subject, "null" if timer.payload is None else dumps(timer.payload)) for timer in clock.new_pending()))
            _save_trigger_state(db, evaluation.trigger_state, self._trigger_rows)
            # A task held out when the last run settled a day this one settled again: held out
            # again if it still holds (written below), or gone. (One the run could not reopen,
            # its rule changed, stays as it was.)
            db.executemany("DELETE FROM tasks WHERE id = ? AND status = 'held_out'", ((task_id,) for task_id in planner.reopened_ids))
            # One an earlier run found stale as it ended, or merged into a message (or held out
            # in it), dropped by this one before it was sent (capacity, deadline, pace; with its
            # message): never planned, it holds no cooldown and no slot, as in one run.
            db.executemany("DELETE FROM tasks WHERE id = ? AND status IN ('stale', 'merged', 'held_out')", ((task_id,) for task_id in planner.unplanned_reopened))
            # Named columns: a table upgraded in place has them in the order they were added.
            db.executemany(
                # A task reopened from the last run's open days may be written again (planned
                # again after it went stale then): it takes the new due, status and record,
                # unless an operator's status is on it.
                "INSERT INTO tasks (id, rule, member, action, trigger_at, due, assignee, status, data, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET due = excluded.due, deadline = excluded.deadline, status = excluded.status, data = coalesce(excluded.data, tasks.data) WHERE tasks.status IN ('todo', 'stale', 'displaced', 'merged', 'held_out')",
                ((s.id, s.rule, s.member, s.action, s.trigger_at, s.due, s.assignee, s.status, printed.get(s.id), s.deadline if s.deadline != float("inf") else None) for s in planner.new_history.values()),
            )
            db.executemany("UPDATE tasks SET outcome = 'replied', outcome_at = ? WHERE id = ? AND outcome IS NULL", ((t, task_id) for task_id, t in evaluation.replies.found))
            db.executemany("UPDATE tasks SET status = 'stale' WHERE id = ? AND status IN ('todo', 'stale', 'displaced', 'merged')", ((task_id,) for _, task_id, _, _ in planner.withdrawn))
            db.executemany("UPDATE tasks SET status = 'stale' WHERE id = ? AND status IN ('held_out', 'merged')", ((task_id,) for task_id in planner.stale_parts))
            db.executemany("UPDATE tasks SET status = 'displaced' WHERE id = ? AND status IN ('todo', 'stale', 'displaced', 'merged')", ((task_id,) for _, task_id, _, _ in planner.displaced))
            db.executemany("UPDATE tasks SET status = 'merged' WHERE id = ? AND status IN ('todo', 'stale', 'displaced', 'merged')", ((task_id,) for _, task_id, _, _ in planner.merged_away))
            # Printed again where capacity or a holiday (`not_on`) moved it: its deadline moved with it.
            db.executemany("UPDATE tasks SET due = ?, deadline = ?, data = coalesce(?, data) WHERE id = ?", ((task.due, task.deadline if task.deadline != float("inf") else None, printed.get(task.id), task.id) for task in planner.revised))
            holdout = evaluation.holdout
            if holdout is not None:
                db.executemany("INSERT OR IGNORE INTO holdouts VALUES (?, ?, ?, ?, ?)", ((playbook, member, arm, due, wrote_at) for (playbook, member), (arm, due, wrote_at) in holdout.exposures.items()))
                db.executemany("UPDATE holdouts SET wrote_at = ? WHERE playbook = ? AND member = ? AND wrote_at IS NULL", ((t, playbook, member) for playbook, member, t in holdout.wrote))
            recheck = evaluation.recheck
            pending = recheck.pending()
            db.executemany("DELETE FROM rechecks WHERE id = ?", ((task_id,) for task_id in recheck.consumed))
            db.executemany("INSERT OR REPLACE INTO rechecks VALUES (?, ?, ?)", ((payload["id"], payload["due"], dumps(payload)) for payload in pending))
            _save_history(db, evaluation, planner, {payload["id"] for payload in pending if payload.get("v") == 2})
            db.execute("INSERT OR REPLACE INTO meta VALUES ('timezone', ?)", (evaluation.community.timezone,))
            # What `playbook tasks` words its lists in, without the playbooks at hand.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('language', ?)", (getattr(evaluation.community, "language", "en"),))
            # The addresses the playbooks write: `playbook tasks list --format md` keeps them links.
            config = getattr(evaluation, "config", None)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('written_links', ?)", (dumps(sorted(config.links()) if config is not None else []),))
            if config is not None:
                # For `playbook report`: the actions a member can reply to (the replied rate's
                # base), and the playbooks by their titles.
                db.execute("INSERT OR REPLACE INTO meta VALUES ('awaits_reply', ?)", (dumps(sorted(name for name, kind in config.registry.actions.items() if kind.awaits_reply)),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('playbook_titles', ?)", (dumps({playbook.id: playbook.title for playbook in config.playbooks if playbook.title}),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('rule_titles', ?)", (dumps({rule.key: rule.title for rule in config.rules if rule.title}),))
            # The operators' names, by id: `playbook tasks list` heads their tasks with them.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('operators', ?)", (dumps({operator.id: operator.name for operator in getattr(evaluation.community, "operators", ())}),))
            # The stages and their labels, in the community's order: the report names them.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('stages', ?)", (dumps([[stage.stage, stage.label] for stage in getattr(evaluation.community, "lifecycle", ())]),))
            if evaluation.started:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('watermark', ?)", (repr(evaluation.now),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('clock_seq', ?)", (str(evaluation.clock.seq),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('watermark_events', ?)", (dumps(evaluation.watermark_events()),))
            # Tasks planned ahead and kept, due by the history's end: planned again, or taken back.
            said = {item[1] for item in (*planner.withdrawn, *planner.displaced, *planner.merged_away)}  # the run's summary names these
            self.ahead_gone = self._reconcile_ahead(evaluation.now, planner.new_history, said) if evaluation.started else []
            # Tasks due before the history's end that no longer hold as it ends: not delivered —
            # those earlier runs found too, while still to do (`tasks list` says so for 90 days).
            overtaken = {**self.overtaken(), **planner.overtaken}
            if overtaken:
                since = evaluation.now - 90 * 86400  # `tasks list` shows them as no longer needed, not late
                todo = {task_id for (task_id,) in db.execute("SELECT id FROM tasks WHERE status = 'todo' AND due >= ? AND id IN (SELECT value FROM json_each(?))", (since, dumps(list(overtaken))))}
                overtaken = {task_id: why for task_id, why in overtaken.items() if task_id in todo}
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (OVERTAKEN, dumps(overtaken)))
            # Events past --max-future that no later line confirmed: the next run reads them first.
            db.execute("INSERT OR REPLACE INTO meta VALUES ('unconfirmed', ?)", (dumps(evaluation.unconfirmed_rows()),))


_TABLE_NAMES = ("meta", "members", "groups", "timers", "trigger_state", "tasks", "rechecks", "deliveries", "stage_moves", "day_counts", "open_counts", "questions", "holdouts", "trigger_entries")
_SINCE_VERSION = {"rechecks": 5, "deliveries": 6, "stage_moves": 8, "day_counts": 8, "open_counts": 8, "questions": 8, "holdouts": 8, "trigger_entries": 10}  # tables an older state lacks until it is upgraded
_SINCE_8 = [statement for statement in _TABLES.split(";") if any(f"{name} (" in statement for name in ("stage_moves", "day_counts", "open_counts", "questions", "holdouts"))]
_RECHECKS = next(statement for statement in _TABLES.split(";") if "rechecks (" in statement)
_DELIVERIES = next(statement for statement in _TABLES.split(";") if "deliveries (" in statement)
_TRIGGER_ENTRIES = next(statement for statement in _TABLES.split(";") if "trigger_entries (" in statement)


def _save_history(db: sqlite3.Connection, evaluation: SavedRun, planner: Planner, left_open: set[str]) -> None:
    """What ``playbook report`` draws besides the tasks: the run's moves between stages, its
    questions and their first answers, and the summary's counts by local day.

    A run settles again the days the last run left open (``Planner.reopen``) and counts their
    tasks again: the counts of the tasks a run leaves open are kept apart, by task
    (``open_counts``), and the next run drops those of the tasks it settles again and adds the
    rest (kept as printed) to ``day_counts``. So a day's counts are those of the run that last
    settled it, however the history was cut into runs."""
    from datetime import date

    moves = evaluation.stage_moves
    if moves:
        db.executemany("INSERT INTO stage_moves VALUES (?, ?, ?, ?, ?)", moves)
    questions = evaluation.question_log
    if questions is not None:
        db.executemany("INSERT OR IGNORE INTO questions (key, group_id, asker, asked_at) VALUES (?, ?, ?, ?)", questions.asked)
        db.executemany("UPDATE questions SET answered_at = ?, answered_by = ? WHERE key = ? AND answered_at IS NULL", ((t, how, key) for key, t, how in questions.answered))
    if planner.day_counts is None:
        return
    final, kept_open = planner.tallies(left_open)
    day_text = {day: date.fromordinal(day).isoformat() for day in {key[0] for key in final} | {key[0] for _, key, _ in kept_open}}
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for (day, kind, reason, playbook), count in final.items():
        counts[(day_text[day], kind, reason, playbook)] += count
    # One pass over what the last run left open (a day or two of tasks; a scan by task each
    # would cost reopened × rows): what this run did not settle again stands.
    reopened = planner.reopened_ids
    for task_id, day, kind, reason, playbook, count in db.execute("SELECT task, day, kind, reason, playbook, count FROM open_counts"):
        if task_id not in reopened:
            counts[(day, kind, reason, playbook)] += count
    db.execute("DELETE FROM open_counts")
    db.executemany(
        "INSERT INTO day_counts VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, kind, reason, playbook) DO UPDATE SET count = count + excluded.count",
        ((*key, count) for key, count in counts.items() if count),
    )
    db.executemany("INSERT INTO open_counts VALUES (?, ?, ?, ?, ?, ?)", ((task_id, day_text[day], kind, reason, playbook, count) for task_id, (day, kind, reason, playbook), count in kept_open))
    # Only a row this run added to can have come to zero: looked up by key, not by a scan of every day.
    db.executemany("DELETE FROM day_counts WHERE day = ? AND kind = ? AND reason = ? AND playbook = ? AND count = 0", (key for key, count in counts.items() if count))


def task_data(record: Mapping[str, Any]) -> str:
    """What ``tasks.data`` holds of a printed task: its record (``Task.record``) as the JSON
    text ``--format jsonl`` writes, keys in the record's order."""
    try:
        return orjson.dumps(record).decode("utf-8")
    except TypeError:  # an integer beyond 64 bits, or a lone surrogate: escaped, still the same JSON
        return json.dumps(record, separators=(",", ":"))


def _check(store: StateStore, version: int) -> None:
    """Refuse, with one line, a state whose tables or clock a hand or a tool damaged: a run
    would otherwise stop half-way with a traceback."""
    path = store.path
    present = {name for (name,) in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [name for name in _TABLE_NAMES if name not in present and version >= _SINCE_VERSION.get(name, 1)]
    if missing:
        raise StateError(f"{path}: the state database has no {', '.join(missing)} table — it was left untouched; restore a backup or start a new state file")
    for key in ("watermark", "clock_seq"):
        value = store.meta(key)
        try:
            if value is not None:
                float(value)
        except ValueError:
            raise StateError(f"{path}: the state's {key} `{value}` is not a number — it was left untouched; restore a backup or start a new state file") from None


def _lock(path: str) -> int | None:
    """An exclusive lock on ``PATH.lock`` for the run that opens the state (released when it
    closes it, or by the system when the process ends, however it ends); None where the system
    has no advisory locks (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    descriptor = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise StateError(f"{path}: another run is using this state right now — wait for it to finish, then run again (two runs on one state would plan the same tasks twice)") from None
    return descriptor


def _local(store: StateStore, t: float | None) -> str | None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if t is None:
        return None
    return datetime.fromtimestamp(t, ZoneInfo(store.meta("timezone") or "UTC")).isoformat(timespec="seconds")


def describe_state(store: StateStore) -> str:
    """What the state holds, in the language of the community that wrote it."""
    says = words_for(store.meta("language")).state
    return says.summary.format(
        path=store.path,
        watermark=_local(store, store.watermark) or says.none_yet,
        members=store.member_count(),
        groups=_count(store, "groups"),
        timers=_count(store, "timers"),
        tasks=store.task_count(),
        messages=_count(store, "deliveries"),
        moves=_count(store, "stage_moves"),
        questions=_count(store, "questions"),
        answered=_count(store, "questions", "answered_at IS NOT NULL"),
        days=store.connection.execute("SELECT count(DISTINCT day) FROM day_counts").fetchone()[0],
    )


def _count(store: StateStore, table: str, where: str = "1") -> int:
    found: int = store.connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    return found


def describe_member(store: StateStore, member_id: str) -> str | None:
    """One member's saved state and the tasks planned for them, as indented JSON."""
    text = store.member_text(member_id)
    if text is None:
        return None
    data = {"id": member_id, **member_to_data(member_from_data(member_id, loads(text)))}
    for key in ("joined_at", "last_message_at", "stage_since"):
        data[key] = _local(store, data[key])
    data["marks"] = {key: _local(store, value) if key.endswith(("#due", "#fired", "@lifecycle")) and isinstance(value, float) else value for key, value in data["marks"].items()}
    if isinstance(data["marks"].get(TAG_EXPIRY), dict):  # when each tag given `for:` comes off
        data["marks"][TAG_EXPIRY] = {tag: _local(store, until) for tag, until in data["marks"][TAG_EXPIRY].items()}
    data["pending_timers"] = [
        {"due": _local(store, due), "handler": handler} for due, handler in store.connection.execute("SELECT due, handler FROM timers WHERE subject = ? ORDER BY due", (member_id,))
    ]
    data["planned_tasks"] = [
        {"id": task_id, "rule": rule, "action": action, "due": _local(store, due)}
        for task_id, rule, action, due in store.connection.execute("SELECT id, rule, action, due FROM tasks WHERE member = ? ORDER BY due, id", (member_id,))
    ]
    data["daily"] = {_day_text(day): count for day, count in data["daily"]}
    return json.dumps(data, ensure_ascii=False, indent=2)


def _day_text(ordinal: int) -> str:
    from datetime import date

    return date.fromordinal(ordinal).isoformat()


class _Transaction:
    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self) -> None:
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"the state database is busy ({exc}) — is another run using it?") from None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.connection.execute("COMMIT")
        else:
            self.connection.execute("ROLLBACK")


def _changed_groups(groups: Mapping[str, Group], loaded: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(id, JSON) of the groups to write: those new or changed since they were read."""
    for group in groups.values():
        data = dumps({"name": group.name, "channel": group.channel, "members": sorted(group.members), "messages": group.messages, "since": group.since})
        if loaded.get(group.id) != data:
            yield group.id, data


def _save_trigger_state(db: sqlite3.Connection, memory: Mapping[str, Any], loaded: Mapping[str, str] | None) -> None:
    """Write the triggers' memory: the keys that changed, and delete those gone; of a keyed
    store (``KeyedStore``), the entries that changed.

    A run reads the rows back in the table's order, which is the order its dict had: an
    upsert keeps a row where it is and adds a new key at the end, as the dict does. When the
    dict's order is another (a key taken out and put back), every row is written again.
    """
    for value in memory.values():
        if isinstance(value, KeyedStore):
            db.executemany("INSERT INTO trigger_entries VALUES (?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET data = excluded.data", value.changed())
            db.executemany("DELETE FROM trigger_entries WHERE store = ? AND key = ?", ((value.name, key) for key in value.removed))
    rows = {key: dumps(value) for key, value in memory.items() if not isinstance(value, KeyedStore)}
    kept = [key for key in loaded or () if key in rows]
    if loaded is None or kept + [key for key in rows if key not in loaded] != list(rows):
        db.execute("DELETE FROM trigger_state")
        db.executemany("INSERT INTO trigger_state VALUES (?, ?)", rows.items())
        return
    db.executemany("DELETE FROM trigger_state WHERE key = ?", ((key,) for key in loaded if key not in rows))
    db.executemany(
        "INSERT INTO trigger_state VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
        ((key, data) for key, data in rows.items() if loaded.get(key) != data),
    )


def _changed_members(members: Mapping[str, Member]) -> Iterator[tuple[str, bytes | str]]:
    """(id, JSON) of the members to write: those new or changed since they were loaded.

    The JSON is stored as a BLOB of UTF-8 bytes (orjson's own output: reading it back skips
    converting text to bytes), or as TEXT when only the json module could write it. A member
    an earlier version stored as TEXT is rewritten as a BLOB by the first run that loads it.
    """
    loaded = members.loaded if isinstance(members, LazyMembers) else {}
    for member in members.values():
        data = dump_record(member_record(member))
        if loaded.get(member.id) != data:
            yield member.id, data


class KeyedStore(dict[Any, Any]):
    """A trigger memory saved a row per key, read by key: ``get``, ``[key]``, ``in``, ``pop``,
    ``del``, ``setdefault`` and setting a key load what the state holds for that key first. Iterating it sees only
    the entries this run read or set: a store kept this way is one whose trigger asks by key
    (KEYED_STORES)."""

    def __init__(self, state: StateStore, name: str):
        super().__init__()
        self.name = name
        self._state = state
        self._read: dict[Any, str | None] = {}  # key → its row as read (None: not saved)
        self.removed: set[Any] = set()

    def _load(self, key: Any) -> None:
        if key in self._read or dict.__contains__(self, key):
            return
        text = self._read[key] = self._state.trigger_entry(self.name, key) if isinstance(key, str) else None
        if text is not None:
            dict.__setitem__(self, key, loads(text))

    def __missing__(self, key: Any) -> Any:
        self._load(key)
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self._load(key)
        return dict.__contains__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._load(key)
        return dict.get(self, key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._load(key)
        self.removed.discard(key)
        dict.__setitem__(self, key, value)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._load(key)
        if not dict.__contains__(self, key):
            self[key] = default
        return dict.__getitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self._load(key)
        if dict.__contains__(self, key) and self._read.get(key) is not None:
            self.removed.add(key)
        return dict.pop(self, key, *default)

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        self.pop(key)

    def changed(self) -> Iterator[tuple[str, Any, str]]:
        """(store, key, JSON) of the entries to write: set by this run to another value than saved."""
        for key, value in dict.items(self):
            data = dumps(value)
            if self._read.get(key) != data:
                yield self.name, key, data


class LazyMembers(dict[str, Member]):
    """Members by id, loaded from the state database the first time they are needed.

    ``loaded`` keeps the text each was loaded from: the save skips members a run only looked at
    (many a timer finds nothing to do). ``prefetch`` loads many at once, one query per few
    hundred instead of one each: the members a batch of saved timers or a fan-out will touch.
    """

    def __init__(self, store: StateStore):
        super().__init__()
        self._store = store
        self.loaded: dict[str, bytes | str] = {}
        self.loaded_stages: dict[str, str | None] = {}  # each loaded member's stage as saved (stage_totals)
        self._absent: set[str] = set()  # ids looked up and not saved: new members, group ids

    def __missing__(self, member_id: str) -> Member:
        if member_id in self._absent:
            raise KeyError(member_id)
        text = self._store.member_text(member_id)
        if text is None:
            self._absent.add(member_id)
            raise KeyError(member_id)
        return self._load(member_id, text)

    def _load(self, member_id: str, text: bytes | str) -> Member:
        # A BLOB is orjson's own output: nothing in it needs the json module to read back.
        try:
            member = self[member_id] = member_from_data(member_id, orjson.loads(text) if type(text) is bytes else loads(text))
        except (ValueError, TypeError, IndexError, KeyError) as exc:  # broad: a row edited by hand can be anything
            raise StateError(f"{self._store.path}: member {member_id} is damaged in the state ({type(exc).__name__}: {exc}) — the state was left untouched; restore a backup or start a new state file") from None
        self.loaded[member_id] = text
        self.loaded_stages[member_id] = member.stage
        return member

    def get(self, member_id: str, default: Any = None) -> Any:  # dict.get that loads
        try:
            return self[member_id]
        except KeyError:
            return default

    def prefetch(self, member_ids: Iterable[str]) -> None:
        """Load those of ``member_ids`` that are saved and not loaded yet."""
        wanted = [member_id for member_id in dict.fromkeys(member_ids) if member_id not in self and member_id not in self._absent]
        if not wanted:
            return
        for member_id, text in self._store.member_texts(wanted):
            self._load(member_id, text)
        self._absent.update(member_id for member_id in wanted if member_id not in self)
