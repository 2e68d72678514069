"""Triggers on counts: `leaderboard` (top-N per group on a schedule) and `milestone`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from playbook_engine.contract import (
    Event,
    Firing,
    Member,
    Run,
    TriggerContext,
    TriggerProblem,
    TriggerType,
)
from playbook_engine.members import local_day
from playbook_engine.triggers.common import EACH, _duration, says
from playbook_engine.triggers.schedule import _check_cron, cron_minutes, next_cron

LEADERBOARD_METRICS: dict[str, str] = {
    "messages": "message",
    "replies": "message",
    "questions": "message",
    "mentions_received": "message",
    "active_days": "message",
    "reactions": "reaction",
    "activities": "activity_joined",
    "purchases": "purchase",
    "amount": "purchase",
}
# The metrics that count some of their events only, or for others than the event's member;
# the rest count one for the member of each (the usual case, told apart by one test).
_NOT_ONE_EACH = frozenset({"mentions_received", "replies", "questions", "amount"})


class LeaderboardTrigger(TriggerType):
    """Top-N per group by a metric over a sliding window of whole days, at each cron instant.

    Counts are kept per group per local day, so a ranking costs the window's buckets, not a
    rescan of history. Each group's first counted day is kept too: a ranking says how many
    days of its window the history covers (``trigger.history_days``), so a "last month" made
    from one day of data can be told apart from a full one, in one run or in daily runs.
    With ``by: ATTRIBUTE`` the ranked are the values of that member attribute (teams): each
    scores the sum of its members' counts.
    """

    name = "leaderboard"
    default_deadline = "day"
    description = "At each `every` cron instant, fires for the top-N members of each group by `metric` over `window` (`each: group` fires once per group with the whole list in trigger.top)."
    schema = {
        "type": "object",
        "required": ["metric", "every"],
        "additionalProperties": False,
        "properties": {
            "metric": {"enum": sorted(LEADERBOARD_METRICS), "description": "What is counted."},
            "window": {"type": "string", "description": "Sliding window in whole days (default 30d).", "examples": ["7d", "30d"]},
            "top": {"type": "integer", "minimum": 1, "description": "How many members (default 3).", "title": "Top", "examples": [3, 10]},
            "every": {"type": "string", "description": "Cron expression: when the ranking is made.", "examples": ["0 20 1,16 * *"]},
            "seed": {
                "type": "boolean",
                "title": "Seed groups only 只在种子群",
                "description": "Rank only in the groups community.yaml marks `seed: true` (种子用户群). A member top in another group too is then ranked here, not there.",
                "examples": [True],
            },
            "by": {
                "type": "string",
                "pattern": "^[^\\s.]+$",
                "title": "By 按属性分组",
                "description": "Rank the values of this member attribute (e.g. `team`: 分阵营) instead of members: a value scores the sum of its members' counts (active_days: member-days). Members without it are not counted. `each: member` fires for every member who counted of the top values.",
                "examples": ["team"],
            },
        },
        "title": "Leaderboard 排行榜",
        "examples": [{"metric": "messages", "window": "30d", "top": 3, "every": "0 20 1,16 * *"}],
    }
    options = {"each": EACH}
    uses_event = False

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.metric = value["metric"]
        self.cron = _check_cron(value["every"], key="every")
        window = _duration(value.get("window", "30d"))
        if window % 86400:
            raise TriggerProblem(f"window `{value.get('window')}` must be whole days — write e.g. 7d or 30d", key="window")
        self.days = window // 86400
        self.top = value.get("top", 3)
        self.each: str = options.get("each", "member")
        self.by: str | None = value.get("by")
        self.seed_only = value.get("seed", False) is True
        self.listens = frozenset({LEADERBOARD_METRICS[self.metric]})
        # Rankings of the same metric over the same window read the same counts.
        self.counts_key = f"@leaderboard/{self.metric}/{self.days}d"
        self.since_key = self.counts_key + "#since"  # group → the first local day counted there
        # The run on_event last counted for, and its counts: looked up once per run, not at
        # every message (a run's stores stay the same dicts all through it).
        self._counts_of: Run | None = None
        self._counts: dict[Any, Any] = {}

    @classmethod
    def checked_together(cls, triggers: list[TriggerType]) -> LeaderboardCounts:
        return LeaderboardCounts([trigger for trigger in triggers if isinstance(trigger, LeaderboardTrigger)])

    @property
    def per_member(self) -> bool:
        return self.each != "group"

    def fire_minutes(self) -> frozenset[int]:
        return cron_minutes(self.cron)

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if event.group is not None:
            self.count(run, event, member, run.local.day(event.t))
        return ()

    def count(self, run: Run, event: Event, member: Member | None, day: int) -> None:
        """Count ``event``, of a group, on its local ``day`` (found once for every leaderboard
        that counts it: see LeaderboardCounts)."""
        metric = self.metric
        # Whom the event counts for, and how much; None: its own member, once (the usual case,
        # for which no list is made at every message).
        credited: list[tuple[str, float]] | None = None
        if metric in _NOT_ONE_EACH:
            if metric == "mentions_received":
                credited = _mentions_credited(event)
            elif member is None:
                return
            elif metric == "replies" and not event.reply_to:
                return
            elif metric == "questions" and not run.is_question(event):
                return
            elif metric == "amount":
                credited = [(member.id, float(event.amount or 0))]
        elif member is None:
            return
        if self._counts_of is not run:
            self._counts, self._counts_of = run.store(self.counts_key), run
        by_group = self._counts  # group → [[local day, {member: count}], …], at most `days` long
        buckets = by_group.get(event.group)
        if buckets is None:
            buckets = by_group[event.group] = []
        if not buckets or buckets[-1][0] != day:
            since = run.store(self.since_key)
            if event.group not in since:  # its first day counted (a state from before: its oldest kept)
                since[event.group] = buckets[0][0] if buckets else day
            buckets.append([day, {}])
            while buckets[0][0] <= day - self.days:  # a new day: the oldest may have left the window
                del buckets[0]
        counts = buckets[-1][1]
        if credited is None:  # one for the event's member
            member_id = member.id  # type: ignore[union-attr]  # credited is None only with a member
            counts[member_id] = 1.0 if metric == "active_days" else counts.get(member_id, 0.0) + 1.0
            return
        for member_id, amount in credited:
            counts[member_id] = 1.0 if metric == "active_days" else counts.get(member_id, 0.0) + amount

    def start(self, run: Run) -> None:
        run.schedule(next_cron(self.cron, run.now - 1, run.tz), self, "*")

    def totals(self, run: Run, group_id: str) -> list[tuple[str, float]]:
        """Each member's count over the window in the group, among its members who are not
        staff: the community's own people take no place in a ranking (and leave none empty)."""
        today = local_day(run.now, run.tz)
        totals: dict[str, float] = {}
        for day, counts in run.store(self.counts_key).get(group_id, ()):
            if day > today - self.days:
                for member_id, count in counts.items():
                    totals[member_id] = totals.get(member_id, 0.0) + count
        group = run.groups.get(group_id)
        staff = self.community.staff
        return [(member_id, total) for member_id, total in totals.items() if total > 0 and group and member_id in group.members and member_id not in staff]

    def ranking(self, run: Run, group_id: str) -> list[tuple[str, float]]:
        """The group's top-N members by the metric over the window (see ``totals``), ties in
        id order. Members tied with the Nth share its place (并列): all of them are in, unless
        that makes more than twice N — then none of them is (a place six in ten share is no
        place), and the ranking is shorter. Nobody is in or out of a reward by their id."""
        eligible = self.totals(run, group_id)
        eligible.sort(key=lambda pair: (-pair[1], pair[0]))
        if len(eligible) <= self.top:
            return eligible
        last = eligible[self.top - 1][1]
        if eligible[self.top][1] != last:
            return eligible[: self.top]
        tied_from = next(index for index, (_, total) in enumerate(eligible) if total == last)
        tied_to = next((index for index, (_, total) in enumerate(eligible) if total < last), len(eligible))
        return eligible[:tied_to] if tied_to <= 2 * self.top else eligible[:tied_from]

    def history_days(self, run: Run, group_id: str) -> int:
        """How many days of the window the history covers in the group: from the first day
        counted there (an older state without it: its oldest day still counted), today
        included, at most the window."""
        today = local_day(run.now, run.tz)
        first = run.store(self.since_key).get(group_id)
        if first is None:
            buckets = run.store(self.counts_key).get(group_id)
            first = buckets[0][0] if buckets else today
        return max(0, min(self.days, today - first + 1))

    def ranked_groups(self, run: Run) -> list[str]:
        """The groups ranked: every group seen, or with ``seed: true`` the seed groups among them."""
        groups = run.known_groups()
        return [group for group in groups if group in self.community.seed_groups] if self.seed_only else groups

    def on_timer(self, run: Run, subject: str, payload: Any) -> Iterable[Firing]:
        run.schedule(next_cron(self.cron, run.now, run.tz), self, "*")
        words = says(run)
        window = words.window.format(metric=words.metrics.get(self.metric, self.metric), days=self.days)
        firings = []
        rewarded: set[str] = set()
        for group_id in self.ranked_groups(run):
            standing = self._teams(run, group_id) if self.by is not None else self._members(run, group_id)
            if not standing:
                continue
            top = [item for item, _ in standing]
            group_name = run.groups[group_id].name or group_id  # community.yaml's name, else the export's (totals() found the group)
            covered = {"window_days": self.days, "history_days": self.history_days(run, group_id)}
            if self.each == "group":
                names = ", ".join(f"{item['name']} {item['value']}" for item in top)
                firings.append(Firing(None, group_id, run.now, words.top.format(count=len(top), window=window, group=group_name, names=names), values={"top": top, **covered}))
                continue
            for item, counted in standing:
                for member_id, total in counted:
                    if member_id in rewarded:
                        continue  # top (or in a top team) in two groups is still one person: one firing, in the first group
                    rewarded.add(member_id)
                    tied = sum(1 for other in top if other["rank"] == item["rank"]) > 1  # a place shared (并列)
                    if self.by is None:
                        value, values = item["value"], {"rank": item["rank"], "tied": tied, "value": item["value"], "top": top, **covered}
                    else:
                        value = f"{item['team']} {item['value']}"
                        values = {"rank": item["rank"], "tied": tied, "team": item["team"], "value": item["value"], "member_value": _number(total), "top": top, **covered}
                    reason = (words.rank_tied if tied else words.rank).format(rank=item["rank"], window=window, group=group_name, value=value)
                    firings.append(Firing(run.members[member_id], group_id, run.now, reason, values=values))
        return firings

    def _members(self, run: Run, group_id: str) -> list[tuple[dict[str, Any], list[tuple[str, float]]]]:
        """The group's top-N members, each as ``trigger.top`` shows it with the member it is."""
        return [
            ({"rank": rank, "member": member_id, "name": run.members[member_id].name or member_id, "value": _number(total)}, [(member_id, total)])
            for rank, (member_id, total) in _places(self.ranking(run, group_id))
        ]

    def _teams(self, run: Run, group_id: str) -> list[tuple[dict[str, Any], list[tuple[str, float]]]]:
        """The top-N values of the ``by`` attribute (teams) in the group, each with the members
        who counted for it: a value scores the sum of its members' counts, and says how many of
        them counted (``active``). Ties go to the value first in text order, as members' do to
        the smaller id."""
        teams: dict[str, list[tuple[str, float]]] = {}
        for member_id, total in self.totals(run, group_id):
            team = run.members[member_id].attributes.get(self.by)  # type: ignore[arg-type]  # set in this mode
            if team is not None and str(team).strip():
                teams.setdefault(str(team), []).append((member_id, total))
        scored = sorted(teams.items(), key=lambda pair: (-sum(total for _, total in pair[1]), pair[0]))[: self.top]
        return [
            ({"rank": rank, "team": team, "name": team, "value": _number(sum(total for _, total in counted)), "active": len(counted)}, sorted(counted))
            for rank, (team, counted) in enumerate(scored, 1)
        ]

    def describe(self) -> str:
        return f"top {self.top} by {self.metric} ({self.days}d)" + (f" per {self.by}" if self.by else "") + (" in seed groups" if self.seed_only else "")


