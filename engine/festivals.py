"""Holiday dates: Chinese public and traditional festivals by default, any country on request.

Traditional festivals follow the lunar calendar (lunardate); Qingming is a solar term (see
``_qingming``); other countries' public holidays come from the maintained ``holidays`` package,
imported only when a playbook names a country (importing it and building China's table took
a sixth of a daily run's start-up). Names can be written as ids (``mid_autumn``) or in
Chinese (``中秋节``/``中秋``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from lunardate import LunarDate


def _solar(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _lunar(month: int, day: int) -> Callable[[int], date]:
    return lambda year: LunarDate(year, month, day).to_solar_date()


def _new_years_eve(year: int) -> date:
    return LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)


def _qingming(year: int) -> date:
    """Qingming, the solar term at 15° of solar longitude: April 4, 5 or 6.

    For 1901–2099 the day is the common solar-term formula ⌊Y·0.2422 + C⌋ − ⌊L/4⌋ (Y: the
    year in its century; C = 5.59, L = Y − 1 in the 1900s; C = 4.81, L = Y in the 2000s), which
    gives the ``holidays`` package's dates for all of those years (tests/test_festivals.py);
    outside them the ``holidays`` package decides.
    """
    if 1901 <= year <= 2099:
        y = year % 100
        if year < 2000:
            return date(year, 4, int(y * 0.2422 + 5.59) - (y - 1) // 4)
        return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)
    import holidays

    table = holidays.country_holidays("CN", years=year)
    return min(day for day, name in table.items() if name == "Tomb-Sweeping Day")


# id: (Chinese names, date in a given Gregorian year)
CHINESE_FESTIVALS: dict[str, tuple[tuple[str, ...], Callable[[int], date]]] = {
    "new_year": (("元旦",), _solar(1, 1)),
    "new_years_eve": (("除夕",), _new_years_eve),
    "spring_festival": (("春节",), _lunar(1, 1)),
    "lantern": (("元宵节", "元宵"), _lunar(1, 15)),
    "womens_day": (("妇女节",), _solar(3, 8)),
    "qingming": (("清明节", "清明"), _qingming),
    "labor_day": (("劳动节", "五一"), _solar(5, 1)),
    "youth_day": (("青年节",), _solar(5, 4)),
    "childrens_day": (("儿童节",), _solar(6, 1)),
    "dragon_boat": (("端午节", "端午"), _lunar(5, 5)),
    "qixi": (("七夕节", "七夕"), _lunar(7, 7)),
    "teachers_day": (("教师节",), _solar(9, 10)),
    "mid_autumn": (("中秋节", "中秋"), _lunar(8, 15)),
    "national_day": (("国庆节", "国庆"), _solar(10, 1)),
    "double_ninth": (("重阳节", "重阳"), _lunar(9, 9)),
    "laba": (("腊八节", "腊八"), _lunar(12, 8)),
}
_ALIASES = {alias: key for key, (names, _) in CHINESE_FESTIVALS.items() for alias in (key, *names)}


def known_names(country: str | None) -> list[str]:
    """Names a playbook may use for ``country`` (None: the Chinese calendar)."""
    if country is None:
        return sorted(_ALIASES)
    import holidays

    table = holidays.country_holidays(country, years=range(2024, 2031))
    return sorted(set(table.values()))


def canonical(name: str, country: str | None) -> str | None:
    """The id of ``name`` for ``country``, or None if unknown."""
    if country is None:
        return _ALIASES.get(name)
    return name if name in known_names(country) else None


def check_country(country: str) -> str | None:
    """An error message if ``country`` is not a country the holidays package knows."""
    import holidays

    if country.upper() not in holidays.list_supported_countries():
        return f"unknown country `{country}` — write an ISO code such as CN (the default), SG, US, JP"
    return None


@lru_cache(maxsize=64)
def festivals_in_year(year: int, country: str | None) -> tuple[tuple[date, str], ...]:
    """(date, id) of every festival in ``year``, sorted by date."""
    if country is None:
        # A lunar festival of Gregorian year Y may belong to lunar year Y-1 (腊八 in January).
        candidates = {(when(lunar_year), key) for key, (_, when) in CHINESE_FESTIVALS.items() for lunar_year in (year - 1, year)}
        found = [(day, key) for day, key in candidates if day.year == year]
    else:
        import holidays

        found = [(day, name) for day, name in holidays.country_holidays(country, years=year).items()]
    return tuple(sorted(found))


def label(key: str, country: str | None) -> str:
    if country is None and key in CHINESE_FESTIVALS:
        return CHINESE_FESTIVALS[key][0][0]
    return key


# What a rule's `not_on:` may name: the days its tasks are not sent on (遇节假日顺延).
OFF_DAY_KINDS = ("holidays", "weekends")
# The same in Chinese, as an operator may write them (`not_on: 节假日`).
OFF_DAY_NAMES = {"holidays": "holidays", "weekends": "weekends", "节假日": "holidays", "法定节假日": "holidays", "周末": "weekends"}


def off_kinds(value: Any) -> frozenset[str] | None:
    """The kinds of days a `not_on:` or `not_counting:` names (one or a list, in English or
    Chinese); None for none, or for a shape the schema has reported."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    kinds = frozenset(OFF_DAY_NAMES.get(kind, kind) for kind in value if isinstance(kind, str)) & frozenset(OFF_DAY_KINDS)
    return kinds or None


