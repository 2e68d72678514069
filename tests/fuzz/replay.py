"""Re-run fuzz.py's checks on saved cases (what recheck_all.py and check_one.py did).

python tests/fuzz/replay.py CASE_OR_DIR... [--work DIR] [--full]
A CASE is a directory with community.yaml, the playbooks and events.jsonl (fuzz-out/sSEED or
minimize.py's output); a DIR holding s* cases (fuzz-out/) replays each. One line per case:
the number of problems and the first (--full: all of them), or OK.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import fuzz  # this script's directory is first on sys.path: tests/fuzz/fuzz.py


def cases(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if (p / "events.jsonl").exists():
            found.append(p)
        else:
            found += sorted(d for d in p.glob("s*") if (d / "events.jsonl").exists())
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description="Re-run the fuzzer's checks on saved cases.")
    ap.add_argument("paths", nargs="+", type=Path, help="case directories, or directories of s* cases")
    ap.add_argument("--work", type=Path, default=Path("."), help="parent of the temporary scratch directory (default: the current directory)")
    ap.add_argument("--full", action="store_true", help="print every problem, not only the first")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="replay-", dir=args.work))
    try:
        for d in cases(args.paths):
            events = [json.loads(line) for line in (d / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
            try:
                problems = fuzz.check_dir(d, events, work)
            except Exception as e:  # a crash is a finding too
                problems = [f"crash: {e!r}"]
            print(d, len(problems), problems[0][:230] if problems else "OK", flush=True)
            if args.full:
                for p in problems[1:]:
                    print("   ", p[:300], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
