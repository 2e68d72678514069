"""Benchmark the engine over generated community streams: throughput, memory, linearity, timers.

For each size, the stream is generated once (cached under ``bench/out/``, git-ignored) and two
fresh subprocesses read it: a plain ``orjson`` parse of every line (the yardstick, measured in
the same run), then the dry run of every playbook under the playbook paths (``playbooks/`` by
default) through the Python API — load, read, evaluate, plan, write JSON Lines to /dev/null,
which is what ``playbook run … --format jsonl --out /dev/null`` does. Wall time and the
subprocess's own peak RSS (``os.wait4``) are measured from outside; the engine's counters
(timers scheduled and fired, members, tasks) are reported from inside.

Linearity: the ratio of times for 10× the events (consecutive sizes), and for 10× the members
with the same events (``--members-check``, each stream ``--repeat`` times, the fastest
counting). ``--side-by-side`` measures both ratios again with the two runs at once, one per
core — the smaller stream back to back while the larger runs once, the members check in pairs
started together — so that a machine whose speed drifts slows both sides alike.

``--variant uncapped`` runs the same playbooks with a copy of community.yaml whose operators
have no daily ``capacity``, to separate evaluation cost from the capacity guardrail.

Example: python bench/run.py --sizes 10k,100k,1M
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

CHILD = sys.argv[1:2] == ["--child"]  # a measured run: it imports only what it measures
if not CHILD:
    from generate import GENERATOR_VERSION, Options, _count, generate_file

DAYS = 90


# -- streams -----------------------------------------------------------------------------


def stream_options(events: int, members: int | None = None, seed: int = 1, days: int = DAYS) -> Options:
    """The standard shape: members = events / 10, groups = events / 5000 (1M: 100k members, 200 groups)."""
    return Options(events=events, members=members or max(10, events // 10), groups=max(2, events // 5000), days=days, seed=seed)


def stream_path(options: Options) -> Path:
    day_after = f"-next{options.next_day}" if options.next_day else ""
    return OUT / f"events-v{GENERATOR_VERSION}-n{options.events}-m{options.members}-g{options.groups}-d{options.days}-s{options.seed}{day_after}.jsonl"


def ensure_stream(options: Options) -> Path:
    path = stream_path(options)
    if not path.exists():
        started = time.perf_counter()
        print(f"  generating {path.name} …", file=sys.stderr, flush=True)
        generate_file(options, path)
        print(f"  generated in {time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr, flush=True)
    return path


def playbook_paths(variant: str, paths: list[str]) -> list[str]:
    """A snapshot of the playbook paths under bench/out/, so every size of one run sees the same files.

    For ``uncapped``, community.yaml's operators lose their daily ``capacity``.
    """
    import yaml

    target = OUT / f"playbooks-{variant}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in paths:
        source = Path(path)
        for file in sorted(source.glob("*.yaml")) if source.is_dir() else [source]:
            if file.name == "community.yaml" and variant == "uncapped":
                data = yaml.safe_load(file.read_text(encoding="utf-8"))
                for operator in data["community"].get("operators", []):
                    operator.pop("capacity", None)
                (target / file.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
            else:
                shutil.copy(file, target / file.name)
    return [str(target)]


# -- subprocesses ------------------------------------------------------------------------


def measure(argv: list[str], timeout: float | None, max_memory_mb: int | None = None) -> dict[str, Any]:
    """Run a child; its JSON report plus wall seconds and peak RSS in MB, or ``timed_out``/``failed``.

    ``max_memory_mb`` caps the child's address space, so a run whose memory explodes fails
    with a MemoryError instead of pushing a shared machine into swap.
    """
    child = Child(argv, max_memory_mb)
    deadline = None if timeout is None else child.started + timeout
    while (report := child.poll()) is None:
        if deadline is not None and time.perf_counter() > deadline:
            return child.kill()
        time.sleep(0.05)
    return report


class Child:
    """A measured subprocess, started at once; ``poll()`` gives its report when it has ended."""

    def __init__(self, argv: list[str], max_memory_mb: int | None = None):
        def limit() -> None:
            if max_memory_mb:
                import resource

                resource.setrlimit(resource.RLIMIT_AS, (max_memory_mb << 20, max_memory_mb << 20))

        self.argv = argv
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=limit, env=child_environment())

    def poll(self) -> dict[str, Any] | None:
        pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        if not pid:
            return None
        wall = time.perf_counter() - self.started
        self.process.returncode = os.waitstatus_to_exitcode(status)
        output = self.process.stdout.read() if self.process.stdout else ""
        cpu = usage.ru_utime + usage.ru_stime
        if self.process.returncode != 0:
            print(f"  child failed (exit {self.process.returncode}): {' '.join(self.argv)}", file=sys.stderr)
            return {"timed_out": True, "failed": self.process.returncode, "wall": wall, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024}
        report = json.loads(output.strip().splitlines()[-1])
        # CPU time (user + system) is what the tables use: on a shared machine wall time also
        # counts the time other processes held the cores.
        report.update(wall=wall, cpu=cpu, peak_mb=usage.ru_maxrss / 1024)
        return report

    def kill(self) -> dict[str, Any]:
        os.killpg(self.process.pid, signal.SIGKILL)
        _, _, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = -9
        return {"timed_out": True, "wall": time.perf_counter() - self.started, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def child_environment() -> dict[str, str]:
    """The measured children's environment: this one, with Python's bytecode cache allowed.

    An installed engine runs from compiled bytecode (pip compiles it at install time); a
    machine with PYTHONDONTWRITEBYTECODE set would otherwise compile every module again in
    every measured run. The first import (``warm_up``) writes the cache.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def warm_up() -> None:
    """Import the engine once, unmeasured, so that its bytecode is cached before any measured run."""
    subprocess.run([sys.executable, "-c", "import playbook_engine.cli, playbook_engine.loading, playbook_engine.runner, playbook_engine.state, playbook_engine.output, playbook_plugins"], check=True, env=child_environment(), cwd=ROOT)