class OffDays:
    """Which local days a rule's `not_on:` keeps its tasks off, and what each is called.

    ``holidays``: the statutory days off of ``country`` (the ``holidays`` package's table: for
    China the State Council's days off with their 调休 substitutes), and the weekend days that
    join one of them into a break (春节 from the Sunday before 除夕 to the last day off).
    ``weekends``: Saturdays and Sundays (the country's weekend), except the weekend days worked
    in place of a day off (调休上班). Both: every day that is not a working day.
    """

    def __init__(self, kinds: frozenset[str], country: str = "CN", language: str = "zh"):
        self.kinds = kinds
        self.country = country
        self.language = "zh_CN" if language.startswith("zh") else "en_US"
        self._names: dict[int, str | None] = {}
        self._next_off: dict[int, int] = {}  # day → the first day kept off from it on

    def name(self, ordinal: int) -> str | None:
        """What local day ``ordinal`` (``date.toordinal()``) is called, if `not_on` keeps tasks off it."""
        try:
            return self._names[ordinal]
        except KeyError:
            name = self._names[ordinal] = self._name(ordinal)
            return name

    def next_off(self, ordinal: int) -> int:
        """The first day from ``ordinal`` on that tasks are kept off — or ``ordinal`` + 400 if
        none is within 400 days (weekends alone always are; a country's holidays nearly so)."""
        known = self._next_off
        found = known.get(ordinal)
        if found is not None:
            return found
        walked = []
        day = ordinal
        while day < ordinal + 400:
            if day in known:
                day = known[day]
                break
            if self.name(day) is not None:
                break
            walked.append(day)
            day += 1
        for passed in walked:
            known[passed] = day
        known[ordinal] = day
        return day

    def open_at(self, t: float, local: Any) -> tuple[float, str | None]:
        """``t``, or the same wall-clock time of the first day after it that is not kept off,
        and what the day of ``t`` is called (None: not kept off, ``t`` as it is). ``local``:
        the community's LocalTime."""
        day = local.day(t)
        name = self.name(day)
        if name is None:
            return t, None
        wall = datetime.fromtimestamp(t, local.tz).time()  # the time on the clock, whatever a DST change did
        return datetime.combine(date.fromordinal(self.next_open(day)), wall, local.tz).timestamp(), name

    def next_open(self, ordinal: int) -> int:
        """The first day from ``ordinal`` on that tasks may be due on (a break is weeks at most)."""
        for day in range(ordinal, ordinal + 60):
            if self.name(day) is None:
                return day
        return ordinal  # a calendar with no working day in two months: not kept off at all

    def _name(self, ordinal: int) -> str | None:
        day = date.fromordinal(ordinal)
        if not self._not_working(day):
            return None
        zh = self.language == "zh_CN"
        if "holidays" in self.kinds:
            named = self._break(day)
            if named is not None:
                return f"{named}假期" if zh else f"{named} holidays"
        off, worked, weekend = _days_off(self.country, day.year, self.language)
        if "weekends" in self.kinds and day.weekday() in weekend and day not in worked:
            return "周末" if zh else "weekend"
        return None

    def _not_working(self, day: date) -> bool:
        off, worked, weekend = _days_off(self.country, day.year, self.language)
        return day in off or (day.weekday() in weekend and day not in worked)

    def _break(self, day: date) -> str | None:
        """The name of the holiday break ``day`` is in (a run of days not worked with a
        statutory day off in it): the name most of its days off carry."""
        names: list[str] = []
        for step in (-1, 1):
            current = day if step == 1 else day - timedelta(days=1)
            for _ in range(31):
                if not self._not_working(current):
                    break
                name = _days_off(self.country, current.year, self.language)[0].get(current)
                if name is not None:
                    names.append(name)
                current += timedelta(days=step)
        if not names:
            return None
        plain = [_plain_name(name) for name in names]
        known = [name for name in plain if name] or plain
        return max(dict.fromkeys(known), key=known.count)


