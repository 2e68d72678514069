"""One run as independent runs of the community's parts, merged into the same plan (issue 26).

A part is a connected component of the graph whose nodes are the groups, the operators and the
members, with an edge wherever one of them can read or change another's outcome:

- operator – group: the operator takes the group's tasks (``groups:``); an operator with no
  ``groups:`` takes every group no other lists;
- member – group: the member writes, joins, leaves, reacts or buys there (an event of theirs in
  the group), is mentioned there, invites someone there (``inviter``) or takes part in one of
  its activities (``participants``). An event with no group links the members it names;
- group – group: a message id (or a reply's ``reply_to``) seen in both, or one activity id in
  both: open questions and an activity's participants are kept by those ids alone.

Two ways a task reaches an operator are known only when it is planned: a rule's ``assignee:``
(its tasks from any group), and a task with no group (a member whose first line is a
``profile``), which goes to the default operator. Linking them in advance would make most
communities one part, so they are checked after the run instead (``joins``): each part's run
records the operators its tasks were offered to; parts whose tasks met at one operator (or at
an operator of another part) are joined and run again, until none do. A part's run is the
whole run's for its keys up to the first task it offers to an operator outside it, and that
offer is what the check sees: so when no part offers outside, every part's run is exact.

Staff (``community.staff``, operators' ``member:``) are no node: no stage ever sees them as a
firing's member or a task's target, and what their messages do (answers, group counts) is the
group's. Their events go to the part of the event's group (one with no group: to every part
they write in). The one thing that can differ is how many firings about staff a run skips: a
staff account's own silence or stage in one part is not the whole history's (the summary's
``staff`` count; never a task).

What is NOT a coupling, checked in the engine: an invite into another group (``into_group``)
reads and writes only its member's marks, and its task goes to a group the member is in; a
leaderboard with ``seed:`` ranks each seed group on its own, and a member top in two groups is
in both, so in one part; limits, cooldowns, holdouts, text variants, task ids and the loop
fields are the member's; capacity, pace and merge are the operator's day; group health,
schedules and fan-outs run over the groups an event has come from (``known_groups``), so a
part's cron instants before its first event reach none of its groups.

What must be decided over the whole input, before it is split, is decided by ``screen``, as the
local runner's loop does (engine/evaluate.py ``steps``): source rejects, events out of time
order, events past ``--until`` or the ``--max-future`` horizon, a message repeated at its instant.
Each part then runs the same core (``runner.run``) over its events in input order, with the
whole run's ``start``/``until`` and, without ``until``, the instant of the whole history's last
event as its end (``end``): a part must see the same end of the run, or its timers differ.

A plugin trigger the engine does not know, an action targeting members other than those a
message mentions, or an event with neither group nor member: the community is one part
(``Parts.note`` says why), never a different plan.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from playbook_engine.contract import Event, Group, Member, Rejected, SourceRecord, Task
from playbook_engine.evaluate import Evaluation, _raw_text
from playbook_engine.events import to_event
from playbook_engine.model import Config, Rule
from playbook_engine.planner import Planner
from playbook_engine.runner import RunResult, Tally, plan, run
from playbook_engine.words import Reason

# What ``screen`` decides for the whole input: the counts the parts must not count again.
SCREENED = ("read", "accepted", "rejected", "after_until", "before_watermark")
WHOLE = "all"  # the one part's key when the community cannot be split
KNOWN_TARGETS = frozenset({"mentioned"})


@dataclass
class Screened:
    """The input as the local runner's loop sees it: the events it accepts, in input order; what
    it rejects, in the order it does; its counts of both; the instant of its last event."""

    events: list[Event]
    rejected: list[Rejected]
    counts: Counter[str]
    last: float | None


def screen(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, until: float | None = None, max_future: float | None = None) -> Screened:
    """What ``Evaluation.steps`` accepts and rejects of ``items``, without evaluating them
    (no --state: a state's watermark is the local runner's alone)."""
    tz = config.community.tz
    stream: Iterable[Event | Rejected] = (to_event(item, tz) for item in items)
    if max_future is not None:
        horizon = Evaluation(config, Planner(config.community), until=until, max_future=max_future)
        stream = horizon._within_horizon(stream, max_future)  # the same judgement of a date far ahead, and the same words
    counts: Counter[str] = Counter()
    events: list[Event] = []
    rejected: list[Rejected] = []
    now = -math.inf
    instant: float | None = None
    at_instant: list[Event] = []
    for item in stream:
        counts["read"] += 1
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        if item.t < now:
            when = datetime.fromtimestamp(now, tz).isoformat(timespec="seconds")
            rejected.append(Rejected(item.line, Reason("older", when=when), _raw_text(item)))
            continue
        if until is not None and item.t > until:
            counts["after_until"] += 1
            continue
        if item.t != instant:
            instant, at_instant = item.t, []
        elif item.id is not None and item.type == "message":
            earlier = next((seen for seen in at_instant if seen.id == item.id and seen.group == item.group and seen.type == "message"), None)
            if earlier is not None:
                rejected.append(Rejected(item.line, Reason("same_message", id=item.id, line=earlier.line), _raw_text(item)))
                continue
        counts["accepted"] += 1
        at_instant.append(item)
        events.append(item)
        now = item.t
    counts["rejected"] = len(rejected)
    return Screened(events, rejected, counts, events[-1].t if events else None)


class _Components:
    """Union-find over node names (``g:ID``, ``o:ID``, ``m:ID``)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        parent = self.parent
        root = parent.setdefault(node, node)
        while parent[root] != root:
            root = parent[root]
        while node != root:  # every node on the way now points at the root
            parent[node], node = root, parent[node]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the smaller name is the root: the key does not depend on the order of edges