def _places(ranked: list[tuple[str, float]]) -> list[tuple[int, tuple[str, float]]]:
    """Each of ``ranked`` (highest first) with its place: equal values share one (1, 2, 2, 4)."""
    places: list[tuple[int, tuple[str, float]]] = []
    for index, pair in enumerate(ranked):
        place = places[-1][0] if index and pair[1] == ranked[index - 1][1] else index + 1
        places.append((place, pair))
    return places


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


MILESTONE_METRICS = ("messages", "replies", "questions", "mentions_received", "activities", "points")


class MilestoneTrigger(TriggerType):
    name = "milestone"
    default_deadline = "day"
    description = "Fires when a member's metric first reaches each of the values in `at` (checked on the member's own events)."
    schema = {
        "type": "object",
        "required": ["metric", "at"],
        "additionalProperties": False,
        "properties": {
            "metric": {"enum": list(MILESTONE_METRICS), "description": "Member field to watch."},
            "at": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "description": "Values to celebrate, e.g. [100, 500, 1000].", "title": "At", "examples": [[100, 500, 1000]]},
        },
        "title": "Milestone 里程碑",
        "examples": [{"metric": "messages", "at": [100, 500, 1000]}],
    }
    listens = frozenset({"*"})

    def __init__(self, value: Any, options: Mapping[str, Any], context: TriggerContext):
        super().__init__(value, options, context)
        self.metric = value["metric"]
        self.thresholds = sorted(set(value["at"]))
        self.reached_key = self.key + "#reached"

    def on_event(self, run: Run, event: Event, member: Member | None) -> Iterable[Firing]:
        if member is None or event.type.startswith("@"):
            return
        current = getattr(member, self.metric)
        reached = member.marks.get(self.reached_key, 0)
        for threshold in self.thresholds:
            if reached < threshold <= current:
                member.marks[self.reached_key] = threshold
                words = says(run)
                yield Firing(member, event.group or member.group, event.t, words.milestone.format(metric=words.metrics.get(self.metric, self.metric), threshold=threshold), values={"milestone": threshold, "value": current})

    def describe(self) -> str:
        return f"{self.metric} reaches {', '.join(map(str, self.thresholds))}"