def child_orjson(path: str) -> dict[str, Any]:
    import orjson

    started, cpu_started = time.perf_counter(), time.process_time()
    count = 0
    loads = orjson.loads
    with open(path, "rb") as stream:
        for line in stream:
            loads(line)
            count += 1
    return {"events": count, "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}


def child_engine(path: str, paths: list[str], profile: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    from playbook_engine.api import source_options
    from playbook_engine.loading import load_config
    from playbook_engine.output import write_tasks
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import plan, read_source

    registry = load_registry(entrypoints=False)
    config = load_config(paths, registry)
    tz = config.community.tz
    loaded = time.perf_counter()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    # As `playbook run --format jsonl` does: tasks are written while the run goes on.
    stream = plan(config, read_source(registry, "jsonl", path, source_options(None, tz)), keep_suppressed=False)
    write_tasks(registry, "jsonl", stream, os.devnull, {"tz": tz, "title": "bench", "width": None})
    result = stream.result
    evaluated = written = time.perf_counter()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    evaluation = result.evaluation
    return {
        "events": result.counts["read"],
        "accepted": result.counts["accepted"],
        "rejected": result.counts["rejected"],
        "playbooks": len(config.playbooks),
        "rules": sum(len(playbook.rules) for playbook in config.playbooks),
        "members": len(evaluation.members),
        "groups": len(evaluation.groups),
        "timers_scheduled": evaluation.clock.scheduled,
        "timers_fired": evaluation.clock.fired,
        "timers_pending": len(evaluation.clock),
        "firings": result.counts["fired"],
        "tasks": result.tally.total,
        "suppressed": sum(result.planner.suppressed_counts.values()),
        "moved": dict(result.moved),
        "load_seconds": loaded - started,
        "evaluate_seconds": evaluated - loaded,  # evaluation and writing, interleaved
        "write_seconds": written - evaluated,
        "summary": result.summary(),
    }


# -- the benchmark -----------------------------------------------------------------------


def bench_one(options: Options, paths: list[str], timeout: float | None, profile: str | None = None, max_memory_mb: int | None = None) -> dict[str, Any]:
    path = ensure_stream(options)
    size_mb = path.stat().st_size / 1e6
    parse = measure([sys.executable, __file__, "--child", "orjson", str(path)], None)
    argv = [sys.executable, __file__, "--child", "engine", str(path), *paths]
    if profile:
        argv += ["--profile", profile]
    engine = measure(argv, timeout, max_memory_mb)
    return {"options": options, "file_mb": size_mb, "orjson": parse, "engine": engine, "engine_cpu": [engine["cpu"]]}


def bench_alternating(all_options: list[Options], paths: list[str], timeout: float | None, max_memory_mb: int | None, repeat: int) -> list[dict[str, Any]]:
    """Each stream ``repeat`` times, taking turns, keeping each one's fastest run (and every
    run's CPU time): on a shared machine one pair of runs can differ by half for nothing."""
    rows: list[dict[str, Any]] = []
    for attempt in range(repeat):
        for index, options in enumerate(all_options):
            row = bench_one(options, paths, timeout, None, max_memory_mb)
            if attempt == 0:
                rows.append(row)
                continue
            best = rows[index]
            best["engine_cpu"].append(row["engine"]["cpu"])
            if row["orjson"]["cpu_seconds"] < best["orjson"]["cpu_seconds"]:
                best["orjson"] = row["orjson"]
            if not row["engine"].get("timed_out") and row["engine"]["cpu"] < best["engine"]["cpu"]:
                best["engine"] = row["engine"]
    return rows


def engine_argv(options: Options, paths: list[str]) -> list[str]:
    return [sys.executable, __file__, "--child", "engine", str(ensure_stream(options)), *paths]


def side_by_side(larger: list[str], smaller: list[str], timeout: float | None, max_memory_mb: int | None = None) -> dict[str, Any]:
    """Run ``larger`` once while ``smaller`` runs back to back on the other core.

    Both see the same machine, whatever else it is doing meanwhile, so their ratio is the
    engine's and not the machine's drift. Only the smaller runs that ended before the larger
    one count (the last one, which overran it, is used only if none did).
    """
    big = Child(larger, max_memory_mb)
    deadline = None if timeout is None else big.started + timeout
    small = Child(smaller, max_memory_mb)
    big_report: dict[str, Any] | None = None
    inside: list[float] = []
    while True:
        if big_report is None:
            big_report = big.poll()
            if big_report is None and deadline is not None and time.perf_counter() > deadline:
                big_report = big.kill()
        report = small.poll()
        if report is None and big_report is not None and deadline is not None and time.perf_counter() > deadline:
            report = small.kill()
        if report is not None:
            if report.get("timed_out"):
                if big_report is None:
                    big.kill()
                return {"failed": True}
            if big_report is None:
                inside.append(report["cpu"])
                small = Child(smaller, max_memory_mb)
            else:
                if not inside:
                    inside.append(report["cpu"])
                break
        time.sleep(0.05)
    if big_report.get("timed_out"):
        return {"failed": True}
    return {"larger": big_report["cpu"], "smaller": inside}


def bench_pairs(pair: list[list[str]], timeout: float | None, max_memory_mb: int | None, repeat: int) -> list[float]:
    """The CPU-time ratio of the second run to the first, ``repeat`` times, both started
    together, one per core: each ratio is measured on the same machine at the same moment."""
    ratios = []
    for _ in range(repeat):
        children = [Child(argv, max_memory_mb) for argv in pair]
        deadline = None if timeout is None else children[0].started + timeout
        reports: list[dict[str, Any] | None] = [None, None]
        while None in reports:
            reports = [report if report is not None else child.poll() for child, report in zip(children, reports, strict=True)]
            if None in reports and deadline is not None and time.perf_counter() > deadline:
                reports = [report if report is not None else child.kill() for child, report in zip(children, reports, strict=True)]
            time.sleep(0.05)
        finished = [report for report in reports if report is not None]  # all of them, once the loop ends
        if not any(report.get("timed_out") for report in finished):
            ratios.append(finished[1]["cpu"] / finished[0]["cpu"])
    return ratios


def format_row(row: dict[str, Any]) -> str:
    options, parse, engine = row["options"], row["orjson"], row["engine"]
    orjson_rate = options.events / parse["cpu_seconds"]
    head = f"| {_short(options.events)} | {_short(options.members)} | {options.groups} | {row['file_mb']:.0f} | {orjson_rate:,.0f} "
    if engine.get("timed_out"):
        how = f"failed (exit {engine['failed']})" if engine.get("failed") else "stopped"
        return head + f"| > {engine['cpu']:.0f} ({how}, wall {engine['wall']:.0f}) | — | — | ≥ {engine['peak_mb']:.0f} |"
    rate = options.events / engine["cpu"]
    return head + f"| {engine['cpu']:.1f} (wall {engine['wall']:.1f}) | {rate:,.0f} | 1/{orjson_rate / rate:.0f} | {engine['peak_mb']:.0f} |"


def timer_row(row: dict[str, Any]) -> str:
    options, engine = row["options"], row["engine"]
    if engine.get("timed_out"):
        return f"| {_short(options.events)} | {options.members:,} | — | {options.members * options.days:,} | — | — | — |"
    return (
        f"| {_short(options.events)} | {engine['members']:,} | {options.days} | {engine['members'] * options.days:,} "
        f"| {engine['timers_scheduled']:,} | {engine['timers_fired']:,} | {engine['firings']:,} |"
    )


def _short(number: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if number >= size and number % (size // 10 or 1) == 0:
            value = number / size
            return f"{value:g}{unit}"
    return str(number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated event counts (default 10k,100k,1M)")
    parser.add_argument("--members-check", default="10k", help="events for the 10×-members check (default 10k; 'off' to skip)")
    parser.add_argument("--paths", default=str(ROOT / "playbooks"), help="playbook paths, comma-separated (default: playbooks/)")
    parser.add_argument("--variant", choices=("shipped", "uncapped"), default="shipped", help="uncapped: operators without daily capacity")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="stop an engine run after this many seconds (default 900)")
    parser.add_argument("--max-memory", type=int, default=6000, metavar="MB", help="address-space cap of an engine run (default 6000 MB)")
    parser.add_argument("--profile", metavar="SIZE", help="also write a cProfile of the engine run of this size to bench/out/")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each stream of the members check, taking turns; the fastest counts (default 3)")
    parser.add_argument("--side-by-side", action="store_true", help="also measure each ratio with both runs at once, one per core (see bench/README.md)")
    parser.add_argument("--json", metavar="FILE", help="write all measurements to FILE as JSON")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    warm_up()
    paths = playbook_paths(args.variant, [item for item in args.paths.split(",") if item])
    sizes = [_count(item) for item in args.sizes.split(",") if item.strip()]
    profile_size = _count(args.profile) if args.profile else None
    rows: list[dict[str, Any]] = []
    files = sorted(file.name for path in paths for file in Path(path).glob("*.yaml"))
    print(f"bench: {len(files)} files: {', '.join(files)}", file=sys.stderr)
    print(f"bench: playbooks {', '.join(paths)} ({args.variant}), {DAYS} days, seed {args.seed}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", file=sys.stderr)
    for size in sizes:
        options = stream_options(size, seed=args.seed)
        profile = str(OUT / f"profile-{_short(size)}.pstats") if size == profile_size else None
        print(f"bench: {_short(size)} events …", file=sys.stderr, flush=True)
        row = bench_one(options, paths, args.timeout, profile, args.max_memory)
        rows.append(row)
        print("  " + format_row(row), file=sys.stderr, flush=True)
        if not row["engine"].get("timed_out"):
            print("  engine: " + row["engine"]["summary"], file=sys.stderr, flush=True)

    member_rows: list[dict[str, Any]] = []
    if args.members_check != "off":
        events = _count(args.members_check)
        checked = [stream_options(events, members=members, seed=args.seed) for members in (max(10, events // 10), max(10, events // 10) * 10)]
        print(f"bench: {_short(events)} events, {checked[0].members:,} and {checked[1].members:,} members, {args.repeat} runs each, taking turns …", file=sys.stderr, flush=True)
        member_rows = bench_alternating(checked, paths, args.timeout, args.max_memory, args.repeat)
        for row in member_rows:
            print("  " + format_row(row), file=sys.stderr, flush=True)

    side: list[str] = []
    if args.side_by_side:
        if (os.cpu_count() or 1) < 2:
            print("bench: --side-by-side needs two CPUs", file=sys.stderr)
            return 2
        for smaller, larger in itertools.pairwise(rows):
            small, large = smaller["options"], larger["options"]
            print(f"bench: {_short(large.events)} events once, {_short(small.events)} back to back beside it …", file=sys.stderr, flush=True)
            result = side_by_side(engine_argv(large, paths), engine_argv(small, paths), args.timeout, args.max_memory)
            if result.get("failed"):
                side.append(f"- {large.events / small.events:g}× events ({_short(small.events)} → {_short(large.events)}), side by side: not measured (a run failed)")
                continue
            mean = sum(result["smaller"]) / len(result["smaller"])
            side.append(
                f"- {large.events / small.events:g}× events ({_short(small.events)} → {_short(large.events)}), side by side: {_short(large.events)} once, "
                f"{result['larger']:.1f} CPU s, while {_short(small.events)} ran {len(result['smaller'])} times on the other core "
                f"({min(result['smaller']):.1f}–{max(result['smaller']):.1f} s, mean {mean:.2f} s): × {result['larger'] / mean:.2f}; target ≤ 11×"
            )
        if len(member_rows) == 2:
            print(f"bench: the members check again, {args.repeat} pairs started together …", file=sys.stderr, flush=True)
            pairs = bench_pairs([engine_argv(row["options"], paths) for row in member_rows], args.timeout, args.max_memory, args.repeat)
            if pairs:
                side.append(f"- 10× members, side by side: {len(pairs)} pairs started together, CPU time × {statistics.median(pairs):.2f} (median; {min(pairs):.2f}–{max(pairs):.2f}); target ≤ 1.5×")
        for line in side:
            print("  " + line, file=sys.stderr, flush=True)

    print(report(rows, member_rows, args.variant, side))
    if args.json:
        Path(args.json).write_text(json.dumps([_plain(row) for row in rows + member_rows], ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def report(rows: list[dict[str, Any]], member_rows: list[dict[str, Any]], variant: str, side: list[str] = ()) -> str:
    lines = [f"## Throughput ({variant} community.yaml)", ""]
    lines.append("| events | members | groups | file MB | orjson events/s (CPU) | engine CPU s | engine events/s (CPU) | engine ÷ orjson | peak MB |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines += [format_row(row) for row in rows + member_rows]
    lines += ["", "## Linearity", ""]
    for smaller, larger in itertools.pairwise(rows):
        lines.append(_ratio_line(smaller, larger, f"{larger['options'].events / smaller['options'].events:g}× events ({_short(smaller['options'].events)} → {_short(larger['options'].events)})", "target ≤ 11×"))
    if len(member_rows) == 2:
        small, large = member_rows
        lines.append(_ratio_line(small, large, f"10× members, same {_short(small['options'].events)} events ({small['options'].members:,} → {large['options'].members:,})", "target ≤ 1.5×"))
    lines += side
    lines += ["", "## Timers vs members × days (issue 4)", ""]
    lines.append("| events | members seen | days | members × days | timers scheduled | timers fired | rule firings |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    lines += [timer_row(row) for row in rows + member_rows]
    return "\n".join(lines)


def _ratio_line(small: dict[str, Any], large: dict[str, Any], label: str, target: str) -> str:
    if small["engine"].get("timed_out") or large["engine"].get("timed_out"):
        return f"- {label}: not measured (a run was stopped at the timeout)"
    ratio = large["engine"]["cpu"] / small["engine"]["cpu"]
    evaluate = large["engine"]["evaluate_seconds"] / small["engine"]["evaluate_seconds"]
    runs = ""
    if len(small["engine_cpu"]) > 1:
        def spread(row: dict[str, Any]) -> str:
            return f"{min(row['engine_cpu']):.2f}–{max(row['engine_cpu']):.2f} s"

        runs = f"; fastest of {len(small['engine_cpu'])} runs each, {spread(small)} and {spread(large)}"
    return f"- {label}: CPU time × {ratio:.2f} (evaluation alone, wall × {evaluate:.2f}{runs}); {target}"


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    options = row["options"]
    return {**row, "options": {"events": options.events, "members": options.members, "groups": options.groups, "days": options.days, "seed": options.seed}}


def _child(argv: list[str]) -> int:
    kind, path, *rest = argv
    if kind == "orjson":
        report = child_orjson(path)
    else:
        profile = None
        if "--profile" in rest:
            index = rest.index("--profile")
            profile = rest[index + 1]
            del rest[index : index + 2]
        report = child_engine(path, rest, profile)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if CHILD:  # a measured subprocess: see measure()
        code = _child(sys.argv[2:])
        from playbook_engine.cli import exit_now

        exit_now(code)  # as `playbook run` ends: without tearing the interpreter down
    sys.exit(main())
