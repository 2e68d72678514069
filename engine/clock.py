"""The event-time clock: a priority queue of timers. Nothing here reads the wall clock."""

from __future__ import annotations

import heapq
from typing import Any, NamedTuple


class Timer(NamedTuple):
    due: float
    seq: int  # insertion order: ties at one instant keep a deterministic order
    handler: str  # key of the trigger (or engine part) that scheduled it
    subject: str  # member or group id
    payload: Any


class Clock:
    """Timers in due order. Cancelled timers are not removed; their handlers ignore them."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._seq = 0
        self.scheduled = 0
        self.fired = 0

    def schedule(self, due: float, handler: str, subject: str, payload: Any = None) -> None:
        self._seq += 1
        self.scheduled += 1
        heapq.heappush(self._heap, Timer(due, self._seq, handler, subject, payload))

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def pop_instant(self) -> list[Timer]:
        """Remove and return every timer due at the earliest instant."""
        first = heapq.heappop(self._heap)
        batch = [first]
        while self._heap and self._heap[0].due == first.due:
            batch.append(heapq.heappop(self._heap))
        self.fired += len(batch)
        return batch

    @property
    def seq(self) -> int:
        return self._seq

    def restore(self, timers: Any, seq: int) -> None:
        """Put back timers saved by --state (seq, due, handler, subject, payload) and the counter."""
        self._heap = [Timer(due, number, handler, subject, payload) for number, due, handler, subject, payload in timers]
        heapq.heapify(self._heap)
        self._seq = max([seq] + [timer.seq for timer in self._heap])

    def pending(self) -> list[Timer]:
        return sorted(self._heap)

    def __len__(self) -> int:
        return len(self._heap)