def unsplittable(config: Config, events: Iterable[Event] = ()) -> str | None:
    """Why the community must run as one part, or None."""
    for rule in config.rules:
        module = type(rule.trigger).__module__
        if not module.startswith(("playbook_engine.", "playbook_plugins.")):
            return f"rule {rule.key}: trigger `{rule.trigger.name}` comes from a plugin ({module}), which may read other groups' members"
        for action in rule.actions:
            unknown = sorted(set(action.kind.targets) - KNOWN_TARGETS)
            if unknown:
                return f"rule {rule.key}: action `{action.kind.name}` targets {', '.join(unknown)}, which may be members of other groups"
    for event in events:
        if event.group is None and event.member is None:
            return f"line {event.line}: an event with neither group nor member (`{event.type}`) may concern every group"
    return None


def part_keys(config: Config, events: list[Event]) -> tuple[list[list[str]], dict[str, str], str | None]:
    """For each event (in order), the parts it goes to (one, but for a staff event with no
    group); each operator's part; and why the community is one part if it is."""
    why = unsplittable(config, events)
    if why is not None:
        return [[WHOLE] for _ in events], {operator.id: WHOLE for operator in config.community.operators}, why
    community = config.community
    staff = community.staff
    graph = _Components()
    covered: set[str] = set()
    catch_all = [operator.id for operator in community.operators if not operator.groups]
    for operator in community.operators:
        graph.find("o:" + operator.id)
        for group in operator.groups:
            graph.union("o:" + operator.id, "g:" + group)
            covered.add(group)
    groups = set(community.group_names)
    ids: dict[str, str] = {}  # message id → the group it was first seen in
    for event in events:
        if event.group is not None:
            groups.add(event.group)
            graph.find("g:" + event.group)
            # Questions are kept by message id, activities' participants by activity id: the
            # same id in two groups (or a reply to another group's message) is one key there.
            for key in (event.id, event.reply_to):
                if key is not None and ids.setdefault(key, event.group) != event.group:
                    graph.union("g:" + ids[key], "g:" + event.group)
            if event.activity is not None:
                graph.union("a:" + event.activity, "g:" + event.group)
        people = [person for person in (event.member, event.inviter, *event.mentions, *event.participants) if person is not None and person not in staff]
        if event.group is not None:
            for person in people:
                graph.union("g:" + event.group, "m:" + person)
        else:
            for person in people:
                graph.union("m:" + people[0], "m:" + person)
    for group in sorted(groups):
        if catch_all and group not in covered:
            graph.union("o:" + catch_all[0], "g:" + group)
    named: dict[str, str] = {}  # a part is named after its first group in id order
    for group in sorted(groups):
        named.setdefault(graph.find("g:" + group), group)
    keys: list[list[str]] = []
    staff_parts: dict[str, set[str]] = {}
    for event in events:
        if event.group is not None:
            root = graph.find("g:" + event.group)
        elif event.member is not None and event.member not in staff:
            root = graph.find("m:" + event.member)
        else:
            keys.append([])  # a staff event with no group: where that staff writes, below
            continue
        key = named.get(root, root)
        keys.append([key])
        if event.member is not None and event.member in staff:
            staff_parts.setdefault(event.member, set()).add(key)
    first = min((key[0] for key in keys if key), default=WHOLE)
    for index, event in enumerate(events):
        if not keys[index]:
            keys[index] = sorted(staff_parts.get(event.member or "", ())) or [first]
    owners = {}
    for operator in community.operators:
        root = graph.find("o:" + operator.id)
        owners[operator.id] = named.get(root, root)
    return keys, owners, None


