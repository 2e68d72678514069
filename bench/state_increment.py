"""Benchmark a daily ``--state`` run: 10,000 new events on a state of about 100,000 members.

Issue 9: "a daily increment of 10,000 events on a state of 100,000 members takes under 3 s,
not a reload of history". Three steps, each in a fresh subprocess measured from outside
(wall, CPU = user + system, peak RSS from ``os.wait4``) and timed by phase inside:

1. **history → state.** A generated history (default 300,000 events over 90 days from a
   population of 300,000 of whom about 100,000 ever appear, 60 groups) run once with
   ``--state``. The state file is cached under ``bench/out/`` (git-ignored), named by the
   stream, a digest of the playbooks and the state schema version; ``--rebuild`` makes it anew.
2. **the next day.** ``generate.py --next-day 10k``: the day after the history in the same
   community (same member ids, conversations continuing, new members joining).
3. **the increment**, on a copy of the state: load the playbooks, open the state, read the
   day's events, run, write the tasks as JSON Lines to /dev/null, save the state — what
   ``playbook run playbooks --events DAY --state STATE --format jsonl --out /dev/null``
   does — repeated ``--repeat`` times on fresh copies.

The increment runs with the profiler off unless ``--profile`` (then the first one is slower).

Example: python bench/state_increment.py --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CHILD = sys.argv[1:2] == ["--child"]  # a measured run: it imports only what it measures
if not CHILD:
    from generate import Options, _count
    from run import OUT, ensure_stream, measure, playbook_paths, warm_up


def history_options(args: argparse.Namespace) -> Options:
    return Options(events=args.history_events, members=args.population, groups=args.groups, days=args.days, seed=args.seed)


def state_path(history: Path, paths: list[str]) -> Path:
    """The cached state built from ``history``: named by the stream, the playbooks and the schema."""
    from playbook_engine.state import SCHEMA_VERSION

    digest = hashlib.sha256()
    for file in sorted(file for path in paths for file in Path(path).glob("*.yaml")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return OUT / f"state-{history.stem}-p{digest.hexdigest()[:8]}-v{SCHEMA_VERSION}.db"


def describe(path: Path, paths: list[str]) -> dict[str, Any]:
    """What a state file holds, and how much of its task history a run continuing it reads."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        def count(table: str) -> int:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        trigger_bytes = connection.execute("SELECT coalesce(sum(length(data)), 0) FROM trigger_state").fetchone()[0]
        held = {
            "members": count("members"), "groups": count("groups"), "timers": count("timers"), "tasks": count("tasks"),
            "trigger_state_kb": trigger_bytes / 1e3, "file_mb": path.stat().st_size / 1e6,
            "table_bytes": table_bytes(connection),
        }
    finally:
        connection.close()
    try:
        from playbook_engine.loading import load_config
        from playbook_engine.plugins import load_registry
        from playbook_engine.state import Lookback, StateStore
    except ImportError:  # an engine before the bounded history reads all of it
        held["history_read"] = held["tasks"]
        return held
    store = StateStore.open(str(path))
    try:
        held["history_read"] = len(store.history(Lookback.of(load_config(paths, load_registry(entrypoints=False)))))
    finally:
        store.close()
    return held


def table_bytes(connection: sqlite3.Connection) -> dict[str, int]:
    """Bytes of pages each table of the state holds, its indexes included (SQLite's ``dbstat``;
    empty if this SQLite lacks it)."""
    try:
        pages = connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:
        return {}
    owner = dict(connection.execute("SELECT name, tbl_name FROM sqlite_master"))
    sizes: dict[str, int] = {}
    for name, size in pages:
        table = owner.get(name, name)
        sizes[table] = sizes.get(table, 0) + int(size)
    return sizes


# Tables that hold rows by member (the member record, its pending timers, its moves between
# stages, the triggers' entries by member such as the text variant each last got — since
# state version 10): what a member costs the state, apart from the tasks planned for them.
PER_MEMBER_TABLES = ("members", "timers", "stage_moves", "trigger_entries")


