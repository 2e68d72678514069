"""``run()``: load, read, evaluate, plan — the whole dry run as one typed function."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput
from engine.evaluate import Evaluation, Note
from engine.events import Event, Rejected, SourceRecord, to_event
from engine.model import Config
from engine.planner import Planner, Suppressed, Task
from engine.plugins import Registry
from engine.state import StateStore


@dataclass
class RunResult:
    tasks: list[Task]
    rejected: list[Rejected]
    suppressed: list[Suppressed]
    notes: list[Note]
    counts: Counter[str]
    evaluation: Evaluation = field(repr=False)
    moved: Counter[str] = field(default_factory=Counter)
    history_only: int = 0
    planner: Planner | None = field(default=None, repr=False)
    state: StateStore | None = field(default=None, repr=False)

    def save_state(self) -> None:
        """Commit this run to its --state database (after the tasks were written)."""
        if self.state is not None and self.planner is not None:
            self.state.save(self.evaluation, self.planner)

    def summary(self) -> str:
        counts = self.counts
        by_action = Counter(task.action for task in self.tasks)
        actions = ", ".join(f"{name} {count}" for name, count in sorted(by_action.items()))
        line = f"read {counts['read']} events: {counts['accepted']} accepted, {counts['rejected']} rejected"
        if counts["before_watermark"]:
            line += f", {counts['before_watermark']} already processed (--state watermark)"
        if counts["after_until"]:
            line += f", {counts['after_until']} after --until"
        line += f" · {len(self.tasks)} tasks planned" + (f" ({actions})" if actions else "")
        by_guardrail = self.planner.suppressed_counts if self.planner is not None else Counter(item.guardrail for item in self.suppressed)
        if by_guardrail:
            line += f" · {sum(by_guardrail.values())} suppressed (" + ", ".join(f"{name} {count}" for name, count in sorted(by_guardrail.items())) + ")"
        if self.moved:
            line += " · moved: " + ", ".join(f"{name} {count}" for name, count in sorted(self.moved.items()))
        if self.history_only:
            line += f" · {self.history_only} before --from not shown"
        return line


def read_source(registry: Registry, source: str, path: str, options: Mapping[str, Any] | None = None) -> Iterator[SourceRecord | Rejected]:
    """Records from ``path`` through the event-source plugin ``source``."""
    if source not in registry.sources:
        raise InvalidInput(f"unknown event source `{source}` — installed: {', '.join(sorted(registry.sources))}")
    if path != "-" and not Path(path).exists():
        raise InvalidInput(f"{path}: no such file or directory")
    return registry.sources[source].read(path, options or {})


def run(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, start: float | None = None, until: float | None = None, explain: bool = False, state: StateStore | None = None, keep_suppressed: bool = True) -> RunResult:
    """Evaluate ``items`` (source records or events, in time order) against ``config``.

    With ``state``, continue from it; call ``result.save_state()`` once the tasks are output.
    ``keep_suppressed=False`` keeps only counts of suppressed tasks, not the tasks: a long
    history can suppress millions (the command line keeps them for ``--explain``).
    """
    planner = Planner(config.community, start=start, history=state.history() if state else None, keep_suppressed=keep_suppressed or explain, record_history=state is not None)
    evaluation = Evaluation(config, planner, until=until, explain=explain, state=state)
    tz = config.community.tz
    evaluation.run(to_event(item, tz) for item in items)
    tasks = planner.finish()
    if config.registry.pm is not None:
        for task in tasks:
            config.registry.pm.hook.task_planned(task=task)
    return RunResult(tasks, evaluation.rejected, planner.suppressed, evaluation.notes, evaluation.counts, evaluation, planner.moved, planner.history_only, planner, state)
