"""``run()``: load, read, evaluate, plan — the whole dry run as one typed function."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playbook_engine.contract import Event, Rejected, SourceRecord, Task
from playbook_engine.errors import InvalidInput
from playbook_engine.evaluate import Evaluation
from playbook_engine.events import to_event
from playbook_engine.localtime import local_time
from playbook_engine.members import group_name
from playbook_engine.model import Community, Config
from playbook_engine.notes import Counts, ExplainNotes, Note, Notes
from playbook_engine.planner import Planner, Suppressed, firing_of
from playbook_engine.plugins import Registry
from playbook_engine.state import Lookback, StateStore, printed_parts, task_data
from playbook_engine.words import SummaryWords, summary_words


@dataclass
class Tally:
    """How many tasks were planned, by action, playbook and local day (YYYY-MM-DD): what the summary shows."""

    total: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_playbook: Counter[str] = field(default_factory=Counter)
    by_day: Counter[str] = field(default_factory=Counter)
    unassigned: Counter[str] = field(default_factory=Counter)  # group → tasks in it no operator takes

    def add(self, task: Task, tz: ZoneInfo) -> None:
        self.total += 1
        self.by_action[task.action] += 1
        self.by_playbook[task.playbook] += 1
        self.by_day[local_time(tz).date_text(task.due)] += 1
        if task.assignee is None and task.group is not None:
            self.unassigned[task.group] += 1

    def days(self) -> list[tuple[str, int]]:
        """Tasks per local day in date order, labelled MM-DD when every day is in one year, else
        YYYY-MM-DD: a run over several years must not mix its Januaries."""
        days = sorted(self.by_day.items())
        if len({day[:4] for day, _ in days}) > 1:
            return days
        return [(day[5:], count) for day, count in days]


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
    tally: Tally = field(default_factory=Tally)  # counts of the planned tasks (the tasks themselves may have been streamed out)
    records: dict[str, str] = field(default_factory=dict, repr=False)  # with --state: each printed task's JSON record, by id
    # With --state: the tasks the last run planned ahead that this one took out to plan again
    # (``StateStore.drop_ahead``), and the tasks planned ahead after it (engine/ahead.py).
    ahead_dropped: list[str] = field(default_factory=list, repr=False)
    ahead: list[Task] = field(default_factory=list, repr=False)
    saved: bool = field(default=False, repr=False)

    def save_state(self) -> None:
        """Commit this run to its --state database (after the tasks were written), once."""
        if self.state is not None and self.planner is not None and not self.saved:
            with _fewer_collections():  # encoding every loaded member allocates as much as the run did
                self.state.save(self.evaluation, self.planner, self.records)
            self.saved = True

    def ahead_gone(self) -> list[str]:
        """The tasks the last run planned ahead that neither this run nor its own look ahead
        plans again: the history showed them no longer needed (those kept, marked or delivered,
        taken back as stale when the run was saved)."""
        again = {task.id for task in self.ahead}
        dropped = [task_id for task_id in self.ahead_dropped if task_id not in self.records and task_id not in again]
        return dropped + (self.state.ahead_gone if self.state is not None else [])

    def undeclared_groups(self, community: Community, shown: int = 10) -> str | None:
        """The groups the history shows that community.yaml does not list, with their message
        counts, said once: they have no operator of their own and, unless the export names
        them, only their id as a name."""
        groups = sorted((group for group in self.evaluation.groups.values() if group.id not in community.group_names), key=lambda group: (-group.messages, group.id))
        if not groups:
            return None
        words = summary_words(community.language)
        listed = _groups_listed([(group.id, group.name or group.id, group.messages) for group in groups], "message", shown, words)
        return words.undeclared_groups.format(count=len(groups), s=_s(len(groups)), file=community.file or "community.yaml", listed=listed)

    def unread_groups(self, community: Community, shown: int = 10) -> str | None:
        """The groups whose events this --state run skipped as older than the watermark though
        no earlier run read that group (one export per group, run one after the other)."""
        counted = self._counted(self.evaluation.unread_groups, "event", community, shown)
        if counted is None:
            return None
        events, several, listed, words = counted
        watermark = datetime.fromtimestamp(self.evaluation.watermark or 0, community.tz).isoformat(timespec="seconds")
        return words.unread_groups.format(events=events, s=_s(events), which=words.one_or_more_groups[several], listed=listed, watermark=watermark)

    def unassigned_groups(self, community: Community, shown: int = 10) -> str | None:
        """The groups whose tasks no operator takes (every operator lists their `groups:`, and
        none lists these), said once with their task counts."""
        counted = self._counted(self.tally.unassigned, "task", community, shown)
        if counted is None:
            return None
        tasks, several, listed, words = counted
        return words.unassigned_groups.format(tasks=tasks, s=_s(tasks), file=community.file or "community.yaml", which=words.one_or_more_groups[2 + several], listed=listed)

    def _counted(self, counts: Mapping[str, int], noun: str, community: Community, shown: int) -> tuple[int, bool, str, SummaryWords] | None:
        """Groups with a count each (``noun``: what is counted), most first: the total, whether
        there are several, the list as the warnings show it, and the words of the community's
        language; None without any."""
        groups = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if not groups:
            return None
        words = summary_words(community.language)
        listed = _groups_listed([(group, group_name(self.evaluation.groups, community.group_names, group), count) for group, count in groups], noun, shown, words)
        return sum(count for _, count in groups), len(groups) > 1, listed, words

    def summary(self, language: str | None = None) -> str:
        """The summary's first line, in ``language`` (``community.language``; default English)."""
        words = summary_words(language)
        action_names = self.evaluation.community.action_names
        counts = self.counts
        planned = self.tally
        listed = words.separator.join

        full = self.planner.full_past_deadline if self.planner is not None else 0

        def reasons(counted: Mapping[str, int]) -> str:
            return listed(f"{words.reasons.get(name, name)} {count}" + (words.deadline_full.format(count=full) if name == "deadline" and full else "") for name, count in sorted(counted.items()))

        actions = listed(f"{action_names.get(name, name)} {count}" for name, count in sorted(planned.by_action.items()))
        line = words.read.format(read=counts["read"], accepted=counts["accepted"], rejected=counts["rejected"])
        if counts["before_watermark"]:
            line += words.before_watermark.format(count=counts["before_watermark"])
        if counts["after_until"]:
            line += words.after_until.format(count=counts["after_until"])
        if counts["unconfirmed"]:
            held = self.evaluation.unconfirmed or []
            line += words.unconfirmed.format(count=counts["unconfirmed"], lines=", ".join(str(event.line) for event in held[:3]) + (" …" if len(held) > 3 else ""))
        line += words.planned.format(count=planned.total) + (f"{words.brackets[0]}{actions}{words.brackets[1]}" if actions else "")
        by_guardrail = self.planner.suppressed_counts if self.planner is not None else Counter(item.guardrail for item in self.suppressed)
        if by_guardrail:
            line += words.suppressed.format(count=sum(by_guardrail.values())) + words.brackets[0] + reasons(by_guardrail) + words.brackets[1]
        if self.moved:
            line += words.moved + reasons(self.moved)
        if counts["staff"]:
            line += words.staff.format(count=counts["staff"])
        orphans = self.evaluation.matcher.orphans
        if orphans:
            names = ", ".join(sorted(key.split("#")[0] for key in orphans)[:3]) + (" …" if len(orphans) > 3 else "")
            line += words.orphans.format(count=sum(orphans.values()), names=names)
        if self.planner is not None:
            line += _taken_back(self.planner, words)
        gone = self.ahead_gone()
        if gone:
            line += words.ahead_gone.format(count=len(gone), ids=", ".join(gone[:5]) + (" …" if len(gone) > 5 else ""))
        if counts["duplicates"]:
            line += words.duplicates.format(count=counts["duplicates"], s="s" if counts["duplicates"] != 1 else "")
        if self.history_only:
            line += words.history_only.format(count=self.history_only)
        return line