def _plain_name(name: str) -> str:
    """A day off's name without the package's notes: 清明节（补假） → 清明节; a 调休 day off → ''."""
    for mark in ("（", " ("):
        name = name.split(mark)[0]
    return "" if name.startswith(("休息日", "Day off")) else name.replace("农历除夕", "春节").replace("Chinese New Year's Eve", "Chinese New Year").strip()


@lru_cache(maxsize=64)
def off_days(kinds: frozenset[str], country: str = "CN", language: str = "zh") -> OffDays:
    """The OffDays of ``kinds`` for ``country`` (one for every rule, trigger and community that
    names them: its answers depend on nothing else, and it learns them once)."""
    return OffDays(kinds, country, language)


@lru_cache(maxsize=64)
def _days_off(country: str, year: int, language: str) -> tuple[dict[date, str], frozenset[date], frozenset[int]]:
    """``country``'s statutory days off in ``year`` with their names, the weekend days worked
    in their place (调休), and the weekdays of its weekend."""
    import holidays

    known = language in getattr(holidays.country_holidays(country), "supported_languages", ())
    table = holidays.country_holidays(country, years=year, language=language if known else None)
    worked = frozenset(getattr(table, "weekend_workdays", ()) or ())
    weekend = frozenset(getattr(table, "weekend", None) or (5, 6))
    return dict(table.items()), worked, weekend


