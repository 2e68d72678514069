"""Triggers on the calendar: `schedule` (cron) and `holiday`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from playbook_engine.contract import (
    Firing,
    Run,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.errors import suggest
from playbook_engine.triggers.common import EACH, _duration, fan_out, fan_out_in, local_text, says

# croniter (30 ms) and the festival tables (15 ms) are imported when a playbook uses them:
# most runs have neither a schedule nor a holiday rule, and start-up is part of every run.


def _check_cron(expression: Any, key: str | None = None) -> str:
    from croniter import croniter

    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise TriggerProblem(
            f"`{expression}` is not a cron expression — write five fields (minute hour day month weekday), e.g. \"0 9 * * 1\" for Mondays at 09:00 or \"0 20 1,16 * *\" for the 1st and 16th at 20:00",
            key=key,
        )
    return expression


def cron_minutes(expression: str) -> frozenset[int]:
    """The times of day (minutes after midnight) a valid cron expression fires at."""
    from croniter import croniter

    minute_field, hour_field = croniter(expression).expanded[:2]
    minutes = range(60) if minute_field == ["*"] else [int(minute) for minute in minute_field]
    hours = range(24) if hour_field == ["*"] else [int(hour) for hour in hour_field]
    return frozenset(hour * 60 + minute for hour in hours for minute in minutes)


def next_cron(expression: str, after: float, tz: Any) -> float:
    """The first instant of ``expression`` in time zone ``tz`` strictly after ``after``."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, tz)
    return croniter(expression, start).get_next(datetime).timestamp()


class ScheduleTrigger(TriggerType):
    name = "schedule"
    default_deadline = "day"
    description = "Fires at each instant of a cron expression in the community time zone: once per group, or for each member with `each: member`."
    schema = {"title": "Schedule 定时", "type": "string", "examples": ["0 9 * * 1", "0 20 1,16 * *"]}
    options = {"each": EACH}

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.cron = _check_cron(value)
        self.each: str = options.get("each", "group")

    @property
    def per_member(self) -> bool:
        return self.each == "member"

    def fire_minutes(self) -> frozenset[int]:
        return cron_minutes(self.cron)

    def start(self, run: Run) -> None:
        # An instant exactly at the first event still counts: fire it after that event.
        run.schedule(next_cron(self.cron, run.now - 1, run.tz), self, "*")

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        run.schedule(next_cron(self.cron, run.now, run.tz), self, "*")
        return fan_out(run, self.each, run.now, says(run).schedule.format(cron=self.cron, at=local_text(run, run.now)), {})

    def describe(self) -> str:
        return f"on schedule {self.cron}"


def _time_of_day(value: Any) -> int:
    """Seconds after local midnight of an ``at:`` option ("09:00")."""
    hours, minutes = (int(part) for part in str(value).split(":"))
    if hours > 23 or minutes > 59:
        raise TriggerProblem(f"`{value}` is not a time of day — write e.g. \"09:00\"", key="at")
    return hours * 3600 + minutes * 60


