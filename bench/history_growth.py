"""The same day after a short and after a long history: does a daily ``--state`` run grow with the past?

Issue 25, item 6: "a ``--state`` run of one day's events after 1 M events of history costs no
more than 1.5× the same day after 100k events (state reads and writes proportional to the
members and groups touched); memory ≤ 2 KB of state per member".

A fair comparison needs the *same* day after both histories. Each history is two parts:

- **the recent part**, identical in both: ``--recent-events`` over ``--recent-days`` in
  ``--groups`` groups (``generate.py``'s community, seed ``--seed``), ending the night before
  the measured day; the measured day is that community's next day (``generate.py --next-day``),
  the same file for both histories.
- **the past**, the rest of the history (100k or 1M events in all): older groups and members
  who are not in the measured day (ids prefixed ``p``: ``pm12`` in ``pg3``, messages
  ``pmsg-…``), at the recent part's density per day, per member and per group — so ten times
  the events is ten times as long a past, with ten times the members and groups. It ends
  ``--gap-days`` before the recent part begins: the timers of those members (silence, churn,
  stages) have fired or ended by the measured day. The bench checks that: it counts the pending
  timers of past members and groups that fall due in the measured day (none expected) and the
  past members the day loads.

Each history is run once with ``--state`` (cached under ``bench/out/``); then the day runs on a
fresh copy of each state, the two alternating, ``--repeat`` times each (CPU seconds of the
process; the median and the ratio of medians are reported, since the machine is shared). One
more run of each is instrumented: every SQLite statement the state layer executes is counted
with the rows it returned or changed, by table, and SQLite's own work by its virtual machine
steps (``set_progress_handler``), so "proportional to what is touched" is shown in rows, not
only in seconds. ``--profile`` also writes a cProfile of the day after each history.

Example: python bench/history_growth.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CHILD = sys.argv[1:2] == ["--child"]  # a measured run: it imports only what it measures
if not CHILD:
    from generate import GENERATOR_VERSION, Generator, Options, _count, renamed
    from run import OUT, ensure_stream, measure, playbook_paths, warm_up
    from state_increment import PER_MEMBER_TABLES, build_state, describe, per_member, state_path

PAST_PREFIX = "p"  # the past's ids: its members, groups, messages and activities apart (generate.renamed)


# -- the histories -----------------------------------------------------------------------


def recent_options(args: argparse.Namespace) -> Options:
    return Options(events=args.recent_events, members=args.recent_members, groups=args.groups, days=args.recent_days, seed=args.seed, start=args.start)


def past_options(args: argparse.Namespace, events: int) -> Options:
    """The past before the recent part, at its density: events, members, groups and days in proportion."""
    recent = recent_options(args)
    scale = events / recent.events
    days = max(1, round(recent.days * scale))
    return Options(
        events=events, members=max(10, round(recent.members * scale)), groups=max(1, round(recent.groups * scale)), days=days,
        seed=args.seed + 1, start=recent.start - timedelta(days=args.gap_days + days),
    )


def history_stream(args: argparse.Namespace, total: int) -> Path:
    """The history of ``total`` events: the past (renamed apart), then the recent part."""
    recent = recent_options(args)
    past = past_options(args, total - recent.events)
    path = OUT / (
        f"growth-v{GENERATOR_VERSION}-n{total}-recent{recent.events}-m{recent.members}-g{recent.groups}-d{recent.days}"
        f"-gap{args.gap_days}-s{args.seed}.jsonl"
    )
    if path.exists():
        return path
    print(f"  generating {path.name} (past: {past.events:,} events, {past.members:,} members, {past.groups} groups, {past.days} days from {past.start}) …", file=sys.stderr, flush=True)
    partial = path.with_name(path.name + ".partial")
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with open(partial, "w", encoding="utf-8") as stream:
        for record in Generator(past).events():
            stream.write(encode(renamed(record, PAST_PREFIX)) + "\n")  # the past: members, groups, messages apart
        with open(ensure_stream(recent), encoding="utf-8") as recent_stream:
            shutil.copyfileobj(recent_stream, stream)
    partial.replace(path)
    return path


# -- the measured child ------------------------------------------------------------------


class CountingConnection:
    """An ``sqlite3.Connection`` that counts, by table, the statements run through it, the rows
    they returned (read) or changed (written), and SQLite's virtual machine steps."""

    STEP = 100  # VM instructions per progress call

    def __init__(self, connection: Any):
        self._connection = connection
        self.statements: Counter[str] = Counter()
        self.read: Counter[str] = Counter()
        self.written: Counter[str] = Counter()
        self.steps: Counter[str] = Counter()
        self.current = "-"
        connection.set_progress_handler(self._progress, self.STEP)

    def _progress(self) -> int:
        self.steps[self.current] += self.STEP
        return 0

    @staticmethod
    def table(sql: str) -> str:
        found = re.search(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+(\w+)", sql, re.IGNORECASE)
        return found.group(1) if found else sql.split()[0].upper()

    def execute(self, sql: str, parameters: Any = ()) -> Any:
        table = self.current = self.table(sql)
        self.statements[table] += 1
        cursor = self._connection.execute(sql, parameters)
        if cursor.rowcount > 0:
            self.written[table] += cursor.rowcount
        return CountingCursor(cursor, self, table)

    def executemany(self, sql: str, rows: Any) -> Any:
        table = self.current = self.table(sql)
        cursor = self._connection.executemany(sql, rows)
        self.statements[table] += 1
        if cursor.rowcount > 0:
            self.written[table] += cursor.rowcount
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class CountingCursor:
    def __init__(self, cursor: Any, counter: CountingConnection, table: str):
        self._cursor, self._counter, self._table = cursor, counter, table

    def fetchone(self) -> Any:
        self._counter.current = self._table
        row = self._cursor.fetchone()
        if row is not None:
            self._counter.read[self._table] += 1
        return row

    def fetchall(self) -> list[Any]:
        self._counter.current = self._table
        rows = self._cursor.fetchall()
        self._counter.read[self._table] += len(rows)
        return rows

    def __iter__(self) -> Any:
        for row in self._cursor:
            self._counter.read[self._table] += 1
            yield row
            self._counter.current = self._table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def child_day(events: str, state: str, paths: list[str], counted: bool, profile: str | None) -> dict[str, Any]:
    """The day on ``state`` as ``state_increment`` runs it; ``counted``: with the SQLite counts."""
    from state_increment import child_state_run

    from playbook_engine.state import StateStore

    counters: list[CountingConnection] = []
    if counted:
        opened = StateStore.open.__func__  # type: ignore[attr-defined]

        def counting_open(cls: type, *args: Any, **kwargs: Any) -> Any:
            store = opened(cls, *args, **kwargs)
            counters.append(CountingConnection(store.connection))
            store.connection = counters[-1]
            return store

        StateStore.open = classmethod(counting_open)  # type: ignore[method-assign, assignment]
    captured: dict[str, Any] = {}
    import playbook_engine.runner as runner

    original = runner.RunResult.save_state

    def save_state(result: Any) -> None:  # the run's members, as the day leaves them
        members = result.evaluation.members
        captured["past_members_loaded"] = sum(1 for member_id in members if member_id.startswith(PAST_PREFIX))
        original(result)

    runner.RunResult.save_state = save_state  # type: ignore[method-assign]
    report = child_state_run(events, state, paths, profile)
    report["past_members_loaded"] = captured.get("past_members_loaded")
    if counters:
        counter = counters[0]
        report["sqlite"] = {"statements": dict(counter.statements), "read": dict(counter.read), "written": dict(counter.written), "steps": dict(counter.steps)}
    return report


# -- the benchmark -----------------------------------------------------------------------


def day_window(args: argparse.Namespace) -> tuple[float, float]:
    """The measured local day (+08:00) as epoch seconds [start, end)."""
    from datetime import datetime, timezone

    day = args.start + timedelta(days=args.recent_days)
    start = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(hours=8))).timestamp()
    return start, start + 86400


