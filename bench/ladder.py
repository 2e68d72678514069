"""Where a dry run's time goes, step by step: the same stream through more and more of the engine.

Each step runs in a fresh subprocess, measured from outside like ``bench/run.py`` (CPU seconds
of the process, start-up included, bytecode cached):

1. ``orjson``: a plain parse of every line (the yardstick of issue 9);
2. ``read``: the engine's reader — every line decoded, checked and built into an Event;
3. ``state``: the evaluation with community.yaml alone — member and group state, lifecycle
   stages and their time-driven checks, no playbook;
4. ``rules``: every playbook, each action replaced by a state change (``tag``) — triggers,
   timers and conditions as in the full run, no task built, checked or placed;
5. ``full``: the dry run itself, tasks written as JSON Lines to /dev/null.

The differences between steps are what each layer costs per event. Example:

    python bench/ladder.py --events 100k
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CHILD = sys.argv[1:2] == ["--child"]  # a measured run: it imports only what it measures
if not CHILD:
    from generate import _count
    from run import OUT, ensure_stream, measure, stream_options, warm_up

STEPS = ("orjson", "read", "state", "rules", "full")


def without_tasks(target: Path) -> Path:
    """A copy of playbooks/ in which every action only tags the member: rules fire as before,
    no task is made."""
    import yaml

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in sorted((ROOT / "playbooks").glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        for rule in data.get("rules", []):
            rule["do"] = [{"tag": "ladder"}]
            rule.pop("cooldown", None)  # a cooldown needs tasks to count from
        data.pop("tests", None)
        (target / file.name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def community_only(target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(ROOT / "playbooks" / "community.yaml", target / "community.yaml")
    return target


def child(step: str, path: str, playbooks: str | None) -> dict[str, Any]:
    started = time.process_time()
    if step == "orjson":
        import orjson

        with open(path, "rb") as stream:
            count = sum(1 for line in stream if orjson.loads(line) is not None)
        return {"events": count}
    from playbook_engine.api import source_options
    from playbook_engine.events import to_event
    from playbook_engine.loading import load_config
    from playbook_engine.output import write_tasks
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import plan, read_source

    registry = load_registry(entrypoints=False)
    config = load_config([playbooks or str(ROOT / "playbooks")], registry)
    tz = config.community.tz
    records = read_source(registry, "jsonl", path, source_options(None, tz))
    if step == "read":
        count = sum(1 for record in records if to_event(record, tz) is not None)
        return {"events": count, "in_process": time.process_time() - started}
    stream = plan(config, records, keep_suppressed=False)
    write_tasks(registry, "jsonl", stream, os.devnull, {"tz": tz, "title": "ladder", "width": None})
    return {"events": stream.result.counts["read"], "tasks": stream.result.tally.total, "in_process": time.process_time() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=_count, default=100_000, help="events of the standard stream (default 100k)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; the fastest counts (default 1)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    warm_up()
    path = ensure_stream(stream_options(args.events))
    playbooks = {"state": str(community_only(OUT / "ladder-community")), "rules": str(without_tasks(OUT / "ladder-rules"))}
    results: dict[str, float] = {}
    for step in STEPS:
        runs = []
        for _ in range(args.repeat):
            argv = [sys.executable, __file__, "--child", step, str(path)] + ([playbooks[step]] if step in playbooks else [])
            report = measure(argv, None)
            if report.get("timed_out"):
                print(f"ladder: step {step} failed", file=sys.stderr)
                return 1
            runs.append(report["cpu"])
        results[step] = min(runs)
        print(f"  {step}: {results[step]:.2f} CPU s", file=sys.stderr, flush=True)
    events = args.events
    print(f"## Where the time goes: {events:,} events ({path.name}), CPU seconds of the process, fastest of {args.repeat}")
    print()
    print("| step | CPU s | µs per event | this step adds, µs per event |")
    print("|---|---:|---:|---:|")
    previous = 0.0
    for step in STEPS:
        cpu = results[step]
        added = (cpu - previous) / events * 1e6 if step != "orjson" else cpu / events * 1e6
        print(f"| {step} | {cpu:.2f} | {cpu / events * 1e6:.1f} | {added:+.1f} |")
        previous = cpu if step != "orjson" else 0.0
    return 0


if __name__ == "__main__":
    if CHILD:  # a measured subprocess: see run.measure()
        import json

        step, path, *rest = sys.argv[2:]
        print(json.dumps(child(step, path, rest[0] if rest else None)))
        from playbook_engine.cli import exit_now

        exit_now(0)
    sys.exit(main())
