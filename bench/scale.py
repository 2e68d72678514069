"""Local runner vs ``--runner beam`` on this machine: the table of docs/scale.md.

For each size, a community of ``--teams`` operator teams (bench/teams.py, the shipped playbooks)
is run by ``playbook run`` with the local runner, then with ``--runner beam`` on Beam's
FnApiRunner in this process, then with two worker processes (``direct_num_workers=2``,
``direct_running_mode=multi_processing``). Each plan is checked byte for byte against the
local one. Wall-clock seconds of the whole command (reading, screening, the pipeline, merging).

Example: python bench/scale.py --sizes 10k,100k --teams 4
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import teams  # noqa: E402
from generate import Options, _count  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
VARIANTS = {
    "local": [],
    "beam (FnApiRunner)": ["--runner", "beam"],
    "beam (2 processes)": ["--runner", "beam", "--beam-option", "direct_num_workers=2", "--beam-option", "direct_running_mode=multi_processing"],
}


def timed(arguments: list[str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run(arguments, capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    parts = next((line.split(": ", 2)[2] for line in done.stderr.decode().splitlines() if line.startswith("playbook: --runner beam:")), "")
    return elapsed, hashlib.md5(done.stdout).hexdigest(), parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.rsplit("\n\n", 1)[-1])
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    playbook = str(Path(sys.executable).with_name("playbook"))
    print("| events | parts | runner | seconds | events/s | plan |")
    print("|---:|---:|---|---:|---:|---|")
    for size in args.sizes.split(","):
        total = _count(size)
        per_team = total // args.teams
        options = Options(events=per_team, members=max(10, per_team // 10), groups=3, days=args.days, seed=1)
        events = OUT / f"teams-{size}.jsonl"
        directory = OUT / f"teams-{size}-playbooks"
        OUT.mkdir(parents=True, exist_ok=True)
        with open(events, "w", encoding="utf-8") as stream:
            count = teams.write(args.teams, options, stream, early_profiles=False)  # each team its own part (see teams.records)
        teams.write_playbooks(directory, args.teams, options)
        reference = None
        parts = ""
        for name, extra in VARIANTS.items():
            seconds, digest, said = timed([playbook, "run", str(directory), "--events", str(events), "--format", "jsonl", *extra])
            parts = said or parts
            reference = reference or digest
            same = "identical" if digest == reference else "DIFFERENT"
            print(f"| {count:,} | {parts.split(' ')[0] if parts else '–'} | {name} | {seconds:.1f} | {count / seconds:,.0f} | {same} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