def due_in_day(state: Path, window: tuple[float, float]) -> dict[str, int]:
    """Pending timers of the state that fall due in the measured day: the recent part's, the past's."""
    import sqlite3

    connection = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT subject FROM timers WHERE due >= ? AND due < ?", window).fetchall()
    finally:
        connection.close()
    past = sum(1 for (subject,) in rows if subject.startswith(PAST_PREFIX))
    return {"recent": len(rows) - past, "past": past}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--histories", default="100k,1M", help="events of each history, comma-separated (default 100k,1M)")
    parser.add_argument("--recent-events", type=_count, default=50_000, help="events of the recent part, the same in every history (default 50k)")
    parser.add_argument("--recent-members", type=_count, default=30_000, help="population of the recent part (default 30k)")
    parser.add_argument("--recent-days", type=int, default=20, help="days of the recent part (default 20)")
    parser.add_argument("--groups", type=int, default=20, help="groups of the recent part (default 20)")
    parser.add_argument("--gap-days", type=int, default=120, help="days between the past's end and the recent part (default 120)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 3, 1), help="first day of the recent part (default 2026-03-01)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--day-events", type=_count, default=10_000, help="events of the measured day (default 10k)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of the day after each history, alternating (default 5)")
    parser.add_argument("--paths", default=str(ROOT / "playbooks"), help="playbook paths, comma-separated (default: playbooks/)")
    parser.add_argument("--rebuild", action="store_true", help="build the states anew even if cached")
    parser.add_argument("--timeout", type=float, default=7200, help="stop a state build after this many seconds (default 7200)")
    parser.add_argument("--profile", action="store_true", help="write a cProfile of the day after each history to bench/out/profile-growth-N.pstats")
    parser.add_argument("--json", metavar="FILE", help="write all measurements to FILE as JSON")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    warm_up()
    paths = playbook_paths("shipped", [item for item in args.paths.split(",") if item])
    totals = [_count(item) for item in args.histories.split(",") if item]
    if any(total <= args.recent_events for total in totals):
        parser.error("every history must be longer than --recent-events")
    day = ensure_stream(Options(**{**recent_options(args).__dict__, "next_day": args.day_events}))
    window = day_window(args)
    histories: list[dict[str, Any]] = []
    for total in totals:
        stream = history_stream(args, total)
        state = state_path(stream, paths)
        build = None
        if args.rebuild or not state.exists():
            build = build_state(stream, state, paths, args.timeout)
            if build is None:
                print(f"bench: the state build was stopped at the timeout ({args.timeout:.0f} s)", file=sys.stderr)
                return 1
        held = describe(state, paths)
        held["due_in_day"] = due_in_day(state, window)
        print(f"bench: {total:,} events → {state.name}: {held['members']:,} members, {held['groups']} groups, {held['timers']:,} timers, {held['tasks']:,} tasks, {held['file_mb']:.0f} MB", file=sys.stderr, flush=True)
        histories.append({"events": total, "stream": stream, "state": state, "held": held, "build": build, "runs": [], "counted": None})

    def day_run(history: dict[str, Any], counted: bool, profile: str | None = None) -> dict[str, Any] | None:
        copy = OUT / "growth-day.db"
        shutil.copy(history["state"], copy)
        argv = [sys.executable, __file__, "--child", str(day), str(copy), "1" if counted else "0", profile or "-", *paths]
        report = measure(argv, None)
        return None if report.get("timed_out") else report

    for history in histories:  # counted (and profiled) once each, untimed
        profile = str(OUT / f"profile-growth-{history['events']}.pstats") if args.profile else None
        history["counted"] = day_run(history, True, profile)
        if history["counted"] is None:
            return 1
    for attempt in range(args.repeat):
        for history in histories if attempt % 2 == 0 else reversed(histories):
            report = day_run(history, False)
            if report is None:
                return 1
            history["runs"].append(report)
            print(f"  day after {history['events']:,}: CPU {report['cpu']:.2f} s, wall {report['wall']:.2f} s · {report['summary']}", file=sys.stderr, flush=True)
    print(render(args, day, histories))
    if args.json:
        Path(args.json).write_text(json.dumps([{key: str(value) if isinstance(value, Path) else value for key, value in history.items()} for history in histories], ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def render(args: argparse.Namespace, day: Path, histories: list[dict[str, Any]]) -> str:
    recent = recent_options(args)
    lines = [
        f"## The same day ({args.day_events:,} events, {day.name}) after histories of {', '.join(format(h['events'], ',') for h in histories)} events",
        "",
        f"Recent part (the same in each): {recent.events:,} events, population {recent.members:,}, {recent.groups} groups, {recent.days} days from {recent.start}, seed {recent.seed};"
        f" the past ends {args.gap_days} days before it.",
        "",
        f"| history | members in the state | groups | bytes per member ({' + '.join(PER_MEMBER_TABLES)}) | pending timers | planned tasks | CPU s, median (range) | open + resume | read + evaluate | write + save | members loaded (of the past) | µs per member loaded | timers due in the day (of the past) | tasks |",
        "|---:" * 14 + "|",
    ]
    medians = []
    for history in histories:
        held, runs = history["held"], history["runs"]
        cpu = [run["cpu"] for run in runs]
        median = statistics.median(cpu)
        medians.append(median)
        sizes, members = held.get("table_bytes") or {}, max(held["members"], 1)
        kept = sum(sizes.get(table, 0) for table in PER_MEMBER_TABLES) / members if sizes else float("nan")

        def phase(*names: str, runs: list[dict[str, Any]] = runs) -> str:
            return f"{statistics.median(sum(run['phases'][name]['cpu'] for name in names) for run in runs):.2f}"

        counted = history["counted"]
        lines.append(
            f"| {history['events']:,} | {held['members']:,} | {held['groups']} | {kept:,.0f} | {held['timers']:,} | {held['tasks']:,} | {median:.2f} ({min(cpu):.2f}–{max(cpu):.2f}) "
            f"| {phase('open + resume')} | {phase('read + evaluate')} | {phase('write tasks', 'save state')} | {counted['members_loaded']:,} ({counted['past_members_loaded']:,}) "
            f"| {median / max(counted['members_loaded'], 1) * 1e6:,.0f} | {held['due_in_day']['recent'] + held['due_in_day']['past']:,} ({held['due_in_day']['past']:,}) | {counted['tasks']:,} |"
        )
    lines += ["", f"Ratio of medians, longest history to shortest: **{medians[-1] / medians[0]:.2f}×** (goal ≤ 1.5×).", ""]
    for history in histories:
        held = history["held"]
        lines.append(
            f"- {history['events']:,}: {per_member(held)} Read whole by every run: the groups' rows"
            f" {held.get('table_bytes', {}).get('groups', 0) / 1e3:,.0f} kB (pages), the triggers' memory {held['trigger_state_kb']:,.0f} kB (JSON)."
        )
    lines += ["", "SQLite, by table, in the instrumented run of the day (statements · rows read · rows written · VM steps):", ""]
    tables = sorted({table for history in histories for part in history["counted"]["sqlite"].values() for table in part})
    lines.append("| table | " + " | ".join(f"after {history['events']:,}" for history in histories) + " |")
    lines.append("|---" + "|---:" * len(histories) + "|")
    for table in tables:
        cells = []
        for history in histories:
            sqlite = history["counted"]["sqlite"]
            cells.append(" · ".join(f"{sqlite[part].get(table, 0):,}" for part in ("statements", "read", "written", "steps")))
        lines.append(f"| {table} | " + " | ".join(cells) + " |")
    totals = []
    for history in histories:
        sqlite = history["counted"]["sqlite"]
        totals.append(" · ".join(f"{sum(sqlite[part].values()):,}" for part in ("statements", "read", "written", "steps")))
    lines.append("| **all** | " + " | ".join(totals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if CHILD:  # a measured subprocess: see run.measure()
        events, state, counted, profile, *paths = sys.argv[2:]
        print(json.dumps(child_day(events, state, paths, counted == "1", None if profile == "-" else profile), ensure_ascii=False))
        from playbook_engine.cli import exit_now

        exit_now(0)
    sys.exit(main())
