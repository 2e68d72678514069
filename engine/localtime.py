"""Local days and times of epoch instants, fast: the engine asks millions of times per run.

``datetime.fromtimestamp(t, tz)`` costs a time-zone lookup and ``strftime`` several more
microseconds; a run asks for the local day of every message, every window read and every
reason it writes. UTC offsets change only at transitions, so the offset is cached per
15-minute slice of time (time-zone transitions fall on quarter hours); a slice with a
transition inside it is answered the slow, exact way. The answers are the same as
``datetime``'s, only cheaper.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

SLICE = 900
DAY = 86400
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class LocalTime:
    """Local calendar answers for instants in one time zone."""

    __slots__ = ("tz", "_offsets", "_dates", "_minutes", "_midnights", "_day_start", "_day_end", "_day_ordinal", "_day_offset", "_other_start", "_other_end", "_other_ordinal", "_other_offset")

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self._offsets: dict[int, int | None] = {}
        self._dates: dict[int, str] = {}
        self._minutes: dict[int, str] = {}
        self._midnights: dict[int, float] = {}
        # [first instant, first instant of the next) of the day last asked about, its ordinal
        # and its UTC offset (only a day all of one offset is kept). Four attributes, not one
        # tuple: ``day`` answers from them several times per event, and unpacking a tuple
        # there costs more than the call's own work.
        self._day_start, self._day_end, self._day_ordinal, self._day_offset = 0.0, 0.0, 0, 0
        # And the day asked about before it, the same way: the planner asks about tomorrow
        # between events of today, which would otherwise compute both days again each time.
        self._other_start, self._other_end, self._other_ordinal, self._other_offset = 0.0, 0.0, 0, 0

    def offset(self, t: float) -> int:
        """Seconds to add to ``t`` to get local wall-clock seconds."""
        if self._day_start <= t < self._day_end:  # the day last asked about, all of one offset
            return self._day_offset
        key = int(t // SLICE)
        try:
            offset = self._offsets[key]
        except KeyError:
            start = key * SLICE
            first, last = self._exact(start), self._exact(start + SLICE - 1)
            offset = self._offsets[key] = first if first == last else None
        return self._exact(t) if offset is None else offset

    def _exact(self, t: float) -> int:
        delta = datetime.fromtimestamp(t, self.tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    def day(self, t: float) -> int:
        """The local day of ``t`` as a proleptic ordinal (``date.toordinal()``)."""
        if self._day_start <= t < self._day_end:  # most questions are about the moment the run is at: the same day
            return self._day_ordinal
        if self._other_start <= t < self._other_end:  # the day before that: it is the last asked about now
            self._other_start, self._other_end, self._other_ordinal, self._other_offset, self._day_start, self._day_end, self._day_ordinal, self._day_offset = (
                self._day_start, self._day_end, self._day_ordinal, self._day_offset, self._other_start, self._other_end, self._other_ordinal, self._other_offset)
            return self._day_ordinal
        ordinal = int((t + self.offset(t)) // DAY) + EPOCH_ORDINAL
        start, end = self.midnight(ordinal), self.midnight(ordinal + 1)
        if start <= t < end:
            offset = self.offset(start)
            if offset == self.offset(end - 1):
                # Not a day the UTC offset changes in: all of it is this day.
                self._other_start, self._other_end, self._other_ordinal, self._other_offset = self._day_start, self._day_end, self._day_ordinal, self._day_offset
                self._day_start, self._day_end, self._day_ordinal, self._day_offset = start, end, ordinal, offset
        return ordinal

    def date_text(self, t: float) -> str:
        """``YYYY-MM-DD`` of ``t``, local."""
        return self._date(self.day(t))

    def text(self, t: float) -> str:
        """``YYYY-MM-DD HH:MM`` of ``t``, local: how reasons and notes show a moment."""
        minute = int((t + self.offset(t)) // 60)
        text = self._minutes.get(minute)
        if text is None:
            if len(self._minutes) > 100_000:
                self._minutes.clear()
            day, seconds = divmod(minute * 60, DAY)
            text = self._minutes[minute] = f"{self._date(day + EPOCH_ORDINAL)} {seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
        return text

    def midnight(self, ordinal: int) -> float:
        """The first instant of local day ``ordinal`` (``date.toordinal()``)."""
        moment = self._midnights.get(ordinal)
        if moment is None:
            moment = self._midnights[ordinal] = datetime.combine(date.fromordinal(ordinal), time(), self.tz).timestamp()
        return moment

    def _date(self, ordinal: int) -> str:
        text = self._dates.get(ordinal)
        if text is None:
            text = self._dates[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


@cache
def local_time(tz: ZoneInfo) -> LocalTime:
    """The shared LocalTime of ``tz`` (its caches only ever hold exact answers)."""
    return LocalTime(tz)
