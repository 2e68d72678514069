"""Bytecodes a run executes, per Python function: deterministic, unlike CPU time on a shared machine.

    python bench/bytecodes.py count PLAYBOOKS EVENTS OUT.json   # ~2 min for 40k events (traced)
    python bench/bytecodes.py diff BEFORE.json AFTER.json [N]   # the N functions that changed most

`count` runs `run()` (as `playbook run` does, no --explain) under `sys.settrace` with opcode
events and counts the bytecodes of each function, keyed by its file inside the engine (or the
library) and its qualified name, so that two checkouts compare function by function. PYTHONPATH
or the interpreter selects the engine. bench/README.md says how this count relates to CPU time.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from types import FrameType
from typing import Any


def _key(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    # A checkout (engine/) and an installed copy (playbook_engine/) name their files alike.
    for marker, name in (("/playbook_engine/", "engine/"), ("/engine/", "engine/"), ("/playbook_plugins/", "plugins/"), ("/plugins/", "plugins/"), ("/site-packages/", "")):
        if marker in path:
            path = name + path.rsplit(marker, 1)[1]
            break
    return f"{path}:{code.co_qualname}"


def count(playbooks: str, events: str, out: str) -> None:
    from playbook_engine.loading import load_config
    from playbook_engine.plugins import load_registry
    from playbook_engine.runner import read_source, run

    registry = load_registry(entrypoints=False)
    config = load_config([playbooks], registry)
    source = read_source(registry, "jsonl", events)
    ops: Counter[str] = Counter()
    calls: Counter[str] = Counter()

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        key = _key(frame)
        calls[key] += 1
        frame.f_trace_opcodes = True

        def on_opcode(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                ops[key] += 1
            return on_opcode

        return on_opcode

    sys.settrace(on_call)
    run(config, source, keep_suppressed=False)
    sys.settrace(None)
    with open(out, "w", encoding="utf-8") as file:
        json.dump({"ops": ops, "calls": calls}, file)
    print(f"{sum(ops.values()):,} bytecodes, {sum(calls.values()):,} calls")


def diff(before_path: str, after_path: str, rows: int = 40) -> None:
    with open(before_path, encoding="utf-8") as file:
        before = json.load(file)
    with open(after_path, encoding="utf-8") as file:
        after = json.load(file)
    a, b = before["ops"], after["ops"]
    total_a, total_b = sum(a.values()), sum(b.values())
    print(f"bytecodes {total_a:,} -> {total_b:,} ({(total_b - total_a) / total_a * 100:+.1f} %)")
    for key in sorted(set(a) | set(b), key=lambda key: -abs(b.get(key, 0) - a.get(key, 0)))[:rows]:
        calls = f"{before['calls'].get(key, 0):,} -> {after['calls'].get(key, 0):,} calls"
        print(f"{b.get(key, 0) - a.get(key, 0):+12,} {a.get(key, 0):12,} {b.get(key, 0):12,}  {calls:>26}  {key}")


if __name__ == "__main__":
    verb, *args = sys.argv[1:] or ["help"]
    if verb == "count" and len(args) == 3:
        count(*args)
    elif verb == "diff" and len(args) in (2, 3):
        diff(args[0], args[1], *(int(arg) for arg in args[2:]))
    else:
        sys.exit(__doc__)