def partition(config: Config, events: list[Event]) -> dict[str, list[Event]]:
    """The events of each independent part of the community, in the order the local runner
    reads them (their input order), by the part's key: its first group's id (else its first
    node's name, ``m:ID``); ``all`` when the community cannot be split."""
    return _parts(events, part_keys(config, events)[0])


def _parts(events: list[Event], keys: list[list[str]]) -> dict[str, list[Event]]:
    parts: dict[str, list[Event]] = {}
    for event, into in zip(events, keys, strict=True):
        for key in into:
            parts.setdefault(key, []).append(event)
    return dict(sorted(parts.items()))


@dataclass
class Outcome:
    """What one part's run gives the merged plan: plain data (a Beam worker sends it back)."""

    tasks: list[Task]
    counts: Counter[str]
    tally: Tally
    suppressed: Counter[str]
    moved: Counter[str]
    history_only: int
    stages: dict[str, str]  # member → stage (the summary counts members by stage)
    groups: list[tuple[str, str | None, str | None, int, float | None]]  # id, name, channel, messages, since
    orphans: Counter[str] = field(default_factory=Counter)
    assignees: frozenset[str] = frozenset()  # the operators any of its tasks was offered to (``joins``)
    full_past_deadline: int = 0  # of its `deadline` drops, those a full day caused (the summary says so)


def portable(task: Task) -> Task:
    """``task`` without what the run kept to write it (closures, the evaluation's objects):
    everything the output formats read, and it pickles."""
    return replace(task, details=None, render=None, source=None, merged=None)


def run_part(config: Config, events: Iterable[Event], *, start: float | None = None, until: float | None = None, end: float | None = None) -> Outcome:
    """The local runner's core over one part's events (already screened)."""
    stream = plan(config, events, start=start, until=until, keep_suppressed=False, end=end)
    planner = stream.planner
    offer = planner.offer
    assignees: set[str] = set()

    def offered(tasks: list[Task], rule: Rule) -> list[Task]:
        assignees.update(task.assignee for task in tasks if task.assignee is not None)
        return offer(tasks, rule)

    setattr(planner, "offer", offered)  # noqa: B010  # this planner's offers, seen on their way in: the enforcer looks the method up on each call
    tasks = list(stream)
    result = stream.result
    evaluation = result.evaluation
    return Outcome(
        [portable(task) for task in tasks],
        Counter({key: value for key, value in result.counts.items() if key not in SCREENED}),
        result.tally,
        Counter(planner.suppressed_counts),
        Counter(result.moved),
        result.history_only,
        {member.id: member.stage for member in evaluation.members.values() if member.stage is not None},
        [(group.id, group.name, group.channel, group.messages, group.since) for group in evaluation.groups.values()],
        Counter(evaluation.matcher.orphans),
        frozenset(assignees),
        planner.full_past_deadline,
    )


def joins(owners: Mapping[str, str], outcomes: Mapping[str, Outcome]) -> list[list[str]]:
    """The parts to join and run again, because their tasks met at one operator (offered to it by
    two parts, or by one part and the operator's own): each list becomes one part; none when
    every part's run was exact."""
    graph = _Components()
    users: dict[str, list[str]] = {}
    for key, outcome in outcomes.items():
        graph.find(key)
        for operator in outcome.assignees:
            users.setdefault(operator, []).append(key)
    for operator, keys in users.items():
        owner = owners.get(operator)
        met = [*keys, owner] if owner is not None and owner in outcomes and owner not in keys else keys
        for key in met[1:]:
            graph.union(met[0], key)
    together: dict[str, list[str]] = {}
    for key in outcomes:
        together.setdefault(graph.find(key), []).append(key)
    return sorted(sorted(keys) for keys in together.values() if len(keys) > 1)


