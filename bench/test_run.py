"""The side-by-side measurement's timing: which runs count, and the ratios they give.

These assert on CPU seconds that child processes really spend, so a loaded or throttled
machine can fail them with nothing wrong in the code: they are kept out of the default
``pytest`` run (which collects only ``tests/``). Run them before trusting new measurements:

    pytest bench/test_run.py

``tests/test_bench_run.py`` keeps what does not depend on timing (a failing run fails the
measurement).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench


def busy(seconds: float) -> list[str]:
    """A child that spends ``seconds`` of CPU time, then reports as the engine's children do."""
    code = f"import json, time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\nprint(json.dumps({{'spent': {seconds}}}))"
    return [sys.executable, "-c", code]


def test_the_smaller_run_repeats_while_the_larger_runs_once():
    result = bench.side_by_side(busy(1.0), busy(0.1), timeout=60)
    assert result["larger"] >= 1.0
    assert len(result["smaller"]) >= 3  # about 0.15 s each, CPU time counted apiece
    assert all(0.1 <= cpu < 0.8 for cpu in result["smaller"])


def test_a_smaller_run_that_outlasts_the_larger_is_counted_when_none_ended_before():
    result = bench.side_by_side(busy(0.1), busy(0.6), timeout=60)
    assert len(result["smaller"]) == 1
    assert result["smaller"][0] >= 0.6 > result["larger"]


def test_pairs_give_the_ratio_of_the_second_run_to_the_first():
    ratios = bench.bench_pairs([busy(0.2), busy(0.6)], timeout=60, max_memory_mb=None, repeat=2)
    assert len(ratios) == 2
    assert all(2.0 < ratio < 3.5 for ratio in ratios)  # 0.6 s over 0.2 s, plus start-up on both