def _groups_listed(groups: list[tuple[str, str, int]], noun: str, shown: int, words: SummaryWords) -> str:
    """``g2 「二群」 (12 messages), …`` for (id, name, count), the first ``shown`` and how many more."""
    count_words, (opening, closing) = words.group_count[noun], words.brackets
    listed = words.separator.join(group + (f" 「{name}」" if name != group else "") + opening + count_words.format(count=count, s=_s(count)) + closing for group, name, count in groups[:shown])
    return listed + (words.more_groups.format(count=len(groups) - shown) if len(groups) > shown else "")


def _s(count: int) -> str:
    """English's plural ending for ``count`` (the Chinese words have no ``{s}``)."""
    return "s" if count != 1 else ""


def _taken_back(planner: Planner, words: SummaryWords) -> str:
    """What the summary says of the tasks earlier --state runs printed that this run changed."""
    def ids(tasks: list[str]) -> str:
        return ", ".join(tasks[:5]) + (" …" if len(tasks) > 5 else "")
    line = ""
    if planner.withdrawn:
        line += words.withdrawn.format(count=len(planner.withdrawn), ids=ids([item[1] for item in planner.withdrawn]))
    if planner.displaced:
        line += words.displaced.format(count=len(planner.displaced), ids=ids([item[1] for item in planner.displaced]))
    if planner.merged_away:
        line += words.merged_away.format(count=len(planner.merged_away), ids=ids([item[1] for item in planner.merged_away]))
    if planner.revised:
        line += words.revised.format(count=len(planner.revised), ids=ids([task.id for task in planner.revised]))
    return line


