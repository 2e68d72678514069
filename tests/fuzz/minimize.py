"""Minimise a failing case: fewer playbooks, rules, actions, options, events; keep the failure kind.

python tests/fuzz/minimize.py CASE_DIR OUT_DIR [KIND] [--work DIR]
(KIND: the failure's prefix, e.g. nightly, silence; by default the one in CASE_DIR/failure.txt)
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import traceback
from pathlib import Path

import fuzz  # this script's directory is first on sys.path: tests/fuzz/fuzz.py
import yaml

WORK = Path(".")  # set by main(): a temporary directory under --work (default: the current directory)
CASE_FILES: dict[str, str] = {}  # the case's cuts.json (--anywhere) and marks.txt (--marks), kept in every trial


def write(d: Path, community: str, books: dict[str, dict]) -> None:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "community.yaml").write_text(community, encoding="utf-8")
    for name, text in CASE_FILES.items():
        (d / name).write_text(text, encoding="utf-8")
    for name, pb in books.items():
        (d / name).write_text(yaml.safe_dump(pb, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000), encoding="utf-8")


def fails(community: str, books: dict[str, dict], events: list[dict], kind: str) -> bool:
    d = WORK / "c"
    write(d, community, books)
    try:
        problems = fuzz.check_dir(d, events, WORK)
    except Exception:  # a crash is the failure kept when the case crashed (fuzz.py saves it as "crash: …")
        return kind == "crash"
    return any(p.startswith(kind) for p in problems)


def main() -> None:
    global WORK
    ap = argparse.ArgumentParser(description="Shrink a failing fuzz case while it keeps failing the same way.")
    ap.add_argument("case", type=Path, help="a saved case directory (fuzz-out/sSEED)")
    ap.add_argument("out", type=Path, help="where the minimised case is written")
    ap.add_argument("kind", nargs="?", default=None, help="the failure's prefix to keep (default: the first in CASE/failure.txt)")
    ap.add_argument("--work", type=Path, default=Path("."), help="parent of the temporary scratch directory (default: the current directory)")
    args = ap.parse_args()
    src, out = args.case, args.out
    kind = args.kind if args.kind is not None else (src / "failure.txt").read_text().split(":")[0]
    args.work.mkdir(parents=True, exist_ok=True)
    WORK = Path(tempfile.mkdtemp(prefix="min-", dir=args.work))
    try:
        minimize(src, out, kind)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


def minimize(src: Path, out: Path, kind: str) -> None:
    CASE_FILES.update((name, (src / name).read_text(encoding="utf-8")) for name in ("cuts.json", "marks.txt") if (src / name).exists())
    community = (src / "community.yaml").read_text(encoding="utf-8")
    books = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(src.glob("*.yaml")) if p.name != "community.yaml"}
    events = [json.loads(line) for line in (src / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    if not fails(community, books, events, kind):
        raise SystemExit(f"{src}: the {kind!r} failure does not reproduce")
    changed = True
    while changed:
        changed = False
        # whole playbooks
        for name in list(books):
            if len(books) > 1:
                trial = {k: v for k, v in books.items() if k != name}
                if fails(community, trial, events, kind):
                    books, changed = trial, True
        # rules, actions, options
        for name in list(books):
            pb = books[name]
            for key in ("stages", "groups"):
                if key in pb:
                    trial = dict(books)
                    trial[name] = {k: v for k, v in pb.items() if k != key}
                    if fails(community, trial, events, kind):
                        books, pb, changed = trial, trial[name], True
            i = 0
            while i < len(pb["rules"]):
                if len(pb["rules"]) > 1:
                    trial = dict(books)
                    trial[name] = dict(pb, rules=pb["rules"][:i] + pb["rules"][i + 1:])
                    if fails(community, trial, events, kind):
                        books, pb, changed = trial, trial[name], True
                        continue
                rule = pb["rules"][i]
                for key in [k for k in rule if k not in ("id", "when", "do")]:
                    trial_rule = {k: v for k, v in rule.items() if k != key}
                    trial = dict(books)
                    trial[name] = dict(pb, rules=pb["rules"][:i] + [trial_rule] + pb["rules"][i + 1:])
                    if fails(community, trial, events, kind):
                        books, pb, rule, changed = trial, trial[name], trial_rule, True
                j = 0
                while j < len(rule["do"]) and len(rule["do"]) > 1:
                    trial_rule = dict(rule, do=rule["do"][:j] + rule["do"][j + 1:])
                    trial = dict(books)
                    trial[name] = dict(pb, rules=pb["rules"][:i] + [trial_rule] + pb["rules"][i + 1:])
                    if fails(community, trial, events, kind):
                        books, pb, rule, changed = trial, trial[name], trial_rule, True
                    else:
                        j += 1
                i += 1
        # events: ddmin-like chunks
        n = 2
        while len(events) >= 1 and n <= len(events):
            size = max(1, len(events) // n)
            removed = False
            for start in range(0, len(events), size):
                trial = events[:start] + events[start + size:]
                if trial and fails(community, books, trial, kind):
                    events, removed, changed = trial, True, True
                    break
            if removed:
                n = max(2, n - 1)
            elif size == 1:
                break
            else:
                n = min(len(events), n * 2)
        # community lines (optional settings)
        lines = community.splitlines()
        k = 0
        while k < len(lines):
            line = lines[k]
            if line.startswith("  ") and not line.startswith("    ") and any(line.strip().startswith(x) for x in ("language", "groups", "staff", "quiet_hours", "merge", "limits", "max_delay", "days_silent", "question", "channel")):
                # drop the line and its indented block
                end = k + 1
                while end < len(lines) and lines[end].startswith("    "):
                    end += 1
                trial_c = "\n".join(lines[:k] + lines[end:]) + "\n"
                if fails(trial_c, books, events, kind):
                    community, lines, changed = trial_c, trial_c.splitlines(), True
                    continue
            elif line.startswith("    - {id: op"):
                trial_c = "\n".join(lines[:k] + lines[k + 1:]) + "\n"
                if sum(1 for x in lines if x.startswith("    - {id: op")) > 1 and fails(trial_c, books, events, kind):
                    community, lines, changed = trial_c, trial_c.splitlines(), True
                    continue
            k += 1
    write(out, community, books)
    (out / "events.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    d = WORK / "c"
    write(d, community, books)
    try:
        problems = fuzz.check_dir(d, events, WORK)
    except Exception:  # a crash case: saved as fuzz.py saves it
        problems = ["crash: " + traceback.format_exc()]
    (out / "failure.txt").write_text("\n".join(problems) + "\n", encoding="utf-8")
    print(f"{out}: {len(books)} playbooks, {sum(len(b['rules']) for b in books.values())} rules, {len(events)} events")


if __name__ == "__main__":
    main()