def _next_time_of_day(at: int, after: float, tz: Any) -> float:
    """The first instant strictly after ``after`` that is ``at`` seconds past a local midnight."""
    day = datetime.fromtimestamp(after, tz).date()
    while True:
        moment = datetime.combine(day, time(at // 3600, at % 3600 // 60), tz).timestamp()
        if moment > after:
            return moment
        day += timedelta(days=1)


class GroupAgeTrigger(TriggerType):
    """The days a group is N days old: a group's own calendar (养群 → 撩群 → 宠群 → 爆款 from its
    start, not from the 1st of the month). One timer a day for the rule, whatever the number
    of groups; members are fanned out to only in the groups whose day it is."""

    name = "group_age"
    default_deadline = "day"
    description = (
        "Fires in each group on the days it is N days old (day 0: the day of its start — community.yaml `groups[].created`, "
        "else its first event in the history), at `at` (default 09:00); `every: 28d` repeats: days N, N+28, N+56 …; "
        "once per group, or for each member with `each: member`. Texts read the age as `trigger.age_days`."
    )
    schema = {
        "title": "Group age 群龄",
        "oneOf": [{"type": "integer", "minimum": 0}, {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1}],
        "examples": [14, [1, 3, 5]],
    }
    options = {
        "at": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "With `holiday` or `group_age`: local time of day to fire (default 09:00).", "examples": ["09:00"]},
        "every": {"type": "string", "description": "With `group_age`: the length of the group's cycle, in whole days (a duration): the days repeat every cycle, day N, N+28, N+56 … for 28d.", "examples": ["28d", "4w"]},
        "each": EACH,
    }

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        days = [value] if isinstance(value, int) else list(value)
        if not days or any(not isinstance(day, int) or isinstance(day, bool) or day < 0 for day in days):
            raise TriggerProblem(f"`{value}` is not a day of the group's age — write a whole number of days (0: the day it started), or a list, e.g. [1, 3, 5]")
        self.days = frozenset(days)
        self.at = _time_of_day(options.get("at", "09:00"))
        self.every: int | None = None
        if "every" in options:
            seconds = _duration(options["every"])
            if seconds <= 0 or seconds % 86400:
                raise TriggerProblem(f"`{options['every']}` is not a whole number of days — write the cycle's length in days, e.g. 28d or 4w", key="every")
            self.every = seconds // 86400
            beyond = sorted(day for day in self.days if day >= self.every)
            if beyond:
                raise TriggerProblem(f"day {beyond[0]} is not within a cycle of {self.every} days (days 0–{self.every - 1}) — write the days of one cycle, or a longer `every`", key="every")
        self.each: str = options.get("each", "group")

    @property
    def per_member(self) -> bool:
        return self.each == "member"

    def start(self, run: Run) -> None:
        # An instant exactly at the first event still counts: fire it after that event.
        run.schedule(_next_time_of_day(self.at, run.now - 1, run.tz), self, "*")

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        run.schedule(_next_time_of_day(self.at, run.now, run.tz), self, "*")
        today = run.local.day(run.now)
        created = self.community.group_created
        words = says(run)
        at = local_text(run, run.now)
        due: list[tuple[str, str, dict[str, Any]]] = []
        for group_id in run.known_groups():
            start = created.get(group_id)
            if start is None:
                group = run.groups.get(group_id)
                if group is None or group.since is None:
                    continue
                start = run.local.day(group.since)
            age = today - start
            if age < 0 or (age % self.every if self.every else age) not in self.days:
                continue
            since = date.fromordinal(start).isoformat()
            due.append((group_id, words.group_age.format(days=age, since=since, at=at), {"age_days": age}))
        return fan_out_in(run, self.each, run.now, due) if due else ()

    def describe(self) -> str:
        days = ", ".join(str(day) for day in sorted(self.days))
        return f"when a group is {days} days old" + (f", every {self.every} days" if self.every else "")


class HolidayTrigger(TriggerType):
    name = "holiday"
    default_deadline = "day"
    of_the_day = True  # the greeting is known before the day begins: it may join that morning's message
    description = "Fires on the day of a holiday (Chinese public and traditional festivals by default; `country:` for others), at `at` (default 09:00)."
    schema = {
        "title": "Holiday 节日",
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "examples": ["any", "mid_autumn", ["spring_festival", "中秋节"]],
    }
    options = {
        "country": {"type": "string", "description": "With `holiday`: ISO country code whose public holidays to use instead of the Chinese calendar.", "examples": ["US", "SG"]},
        "at": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$", "description": "With `holiday` or `group_age`: local time of day to fire (default 09:00).", "examples": ["09:00"]},
        "each": EACH,
    }

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        from playbook_engine.festivals import canonical, check_country, known_names

        super().__init__(value, options, context)
        self.country = options.get("country")
        if self.country is not None:
            problem = check_country(self.country)
            if problem:
                raise TriggerProblem(problem, key="country")
        names = [value] if isinstance(value, str) else list(value)
        self.keys: set[str] | None = None
        if names != ["any"]:
            self.keys = set()
            for name in names:
                key = canonical(name, self.country)
                if key is None:
                    known = known_names(self.country)
                    hint = suggest(name, known) or f" — known: {', '.join(known[:20])}{' …' if len(known) > 20 else ''}, or `any`"
                    raise TriggerProblem(f"unknown holiday `{name}`{hint}")
                self.keys.add(key)
        self.at = _time_of_day(options.get("at", "09:00"))
        self.each: str = options.get("each", "group")

    def _next(self, run: Run, after: float) -> tuple[float, list[str]] | None:
        from playbook_engine.festivals import festivals_in_year

        year = datetime.fromtimestamp(after, run.tz).year
        for candidate_year in (year, year + 1):
            by_day: dict[Any, list[str]] = {}
            for day, key in festivals_in_year(candidate_year, self.country):
                if self.keys is None or key in self.keys:
                    by_day.setdefault(day, []).append(key)
            for day in sorted(by_day):
                moment = datetime.combine(day, time(self.at // 3600, self.at % 3600 // 60), run.tz).timestamp()
                if moment > after:
                    return moment, by_day[day]
        return None

    @property
    def per_member(self) -> bool:
        return self.each == "member"

    def start(self, run: Run) -> None:
        self._arm(run, run.now - 1)

    def _arm(self, run: Run, after: float) -> None:
        upcoming = self._next(run, after)
        if upcoming is not None:
            run.schedule(upcoming[0], self, "*", upcoming[1])

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        from playbook_engine.festivals import label

        self._arm(run, run.now)
        firings: list[Firing] = []
        for key in payload:
            name = label(key, self.country)
            firings.extend(fan_out(run, self.each, run.now, says(run).holiday.format(name=name, date=f"{datetime.fromtimestamp(run.now, run.tz):%Y-%m-%d}"), {"holiday": key, "holiday_name": name}))
        return firings

    def describe(self) -> str:
        return f"on holiday {self.value}"