def read_source(registry: Registry, source: str, path: str, options: Mapping[str, Any] | None = None) -> Iterator[SourceRecord | Rejected]:
    """Records from ``path`` through the event-source plugin ``source``."""
    if source not in registry.sources:
        raise InvalidInput(f"unknown event source `{source}` — installed: {', '.join(sorted(registry.sources))}")
    if path != "-" and not Path(path).exists():
        raise InvalidInput(f"{path}: no such file or directory")
    refusals = [other.refuses for other in registry.sources.values() if other.refuses is not None]
    if refusals and path != "-" and Path(path).is_file():
        head = _head(path)
        for refuses in refusals:
            why = refuses(head)
            if why is not None:
                raise InvalidInput(f"{path}:1:1: {why}")
    return registry.sources[source].read(path, options or {})


def _head(path: str) -> str:
    """The first 4 KiB of a file as text (``EventSource.refuses``), without a byte order mark.
    Undecodable bytes are replaced: a refusal looks for its own marks, not at the encoding."""
    with open(path, "rb") as stream:
        start = stream.read(4096)
    encoding = "utf-16" if start[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    return start.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")


def run(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, start: float | None = None, until: float | None = None, explain: bool = False, state: StateStore | None = None, keep_suppressed: bool = True, max_future: float | None = None, end: float | None = None) -> RunResult:
    """Evaluate ``items`` (source records or events, in time order) against ``config``.

    With ``state``, continue from it; call ``result.save_state()`` once the tasks are output.
    ``max_future`` (seconds; the command line's ``--max-future``, 1 day) rejects an event dated
    more than that after the latest one so far (or the state's watermark); None accepts any.
    ``keep_suppressed=False`` keeps only counts of suppressed tasks, not the tasks: a long
    history can suppress millions (the command line keeps them for ``--explain``).
    """
    stream = plan(config, items, start=start, until=until, explain=explain, state=state, keep_suppressed=keep_suppressed, max_future=max_future, end=end)
    tasks = list(stream)
    result = stream.result
    result.tasks = tasks
    return result


def plan(config: Config, items: Iterable[SourceRecord | Rejected | Event], *, start: float | None = None, until: float | None = None, explain: bool = False, state: StateStore | None = None, keep_suppressed: bool = True, max_future: float | None = None, observe: bool = True, end: float | None = None, keep_printed: bool = False) -> Plan:
    """Like ``run()``, but the planned tasks come out while the run goes on, in output order:
    a day's tasks as soon as event time has left that day. Iterate the Plan once; then its
    ``result`` holds everything else (its ``tasks`` stay empty: they were handed out).
    ``observe=False``: the plugins' ``task_planned`` observers are not told (a forecast plans
    nothing an observer could forward). ``end`` (without ``until``): the history goes on to this
    instant, with no event of these ``items`` at it: one part of a community run apart
    (engine/partition.py) ends where the whole history does, its timers due before that
    instant fired and its days before it settled. ``keep_printed``: the tasks earlier runs
    printed keep their place, as if delivered (planning ahead: engine/ahead.py)."""
    return Plan(config, items, start=start, until=until, explain=explain, state=state, keep_suppressed=keep_suppressed, max_future=max_future, observe=observe, end=end, keep_printed=keep_printed)


class Plan:
    """Planned tasks as they become final; ``result`` once they have all been taken."""

    def __init__(self, config: Config, items: Iterable[SourceRecord | Rejected | Event], *, start: float | None, until: float | None, explain: bool, state: StateStore | None, keep_suppressed: bool, max_future: float | None = None, observe: bool = True, end: float | None = None, keep_printed: bool = False):
        self.config = config
        self.end = end
        self.items = items
        self.observe = observe
        lookback = Lookback.of(config)
        # What the last run planned ahead is planned again from the history as it turned out.
        self.ahead_dropped, ahead_kept = state.drop_ahead() if state else ([], {})
        saved = state.rechecks() if state else None
        reopen = state.reopenable(saved, keep_printed) if state and saved else []
        self.planner = Planner(
            config.community, start=start, history=state.history(lookback) if state else None, keep_suppressed=keep_suppressed or explain, record_history=state is not None,
            cooldowns=frozenset(lookback.cooldowns), limit_exempt=config.registry.limit_exempt_actions(), keeps_slot=config.registry.slot_keeping_actions(), notes=config.registry.note_actions(), reopened=frozenset(task_id for payload in reopen for task_id in (payload["id"], *printed_parts(payload))),
            open_parts=frozenset(data["id"] for payload in reopen for data in payload["parts"] if data.get("printed") is None), count_days=state is not None,
        )
        self.planner.printed_before(ahead_kept)
        counts = Counts()
        self.evaluation = Evaluation(config, self.planner, until=until, notes=(ExplainNotes if explain else Notes)(counts, config.community.language, config.community.action_names), state=state, max_future=max_future, saved=saved, reopen=reopen)
        self.state = state
        self.tally = Tally()
        # With --state, each task is kept whole as it is handed out: once final, its record
        # does not change (a few hundred bytes a task; a daily run prints a few hundred tasks).
        self.records: dict[str, str] | None = {} if state is not None else None
        self._result: RunResult | None = None

    def __iter__(self) -> Iterator[Task]:
        planner, tz = self.planner, self.config.community.tz
        hook = self.config.registry.pm.hook.task_planned if self.observe and self.config.registry.pm is not None else None
        with _fewer_collections():
            for _ in self.evaluation.steps(to_event(item, tz) for item in self.items):
                if planner.released:
                    yield from self._hand_out(planner.drain(), hook)
            evaluation = self.evaluation
            if self.end is not None and evaluation.until is None and evaluation.started and self.end > evaluation.now:
                evaluation.advance(self.end, inclusive=False)  # as the whole history's last event does: what is due at it does not fire
                evaluation.now = self.end
                if planner.released:
                    yield from self._hand_out(planner.drain(), hook)
            planner.history_ends()
            self.evaluation.enforcer.history_ended()
            self.evaluation.recheck.close()
            finished = planner.finish(self.evaluation.now)
            if self.state is not None:
                planner.overtaken = self._overtaken()
            yield from self._hand_out(finished, hook)
            if self.state is not None:
                self.evaluation.recheck.keep_open(planner.open)
                self.evaluation.recheck.keep_held(planner.held_over)
                self.evaluation.enforcer.forget_open_turns()
        evaluation = self.evaluation
        self._result = RunResult([], evaluation.rejected, planner.suppressed, evaluation.sink.notes, evaluation.counts, evaluation, planner.moved, planner.history_only, planner, self.state, self.tally, self.records or {}, self.ahead_dropped)

    def _overtaken(self) -> dict[str, str]:
        """Of the tasks of the days the history's end leaves open that were due before it, those
        that no longer hold as it ends, and why (by id): the question was answered that
        afternoon, the newcomer introduced herself. They held when due — the plan keeps them —
        but a list made from this state later (the next morning's, ``playbook deliver``) would
        ask the operator for what is no longer needed."""
        evaluation, planner = self.evaluation, self.planner
        now, recheck = evaluation.now, evaluation.recheck
        found: dict[str, str] = {}
        for item in planner.open:
            task = item.task
            source = task.source
            if task.dropped or task.due >= now or source is None or not source.rule.recheck or task.parts or task.id in planner.merged_into or task.id in planner.withheld:
                continue
            # The day's events as they turned out, its clock at the task's due time: past
            # 22:00 a "send it by day" condition is no reason to leave the task out of the
            # morning's list — an unanswered question is still unanswered.
            why = recheck.reason(task.group, source, now, recheck.context_at(source, task.due))
            if why is not None:
                found[task.id] = why
        # A firing's note to the operator goes with its task to the member: "已私信问 X…记进档案"
        # is no use when that DM is left out of the list.
        gone = {firing_of(task): task.id for item in planner.open if (task := item.task).id in found and task.action not in planner.notes}
        if gone:
            says = planner.says.explain
            for item in planner.open:
                task = item.task
                with_task = gone.get(firing_of(task)) if task.action in planner.notes and task.id not in found and not task.dropped and task.due < now else None
                if with_task is not None:
                    found[task.id] = says.with_task.format(task=with_task, why=found[with_task])
        return found

    def _hand_out(self, tasks: list[Task], hook: Any) -> Iterator[Task]:
        tz, records = self.config.community.tz, self.records
        for task in tasks:
            self.tally.add(task, tz)
            if records is not None:
                records[task.id] = task_data(task.record(tz))
            if hook is not None:
                hook(task=task)
            yield task

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise RuntimeError("iterate the plan to the end before asking for its result")
        return self._result


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run with Python's cycle collector triggered 70 times less often, then as before.

    An evaluation allocates millions of short-lived objects (events, firings, views) and
    almost no reference cycles; with the default thresholds the collector runs thousands of
    times and its full passes re-scan every loaded member: a tenth of a --state run's time.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
