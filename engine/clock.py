"""The event-time clock: a priority queue of timers. Nothing here reads the wall clock."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple


class Timer(NamedTuple):
    due: float
    seq: int  # insertion order: ties at one instant keep a deterministic order
    handler: str  # key of the trigger (or engine part) that scheduled it
    subject: str  # member or group id
    payload: Any


# Reads saved timers in (due, seq) order: the next ``limit`` of them after the position given
# as (due, seq), or from the first when it is None.
SavedTimers = Callable[[tuple[float, int] | None, int], list[Timer]]


class Clock:
    """Timers in due order. Cancelled timers are not removed; their handlers ignore them.

    Timers saved by an earlier ``--state`` run stay in the database and are read a batch at a
    time as they come due (``restore``), merged in (due, seq) order with the timers scheduled
    in this run: a daily run reads the day's timers, not every member's.
    """

    BATCH = 512

    def __init__(self) -> None:
        # Scheduled in this run and not fired yet, as plain (due, seq, handler, subject, payload)
        # tuples: a Timer costs twice as much to build, and most are popped unseen. Without
        # saved timers (``restored`` False) its first is the next due: the loop reads it there.
        self.heap: list[tuple[float, int, str, str, Any]] = []
        self._seq = 0
        self._seq_start = 0  # _seq before this run scheduled anything
        self.fired = 0
        self.read = 0  # saved timers read from --state
        self._saved: deque[Timer] = deque()  # read from the saved timers, not fired yet
        self._read_saved: SavedTimers | None = None  # None: no more saved timers to read
        self.restored = False  # whether saved timers were merged in (``restore``): then ask ``next_due``
        self._read_to: tuple[float, int] | None = None  # (due, seq) of the last saved timer read
        self.consumed: tuple[float, int] | None = None  # (due, seq) of the last saved timer that came due

    def schedule(self, due: float, handler: str, subject: str, payload: Any = None) -> None:
        self._seq = seq = self._seq + 1
        heapq.heappush(self.heap, (due, seq, handler, subject, payload))

    @property
    def scheduled(self) -> int:
        """Timers scheduled in this run."""
        return self._seq - self._seq_start

    def _next_saved(self) -> Timer | None:
        if not self._saved and self._read_saved is not None:
            batch = self._read_saved(self._read_to, self.BATCH)
            if len(batch) < self.BATCH:
                self._read_saved = None
            if batch:
                self.read += len(batch)
                self._saved.extend(batch)
                self._read_to = (batch[-1].due, batch[-1].seq)
        return self._saved[0] if self._saved else None

    # Timers compare as (due, seq, …) tuples, and seq is unique: ``<`` orders them by (due, seq).

    def _next(self) -> tuple[float, int, str, str, Any] | None:
        saved = self._next_saved() if self._saved or self._read_saved is not None else None
        if saved is None or (self.heap and self.heap[0] < saved):
            return self.heap[0] if self.heap else None
        return saved

    def _pop(self) -> tuple[float, int, str, str, Any]:
        upcoming = self._next()
        if self._saved and upcoming is self._saved[0]:
            self._saved.popleft()
            self.consumed = (upcoming[0], upcoming[1])
            return upcoming
        return heapq.heappop(self.heap)

    def next_due(self) -> float | None:
        if self._saved or self._read_saved is not None:
            upcoming = self._next()
            return None if upcoming is None else upcoming[0]
        return self.heap[0][0] if self.heap else None

    def pop_instant(self) -> list[tuple[float, int, str, str, Any]]:
        """Remove and return every timer due at the earliest instant, in (due, seq) order, as
        (due, seq, handler, subject, payload) tuples."""
        if not (self._saved or self._read_saved is not None):  # no --state timers: the heap alone
            heap = self.heap
            first = heapq.heappop(heap)
            batch = [first]
            due = first[0]
            while heap and heap[0][0] == due:
                batch.append(heapq.heappop(heap))
            self.fired += len(batch)
            return batch
        first = self._pop()
        batch = [first]
        while (upcoming := self._next()) is not None and upcoming[0] == first[0]:
            batch.append(self._pop())
        self.fired += len(batch)
        return batch

    @property
    def seq(self) -> int:
        return self._seq

    def restore(self, read_saved: SavedTimers, seq: int) -> None:
        """Continue from timers saved by --state, read through ``read_saved`` as they come due,
        and from the saved counter ``seq`` (at least the highest saved timer's seq)."""
        self._read_saved = read_saved
        self.restored = True
        self._saved.clear()
        self._read_to = self.consumed = None
        self._seq = self._seq_start = max(self._seq, seq)

    def new_pending(self) -> list[Timer]:
        """Timers scheduled in this run that have not come due, in due order."""
        return [Timer(*timer) for timer in sorted(self.heap)]

    def pending(self) -> list[Timer]:
        """Every timer that has not come due, saved ones included (this reads them all), in due order."""
        remaining = list(self._saved)
        reader, position = self._read_saved, self._read_to
        while reader is not None:
            batch = reader(position, self.BATCH)
            remaining.extend(batch)
            if len(batch) < self.BATCH:
                break
            position = (batch[-1].due, batch[-1].seq)
        return sorted(remaining + [Timer(*timer) for timer in self.heap])

    def __len__(self) -> int:
        return len(self.pending())