def output_order(task: Task) -> tuple[Any, ...]:
    """The local runner's order of the plan: each local day settled in turn, its tasks sorted so
    (engine/planner.py ``_settle``); pace keeps a task in its day, so the days never interleave."""
    return (task.due, -task.rank, task.order, task.id)


def merge(config: Config, screened: Screened, outcomes: Iterable[Outcome], *, start: float | None = None, until: float | None = None) -> RunResult:
    """One run's result from its parts': the tasks in the local runner's order, the counts
    summed, the rejects and what was read counted once (``screened``)."""
    shell = run(config, [], start=start, until=until, keep_suppressed=False)  # the whole run's objects, with nothing in them yet
    evaluation, planner = shell.evaluation, shell.planner
    assert planner is not None
    tasks: list[Task] = []
    counts: Counter[str] = Counter()
    tally = shell.tally
    for outcome in outcomes:
        tasks += outcome.tasks
        counts.update(outcome.counts)
        tally.total += outcome.tally.total
        tally.by_action.update(outcome.tally.by_action)
        tally.by_playbook.update(outcome.tally.by_playbook)
        tally.by_day.update(outcome.tally.by_day)
        tally.unassigned.update(outcome.tally.unassigned)
        planner.suppressed_counts.update(outcome.suppressed)
        planner.full_past_deadline += outcome.full_past_deadline
        shell.moved.update(outcome.moved)
        shell.history_only += outcome.history_only
        evaluation.matcher.orphans.update(outcome.orphans)
        for member_id, stage in outcome.stages.items():
            member = evaluation.members.get(member_id)
            if member is None:
                member = evaluation.members[member_id] = Member(member_id)
            member.stage = stage  # a staff account may be in several parts: the summary leaves staff out
        for group_id, name, channel, messages, since in outcome.groups:
            evaluation.groups[group_id] = Group(group_id, name, channel, messages=messages, since=since)
    tasks.sort(key=output_order)
    for key in SCREENED:
        counts[key] = screened.counts[key]
    shell.counts.clear()
    shell.counts.update({key: value for key, value in counts.items() if value})
    shell.tasks = tasks
    shell.rejected = screened.rejected
    evaluation.rejected = screened.rejected
    return shell


@dataclass
class Parts:
    """The input screened and split: the parts each event goes to, each operator's part, why the
    community is one part if it is, and how many times parts were joined and run again."""

    screened: Screened
    keys: list[list[str]]
    owners: dict[str, str]
    note: str | None
    rounds: int = 0

    @property
    def parts(self) -> dict[str, list[Event]]:
        return _parts(self.screened.events, self.keys)

    def join(self, joined: list[list[str]]) -> list[str]:
        """Join each list of parts into its first; return the joined parts' keys."""
        renamed = {key: keys[0] for keys in joined for key in keys}
        self.keys = [list(dict.fromkeys(renamed.get(key, key) for key in into)) for into in self.keys]  # a staff line in two joined parts: once
        self.owners = {operator: renamed.get(key, key) for operator, key in self.owners.items()}
        self.rounds += 1
        return [keys[0] for keys in joined]


def split(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, until: float | None = None, max_future: float | None = None) -> Parts:
    """``items`` screened (``screen``), then split into parts (``partition``)."""
    screened = screen(config, items, until=until, max_future=max_future)
    keys, owners, note = part_keys(config, screened.events)
    return Parts(screened, keys, owners, note)


def run_split(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, start: float | None = None, until: float | None = None, max_future: float | None = None) -> tuple[RunResult, Parts]:
    """The local runner's result, computed part by part in this process (what the Beam runner
    does on its workers): the property tests/test_partition.py checks."""
    parts = split(config, items, until=until, max_future=max_future)
    end = parts.screened.last
    outcomes = {key: run_part(config, events, start=start, until=until, end=end) for key, events in parts.parts.items()}
    while joined := joins(parts.owners, outcomes):
        for keys in joined:
            for key in keys:
                del outcomes[key]
        fresh = parts.join(joined)
        events = parts.parts
        for key in fresh:
            outcomes[key] = run_part(config, events[key], start=start, until=until, end=end)
    return merge(config, parts.screened, [outcomes[key] for key in sorted(outcomes)], start=start, until=until), parts
