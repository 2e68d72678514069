"""The benchmark's side-by-side measurement: a failing run fails it, whatever the timing.

The checks of measured CPU times and ratios are in ``bench/test_run.py``, outside the default
``pytest`` run: a busy machine can fail them with nothing wrong in the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import run as bench


def busy(seconds: float) -> list[str]:
    """A child that spends ``seconds`` of CPU time, then reports as the engine's children do."""
    code = f"import json, time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\nprint(json.dumps({{'spent': {seconds}}}))"
    return [sys.executable, "-c", code]


def test_a_failing_run_fails_the_measurement():
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    assert bench.side_by_side(busy(0.5), failing, timeout=60) == {"failed": True}
    assert bench.bench_pairs([busy(0.1), failing], timeout=60, max_memory_mb=None, repeat=2) == []