def per_member(held: dict[str, Any]) -> str:
    sizes, members = held.get("table_bytes") or {}, max(held["members"], 1)
    if not sizes:
        return "Bytes per member: not measured (this SQLite has no dbstat)."
    kept = sum(sizes.get(table, 0) for table in PER_MEMBER_TABLES)
    return (
        f"Bytes per member: {kept / members:,.0f} kept by member ({', '.join(f'{table} {sizes.get(table, 0) / members:,.0f}' for table in PER_MEMBER_TABLES)}); "
        f"the planned tasks {sizes.get('tasks', 0) / members:,.0f}; the whole file {held['file_mb'] * 1e6 / members:,.0f}."
    )


# -- the measured child ------------------------------------------------------------------


def child_state_run(events: str, state: str, paths: list[str], profile: str | None = None) -> dict[str, Any]:
    """One ``--state`` run, phase by phase: the steps of ``playbook_engine.runner.run`` and the CLI."""
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    phases: dict[str, dict[str, float]] = {}
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        phases[name] = {"wall": wall - clock[0], "cpu": cpu - clock[1]}
        clock[:] = [wall, cpu]

    from playbook_engine.api import source_options
    from playbook_engine.loading import load_config
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import read_source, run
    from playbook_engine.state import StateStore

    registry = load_registry(entrypoints=False)
    config = load_config(paths, registry)
    tz = config.community.tz
    lap("load playbooks")

    def timed(items: Any) -> Any:
        # run() resumes from the state before it asks for the first event.
        first = True
        for item in items:
            if first:
                lap("open + resume")
                first = False
            yield item

    store = StateStore.open(state)
    result = run(config, timed(read_source(registry, "jsonl", events, source_options(None, tz))), state=store, keep_suppressed=False)  # as the command line does
    if "open + resume" not in phases:  # no events
        lap("open + resume")
    lap("read + evaluate")
    with open(os.devnull, "w", encoding="utf-8") as stream:
        registry.formats["jsonl"].write(result.tasks, stream, {"tz": tz, "title": "bench", "width": None})
    lap("write tasks")
    result.save_state()
    lap("save state")
    store.close()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    evaluation = result.evaluation
    return {
        "phases": phases,
        "events": evaluation.counts["read"],
        "accepted": evaluation.counts["accepted"],
        "members_loaded": len(evaluation.members),
        "timers_read": getattr(evaluation.clock, "read", None),
        "timers_fired": evaluation.clock.fired,
        "timers_scheduled": evaluation.clock.scheduled,
        "firings": evaluation.counts["fired"],
        "tasks": len(result.tasks),
        "summary": result.summary(),
    }


# -- the benchmark -----------------------------------------------------------------------