class SilentDays:
    """A member's silence when some days do not count (community.yaml `days_silent:
    {not_counting: holidays}`): how many whole days it has lasted, and when it will have lasted
    so long — for `member.days_silent`, the lifecycle's stages, `becomes` and the `silence:`
    triggers alike, so that a 7-day nudge and a 14-day stage agree on what a day of silence is.

    Counted time is the time of the open days (each as long as it is: 23 or 25 hours on a day
    the clocks change). A silence that began on a day off counts from the same wall-clock time
    of the first day after it that is not (those who wrote during a break do not all reach a
    threshold at one minute). ``local``: the community's LocalTime (``tz``, ``day``, ``midnight``).
    """

    def __init__(self, off: OffDays, local: Any):
        self.off = off
        self.local = local
        # Counted seconds from ``_base`` on: ``_cum[i]`` in [base, base + i); the open days, and
        # the count at the end of each. Built outwards as far as asked, rebuilt if asked below.
        self._base: int | None = None
        self._cum: list[float] = [0.0]
        self._open_days: list[int] = []
        self._open_end: list[float] = []
        # A silence's start → the first midnight of a day off from it on; its counted start; and
        # the crossings asked for: a member's silence is asked about again and again.
        self._off_from: dict[float, float] = {}
        self._starts: dict[float, tuple[float, int]] = {}
        self._after: dict[tuple[float, float], float] = {}

    def _first_off(self, since: float) -> float:
        """The first instant of the first day off from ``since``'s day on (its own day's, if off)."""
        found = self._off_from.get(since)
        if found is None:
            if len(self._off_from) > 200_000:
                self._off_from.clear()
            local = self.local
            found = self._off_from[since] = local.midnight(self.off.next_off(local.day(since)))
        return found

    def _counted_from(self, since: float) -> tuple[float, int]:
        """``start(since)`` and its local day, once per silence start."""
        found = self._starts.get(since)
        if found is None:
            if len(self._starts) > 200_000:
                self._starts.clear()
            start = self.start(since)
            found = self._starts[since] = (start, self.local.day(start))
        return found

    def start(self, since: float) -> float:
        """When the silence begun at ``since`` starts to count."""
        return self.off.open_at(since, self.local)[0]

    def begins_off(self, since: float, today: int) -> bool:
        """Whether the silence begun at ``since``, on local day ``today`` or the day before,
        begins on a day off (``start`` is later). (Most days are not: asked of both first.)"""
        name = self.off.name
        if name(today) is None and name(today - 1) is None:
            return False
        return name(self.local.day(since)) is not None

    def after(self, since: float, seconds: float) -> float:
        """The first instant the silence begun at ``since`` has lasted ``seconds`` of counted
        time (``seconds()`` reaches it there)."""
        off_at = self._off_from.get(since)
        if off_at is None:
            off_at = self._first_off(since)
        if off_at >= since + seconds:
            return since + seconds  # no day off in the stretch: the common case
        key = (since, seconds)
        found = self._after.get(key)
        if found is None:
            if len(self._after) > 200_000:
                self._after.clear()
            found = self._after[key] = self._counted_after(since, seconds)
        return found

    def _counted_after(self, since: float, seconds: float) -> float:
        start, begin = self._counted_from(since)
        midnight = self.local.midnight
        first = midnight(begin + 1) - start  # what the first (open) day still counts
        if seconds <= first:
            return float(start + seconds)
        self._span(begin + 1, begin + 2)
        target = self._cum[begin + 1 - self._base] + seconds - first  # type: ignore[operator]  # spanned
        ends = self._open_end
        while not ends or ends[-1] < target:  # the open days counted so far end before it
            self._span(begin + 1, self._base + len(self._cum) + 63)  # type: ignore[operator]  # spanned
        index = bisect_left(ends, target)
        day = self._open_days[index]
        return float(midnight(day + 1) - (ends[index] - target))

    def first_after(self, since: float, offsets: list[int], now: float) -> float | None:
        """The first of the instants the silence has lasted each of ``offsets`` (ascending)
        that is after ``now``: when a threshold of ``member.days_silent`` is crossed next."""
        off_at = self._off_from.get(since)
        if off_at is None:
            off_at = self._first_off(since)
        for offset in offsets:
            moment = since + offset if off_at >= since + offset else self.after(since, offset)
            if moment > now:
                return moment
        return None

    def days(self, since: float, now: float) -> int:
        """Whole days of counted silence from ``since`` to ``now``."""
        return int(self.seconds(since, now) // 86400)

    def seconds(self, since: float, now: float) -> float:
        """Counted seconds of the silence begun at ``since``, at ``now``."""
        off_at = self._off_from.get(since)
        if off_at is None:
            off_at = self._first_off(since)
        if off_at >= now:
            return now - since  # no day off in between
        local = self.local
        start, begin = self._counted_from(since)
        if start >= now:
            return 0.0
        end = local.day(now)
        if begin == end:
            return now - start
        self._span(begin + 1, end)
        base, cum, midnight = self._base, self._cum, local.midnight
        counted = midnight(begin + 1) - start  # the first day's rest (an open day: ``start``'s)
        counted += cum[end - base] - cum[begin + 1 - base]  # type: ignore[operator]  # spanned
        if self.off.name(end) is None:
            counted += now - midnight(end)
        return float(counted)

    def _span(self, low: int, high: int) -> None:
        """Count the open days of [low, high) at least (from further back if need be)."""
        if self._base is None or low < self._base:
            top = high if self._base is None else max(high, self._base + len(self._cum) - 1)
            self._base, self._cum, self._open_days, self._open_end = low - 400, [0.0], [], []
            high = top
        base, cum = self._base, self._cum
        name, midnight = self.off.name, self.local.midnight
        for day in range(base + len(cum) - 1, high):
            total = cum[-1]
            if name(day) is None:
                total += midnight(day + 1) - midnight(day)
                self._open_days.append(day)
                self._open_end.append(total)
            cum.append(total)