class LeaderboardCounts:
    """Counts every leaderboard's events once per metric and window, however many rules rank
    them; each rule still ranks on its own cron instants (its own timers)."""

    key = "@leaderboard"

    def __init__(self, triggers: list[LeaderboardTrigger]):
        counters: dict[str, LeaderboardTrigger] = {}
        for trigger in triggers:
            counters.setdefault(trigger.counts_key, trigger)
        self.counters = list(counters.values())
        self.listens = frozenset().union(*(trigger.listens for trigger in triggers))

    def start(self, run: Run) -> None:
        pass

    def on_event(self, run: Run, event: Event, member: Member | None) -> list[tuple[TriggerType, Firing]]:
        if event.group is None:
            return []  # no leaderboard counts an event outside a group
        day = run.local.day(event.t)  # once for every counter: most count every message
        for counter in self.counters:
            if event.type in counter.listens:
                counter.count(run, event, member, day)
        return []

    def on_timer(self, run: Run, subject: str, payload: Any) -> list[tuple[TriggerType, Firing]]:
        return []


def _mentions_credited(event: Event) -> list[tuple[str, float]]:
    """One mention received for each member ``event`` mentions, but its sender. (A function
    of its own: a comprehension in ``on_event`` would make ``event`` a closure cell at every
    call, whatever the metric.)"""
    return [(mentioned, 1.0) for mentioned in event.mentions if mentioned != event.member]