def build_state(history: Path, target: Path, paths: list[str], timeout: float) -> dict[str, Any] | None:
    """Run the history once with --state into ``target`` (via a partial file); its measurement."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    print(f"  building {target.name} from {history.name} (one --state run over the whole history) …", file=sys.stderr, flush=True)
    report = measure([sys.executable, __file__, "--child", str(history), str(partial), *paths], timeout)
    if report.get("timed_out"):
        partial.unlink(missing_ok=True)
        return None
    partial.replace(target)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--history-events", type=_count, default=300_000, help="events of the history (default 300k)")
    parser.add_argument("--population", type=_count, default=300_000, help="member population of the generator (default 300k: about 100k of them appear)")
    parser.add_argument("--groups", type=int, default=60)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--increment", type=_count, default=10_000, help="events of the next day (default 10k)")
    parser.add_argument("--repeat", type=int, default=3, help="increment runs, each on a fresh copy of the state (default 3)")
    parser.add_argument("--paths", default=str(ROOT / "playbooks"), help="playbook paths, comma-separated (default: playbooks/)")
    parser.add_argument("--rebuild", action="store_true", help="build the state anew even if it is cached")
    parser.add_argument("--timeout", type=float, default=3600, help="stop the state build after this many seconds (default 3600)")
    parser.add_argument("--json", metavar="FILE", help="write all measurements to FILE as JSON")
    parser.add_argument("--profile", action="store_true", help="also write a cProfile of the first increment to bench/out/profile-increment.pstats")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    warm_up()
    paths = playbook_paths("shipped", [item for item in args.paths.split(",") if item])
    options = history_options(args)
    history = ensure_stream(options)
    day = ensure_stream(Options(**{**options.__dict__, "next_day": args.increment}))
    state = state_path(history, paths)
    build = None
    if args.rebuild or not state.exists():
        build = build_state(history, state, paths, args.timeout)
        if build is None:
            print(f"bench: the state build was stopped at the timeout ({args.timeout:.0f} s)", file=sys.stderr)
            return 1
        print(f"  built: {build['summary']}", file=sys.stderr, flush=True)
    held = describe(state, paths)
    print(f"bench: state {state.name}: {held['members']:,} members, {held['timers']:,} timers, {held['tasks']:,} tasks, {held['file_mb']:.0f} MB", file=sys.stderr, flush=True)

    runs = []
    for attempt in range(args.repeat):
        copy = OUT / "state-increment.db"
        shutil.copy(state, copy)
        argv = [sys.executable, __file__, "--child", str(day), str(copy), *paths]
        if args.profile and attempt == 0:
            argv += ["--profile", str(OUT / "profile-increment.pstats")]
        report = measure(argv, None)
        if report.get("timed_out"):
            return 1
        runs.append(report)
        print(f"  increment {attempt + 1}: CPU {report['cpu']:.2f} s, wall {report['wall']:.2f} s, peak {report['peak_mb']:.0f} MB · {report['summary']}", file=sys.stderr, flush=True)
    print(render(options, args.increment, held, build, runs))
    if args.json:
        Path(args.json).write_text(json.dumps({"state": held, "build": build, "increments": runs}, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def render(options: Options, increment: int, held: dict[str, Any], build: dict[str, Any] | None, runs: list[dict[str, Any]]) -> str:
    lines = [
        f"## --state: a daily increment of {increment:,} events",
        "",
        f"History: {options.events:,} events, population {options.members:,}, {options.groups} groups, {options.days} days, seed {options.seed}.",
        f"State: {held['members']:,} members, {held['groups']} groups, {held['timers']:,} pending timers, {held['tasks']:,} planned tasks, "
        f"trigger memory {held['trigger_state_kb']:,.0f} kB, file {held['file_mb']:.0f} MB.",
        per_member(held),
    ]
    if build is not None:
        lines.append(f"Built in CPU {build['cpu']:.0f} s (wall {build['wall']:.0f} s), peak {build['peak_mb']:.0f} MB.")
    lines.append(f"A run continuing it reads {held['history_read']:,} of the {held['tasks']:,} planned tasks back for the guardrails.")
    lines += ["", "| run | CPU s | wall s | peak MB | " + " | ".join(f"{name} CPU (wall)" for name in runs[0]["phases"]) + " | members loaded | timers read | timers fired | tasks |"]
    lines.append("|---:" * (4 + len(runs[0]["phases"]) + 4) + "|")
    for number, run in enumerate(runs, 1):
        phases = " | ".join(f"{phase['cpu']:.2f} ({phase['wall']:.2f})" for phase in run["phases"].values())
        read = "all" if run.get("timers_read") is None else f"{run['timers_read']:,}"
        lines.append(f"| {number} | {run['cpu']:.2f} | {run['wall']:.2f} | {run['peak_mb']:.0f} | {phases} | {run['members_loaded']:,} | {read} | {run['timers_fired']:,} | {run['tasks']:,} |")
    best = min(runs, key=lambda run: run["cpu"])
    lines += ["", f"Best: CPU {best['cpu']:.2f} s, wall {best['wall']:.2f} s (target: under 3 s). {best['summary']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    if CHILD:  # a measured subprocess: see run.measure()
        events, state, *paths = sys.argv[2:]
        profile = None
        if "--profile" in paths:
            index = paths.index("--profile")
            profile = paths[index + 1]
            del paths[index : index + 2]
        print(json.dumps(child_state_run(events, state, paths, profile), ensure_ascii=False))
        from playbook_engine.cli import exit_now

        exit_now(0)  # as `playbook run` ends: without tearing the interpreter down
    sys.exit(main())
