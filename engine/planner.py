"""Planning: turning proposed actions into operator tasks, under the guardrails.

The evaluation offers the tasks of each rule firing as it happens, in event-time order; the
planner accepts them or records why not. Guardrails apply in the spec's order:

1. rule ``cooldown`` (``once`` is the evaluation's: a rule that fired never fires again);
2. per-member frequency ``limits`` across all playbooks;
3. ``quiet_hours``: a due time inside the window moves to its end;
4. operator ``capacity`` per local day: overflow moves to the next day, highest priority
   first, and a task moved further than ``max_delay`` (default 3 days) is dropped.

Steps 1–3 are decided on offer, so later rules see the outcome; capacity needs a whole day's
tasks and is applied by ``finish()``. Nothing is sent anywhere: a dry run prints the plan.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

from playbook_engine.contract import PRIORITY_RANK, Task
from playbook_engine.festivals import off_days
from playbook_engine.holdout import HELD_OUT, TREATED, Holdout
from playbook_engine.localtime import DAY, local_time
from playbook_engine.members import call_name
from playbook_engine.model import Community, Limit, Rule
from playbook_engine.words import words_for


@dataclass
class Suppressed:
    """A task that was not planned, the guardrail that stopped it, and the operator-readable why."""

    task: Task
    guardrail: str  # cooldown, limit, capacity, duplicate
    reason: str


@dataclass
class Sent:
    """What the planner remembers of a planned task (also across ``--state`` runs)."""

    id: str
    rule: str  # playbook/rule
    member: str | None
    action: str
    trigger_at: float
    due: float
    assignee: str | None
    status: str = "todo"  # stale, displaced: taken back later (never sent: they count for no cooldown, limit or capacity); merged: sent as part of another
    deadline: float = float("inf")  # the latest it may be done (saved for `late`)


INF = float("inf")
_NO_OPERATOR = "\U0010ffff"  # sorts after every operator id: a held row of an earlier version, with none
TAKEN_BACK = frozenset({"stale", "displaced"})  # statuses of printed tasks a later run took back
_NOT_CARRYING = frozenset({"stale", "displaced", "merged", "held_out"})  # rows that are no message a member got


@dataclass
class Open:
    """A task whose day was still open when the run ended (its capacity, merge and pace were
    settled only because the history stopped): as it stood before that, for the next --state
    run to settle again with what it adds."""

    task: Task
    due: float
    original_due: float  # as offered (after quiet hours), before any capacity move
    moves: list[tuple[str, float, float]]
    parts: list[Task]  # merged into it already (a message capacity carried to a later day)
    cooling_since: tuple[float | None] | None = None  # see Planner._cooling_since (None: not kept)
    # Its deadline and the days off capacity's moves waited out (`not_on`), as they stood: the
    # settling of the open days moves them on, and the next run settles those days again.
    deadline: float | None = None
    waited: float = 0.0
    # Where frequency limits counted it, if not at ``original_due`` (pace moved it into the next
    # day, or one message a day did): a later offer to the member is checked against it there.
    counted_at: float | None = None
    # The parts' own entries of Planner._cooling_since (a part dropped with its message lets its
    # rule's cooldown go, as in one run).
    part_cooling: dict[str, float | None] | None = None
    # A merged message's own part's deadline, where it is not the message's (``_own_deadlines``):
    # moved with the message past days off, as its ``deadline`` was, which the parts' were not.
    own_deadline: float | None = None
    # A note whose firing's task to the member went out on an earlier day: it no longer goes
    # with the others (``Planner.sent_beside``).
    sent_beside: bool = False


def _capacity_order(task: Task) -> tuple[Any, ...]:
    """Who gets a day's capacity first: higher priority, then the earlier deadline (a task that
    can wait a day goes after one that cannot), then earlier, then playbook and rule order,
    then (a fan-out due together) the member who wrote more."""
    return (-task.rank, task.deadline, task.due, task.order, task.id)


def _capacity_keyed(tasks: list[Task]) -> list[tuple[Any, ...]]:
    """``_capacity_order`` of each task, the task last (the keys are unique: never compared):
    written out, not called for each of the hundreds of tasks a busy day orders."""
    ranks = PRIORITY_RANK
    return [(-ranks[task.priority], task.deadline, task.due, task.order, task.id, task) for task in tasks]


# The guardrails that keep a task from the plan for want of room: its operator's day full, and
# moving it would pass its deadline (or max_delay). The look-ahead and the report count them.
NO_ROOM = frozenset({"capacity", "deadline"})
FIRST_THING = PRIORITY_RANK["high"]  # capacity moves tasks of this rank or more to the first thing of the next morning


def printed_form(task: Task) -> tuple[Any, ...]:
    """What the operator holds of a printed task: a reopened one printed the same is not printed again."""
    return printed_form_of(task.due, task.text, task.assignee, task.parts)


def printed_form_of(due: float, text: str | None, assignee: str | None, parts: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
    """``printed_form`` of a task as its record keeps it (its due, text, assignee and parts)."""
    return (due, text, assignee, tuple(part["id"] for part in parts))


def firing_of(task: Task) -> tuple[str, str, float, str | None, str | None]:
    """The firing that planned ``task``, as its tasks share it: a note goes with the others.
    The group too: a schedule fires in each group at one instant, with no member, and the
    "本周话题" note of one group goes with that group's post, not another's."""
    return (task.playbook, task.rule, task.trigger_at, task.member, task.group)


def _firings_in(task: Task) -> list[tuple[str, str, float, str | None, str | None]]:
    """The firings whose tasks ``task`` carries: its own, or each part's of a merged message."""
    return [firing_of(part) for part in task.merged] if task.merged else [firing_of(task)]


def task_id(rule: Rule, action_index: int, subject: str, trigger_at: float, cause: str = "") -> str:
    """Stable across runs: the same rule, action, member/group, trigger instant and cause (the
    event that fired it, when one did — two messages can share a second) give the same id."""
    key = f"{rule.playbook}\x1f{rule.id}\x1f{action_index}\x1f{subject}\x1f{trigger_at:.3f}\x1f{cause}"
    return "t-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


class Planner:
    def __init__(self, community: Community, *, start: float | None = None, history: list[Sent] | None = None, keep_suppressed: bool = True, record_history: bool = True, cooldowns: frozenset[str] | None = None, limit_exempt: frozenset[str] = frozenset(), keeps_slot: frozenset[str] = frozenset(), notes: frozenset[str] = frozenset(), reopened: frozenset[str] = frozenset(), open_parts: frozenset[str] = frozenset(), count_days: bool = False):
        """``cooldowns``: the keys of the rules that have one (None: any may have), whose last
        planned task per member must be remembered; a long history plans for most members.
        ``limit_exempt``: the actions ``actions: any`` limits do not count (each action declares
        it: ``ActionType.counts_toward_limits``). ``keeps_slot``: the actions whose tasks keep
        their place on their day once their effect has happened (``ActionType.keeps_slot``): a
        day is settled after its tasks were due, so all of them then. ``notes``: the actions
        that are notes to the operator about their firing's other tasks (``ActionType.note``): they
        go with them. ``reopened``: the ids of the tasks an earlier
        run left open (``Open``) that this run settles again (``reopen``): their history rows
        hold no capacity, pace or limit — they are counted again as they are reopened.
        ``count_days`` (--state): also count what the summary counts by local day and playbook
        (``day_counts``, for ``playbook report``)."""
        self.community = community
        self.tz = community.tz
        self.local = local_time(community.tz)
        # A moment's local day, date and text, bound once: asked for every offered task.
        self._day, self._date, self._local = self.local.day, self.local.date_text, self.local.text
        self.start = start
        self.tasks: list[Task] = []  # accepted, not final yet (their day may still fill up)
        self.released: list[Task] = []  # final, in output order, not yet taken by drain()
        self.suppressed: list[Suppressed] = []  # kept only with keep_suppressed (--explain); counted always
        self.says = words_for(community.language)  # the reasons' words (engine/words.py)
        self.suppressed_counts: Counter[str] = Counter()
        self.keep_suppressed = keep_suppressed
        self.explaining = False  # a dropped task's text is being written for the explanation only
        self.record_history = record_history  # new_history is what --state saves
        self.history_only = 0  # tasks triggered before --from: they count for guardrails, are not printed
        self.moved: Counter[str] = Counter()
        # Of the `deadline` drops, those a full day moved past their deadline (the summary says
        # so: capacity, not lateness, cost them — a festival's greetings on a busy day).
        self.full_past_deadline = 0
        # With count_days: what suppressed_counts and moved count, by (local day, kind, reason,
        # playbook); kind is suppressed, moved or skipped. None: not counted (no --state).
        self.day_counts: Counter[tuple[int, str, str, str]] | None = Counter() if count_days else None
        # Once the history has ended (``history_ends``): (task id, key, count) of each count. Those
        # of the tasks left open are the next run's to count again (``tallies``).
        self._ending: list[tuple[str, tuple[int, str, str, str], int]] | None = None
        self.reopened_ids = set(reopened)  # the tasks of the last run this one settles again
        # Of those, the printed parts reopened in their message (``printed_part``): their rows
        # are kept whatever becomes of them, but they are settled again all the same.
        self.reopened_printed_parts: set[str] = set()
        self._settles_again = bool(reopened or open_parts)  # (a run with no --state: none, and none is asked for)
        # Of the tasks and parts the last run left open (``reopened``, ``open_parts``), the ones
        # this run drops before they are sent — found stale as that run ended (a row that holds
        # their rule's cooldown), or merged into a message (or held out with it): their row goes
        # (``_unplanned``).
        self.unplanned_reopened: set[str] = set()
        # Parts of a message the last run left open, found stale by this one: their rows
        # (`merged`, or `held_out`) are no task any more — the next run must count them for no
        # slot and no cooldown.
        self.stale_parts: list[str] = []
        self.known_ids: dict[str, float] = {}  # task id → trigger instant, for the instants a duplicate can still come
        self.new_history: dict[str, Sent] = {}  # by task id; a task capacity drops is taken out again
        self._last_fired: dict[tuple[str, str], float] = {}  # (rule, member) → last trigger instant, for cooldowns
        # Task id → the (rule, member)'s last trigger instant before it, while its day is open:
        # a task capacity drops was never sent, and its cooldown goes back to that.
        self._cooling_since: dict[str, float | None] = {}
        self._cooldowns = cooldowns
        # Writes the operator's instruction for a task whose text changed (a merged message):
        # set by whoever knows the channels (the enforcer); None: keep the first part's.
        self.instruction: Callable[[Task], str] | None = None
        # Set by the re-check (engine/recheck.py): a task capacity moved to a later day is
        # checked again when due there (a day's overflow in one call); one pace moves later that
        # day, whether it still holds. Once the history has ended (``checks_at_once``), a task
        # moved is checked there and then, and may be found stale before the next one moves.
        self.moved_later: Callable[[Iterable[Task]], None] | None = None
        self.checks_at_once = False
        self.stale_at: Callable[[Task, float], str | None] | None = None
        # Whether a part, checked after its member wrote, still holds and reads the same as of
        # an earlier message's time (its member as they were then): it may join that message.
        self.alike: Callable[[Task, Task], bool] | None = None
        # With --state: the open days' tasks due before the history's end that no longer hold
        # as it ends, and why (``runner.Plan._overtaken``): a later list leaves them out.
        self.overtaken: dict[str, str] = {}
        self.on_settled: Callable[[float], None] | None = None  # called with the end of the days settled
        self.on_final: Callable[[list[Task]], None] | None = None  # called with each settled day's plan
        self.holdout: Holdout | None = None  # set by the evaluation when a playbook has a `holdout`
        self.held_out: list[Task] = []  # tasks withheld from their members (engine/holdout.py), in due order
        self.withheld: set[str] = set()  # and their ids
        self.settle_at = INF  # the end of the earliest local day with tasks not yet settled
        self._settle_start = INF  # and its start
        # Tasks earlier --state runs printed, taken back by this one: (when, task id, member, why).
        self.withdrawn: list[tuple[float, str, str | None, str]] = []  # stale when due
        self.displaced: list[tuple[float, str, str | None, str]] = []  # their slot went to a task that comes first
        self.merged_away: list[tuple[float, str, str | None, str]] = []  # now part of another message to their member that day
        self.revised: list[Task] = []  # printed again, changed (moved, merged, another text): the new version replaces the old
        self._printed: dict[str, tuple[Any, ...]] = {}  # reopened tasks already printed → what was printed
        self._merged_printed: dict[str, tuple[Any, ...]] = {}  # of those, merged into another message: what was printed
        self.open: list[Open] = []  # with --state: the tasks of the days the end of the history left open
        # Set by the re-check: told of those tasks as they stand before their days are settled
        # (what the next run needs of each, taken then: settling checks again those it moves).
        self.on_open: Callable[[list[Open]], None] | None = None
        # Of the notes in those days, those whose firing's task to the member is final already
        # (an earlier day's): they stay, whatever the firing's other tasks do (``_notes_go_with``).
        # The next run, which reopens only the open days' tasks, cannot see that task.
        self.sent_beside: set[str] = set()
        self.merged_into: dict[str, str] = {}  # part's id → the id of the message it went out in
        # The parts this run counted as merged (a part reopened in its message was counted by the
        # run that merged it: dropped or carrying the message now, it takes nothing off this
        # run's count — the summary's "合并为一条" was once -93).
        self._counted_merged: set[str] = set()
        self.open_stale: list[Open] = []  # and those found stale as it ended (checked again by the next run)
        self._finishing: float | None = None  # with --state, while finish() settles: where the history ended
        self._out_of_reach: set[int] = set()  # tasks dropped by that settling that no later run can keep
        self._waited_for: set[str] | None = None  # members whose second message of the day being settled waits (see _fill)
        self._superseding: set[int] = set()  # as a --state run ends: tasks that superseded another of their day (see _mark_out_of_reach)
        self._took_in: set[int] = set()  # as a --state run ends: messages that took in another task of its open days (likewise)
        # Those tasks still hold their rule's cooldown and their member's limits until their day
        # is over, as in one run: (local day, operator) → the rows that say what they hold
        # (``held_over``), released when that day is settled (``hold``, ``_release_held``).
        self._held: dict[int, list[dict[str, Any]]] = {}  # local day → its rows
        self.held_over: list[dict[str, Any]] = []  # with --state: what the next run must hold (rows "v": 3)
        self._dropped = 0  # tasks dropped as stale still in the buckets of days not settled
        self._limit_exempt = limit_exempt
        self._keeps_slot = keeps_slot
        self.notes = notes
        self._given: frozenset[str] = frozenset()  # tasks planned ahead the operator has already (``printed_before``)
        self._recent: dict[str, list[tuple[float, str, str]]] = {}  # member → (due, action, task id), by due: what limits count
        # A merged message counts under the limits of each of its parts' actions (a DM said in a
        # reward's message is a DM): the messages not yet final, by id, and the actions of those
        # final or planned by an earlier run, where they are more than their first part's.
        self._carrying: dict[str, Task] = {}
        self._carried: dict[str, frozenset[str]] = {}
        self._capacity_used: Counter[tuple[str, int]] = Counter()  # by earlier runs and by tasks before --from
        self._waiting: dict[tuple[int, str], list[Task]] = {}  # (local day, operator) → tasks due then, not yet settled
        self._days: list[tuple[int, str]] = []  # heap of the keys of _waiting
        self._original_due: dict[str, float] = {}
        # The start of the day after the last settled up to (``_settle_days``'s ``before``): an
        # offer triggered from then on is on a later day, and settles the days before it first.
        self._settles_from = -INF
        self._longest_limit = max((limit.per for limit in community.limits), default=0)
        self._fewest_allowed = min((limit.max for limit in community.limits), default=0)
        # A merged message's first part's own deadline, when the message took an earlier one of
        # another part: the message's again once that part leaves it (stale).
        self._own_deadlines: dict[str, float] = {}
        self._operator_names = {operator.id: operator.name or operator.id for operator in community.operators}
        self._part_original: dict[str, float] = {}  # merged part → its original due, as _original_due had it
        self._own_part: dict[str, list[Any]] = {}  # a joined message's own [text, reason, options]
        # A firing's tasks with a cooldown that are planned but not final, by (rule, member,
        # trigger instant): [how many, the rule's last firing for the member before it, whether
        # one of them went out]. The cooldown counts from the firing before it again only when the
        # last of them is let go and none went out (the DM and its note alike, in any order).
        self._firings: dict[tuple[str, str, float], list[Any]] = {}
        # Of those firings, the ones an earlier run's task of which went out (a --state history
        # row): a task of theirs this run reopens and drops does not let the cooldown go.
        self._went_out: set[tuple[str, str, float]] = set()
        self._id_order: deque[tuple[float, str]] = deque()
        self._last_paced: dict[str, float] = {}  # operator → due of their last task (pace)
        self._paced_over: set[str] = set()  # tasks pace carried into a later day, counted as moved
        self._reopened_rows: dict[str, Sent] = {}  # history rows of reopened tasks: counted as they are reopened
        # Tasks earlier runs planned that keep their slot in their day (by id): what capacity
        # counts besides this run's tasks (``playbook forecast`` shows them with them).
        self.holding: dict[str, Sent] = {}
        # (member, due, in a group) → the actions merged into the message due then (a merged
        # row is saved with its message's due; a group action's only ever in a group action's)
        merged_rows: dict[tuple[str, float, bool], set[str]] = {}
        # The rows ("merged") of the parts merged into a message the last run left open, not
        # printed on their own (``open_parts``): not sent yet — reopened in their message, they
        # hold their firing's cooldown until their day is settled, and let it go if dropped.
        self.open_parts = open_parts
        self._open_part_rows: dict[str, Sent] = {}
        # A message held out: each of its parts is saved `held_out`, with the message's due. The
        # first of them counts (limits, capacity, pace) as the message did in the run that held
        # it out; the others as the parts merged into it (a private message: one a day). A part
        # held out of a message another part carried out counts as merged into that one.
        # (An action merged in its group only is left out: its rows name no group.)
        private = community.merge - community.merge_in_group
        history = list(history or ())
        held_messages = {(sent.member, sent.assignee, sent.due) for sent in history if sent.action in private and sent.member is not None and sent.status not in _NOT_CARRYING}
        for sent in history:
            if sent.id in reopened:
                self._reopened_rows[sent.id] = sent
            else:
                if sent.status == HELD_OUT and sent.action in private and sent.member is not None and sent.id not in open_parts:
                    key = (sent.member, sent.assignee, sent.due)
                    if key in held_messages:
                        sent = replace(sent, status="merged")
                    else:
                        held_messages.add(key)
                self._count_sent(sent)
                if sent.status == "merged" and sent.member is not None and self._longest_limit:
                    merged_rows.setdefault((sent.member, sent.due, sent.action in community.merge_in_group), set()).add(sent.action)
        for (member, due, in_group), actions in merged_rows.items():
            for t, action, task_id in self._recent.get(member, ()):
                if t == due and action in community.merge and (action in community.merge_in_group) == in_group and not actions <= {action}:
                    self._carried[task_id] = frozenset({action, *actions})
        self._group_operator: dict[str, str] = {}
        for operator in community.operators:
            for group in operator.groups:
                self._group_operator.setdefault(group, operator.id)
        catch_all = [operator.id for operator in community.operators if not operator.groups]
        # A group no operator lists goes to the operator who lists none (all the others), or to
        # nobody: never to someone who does not look after it (``unassigned`` says which).
        self._other_groups = catch_all[0] if catch_all else None
        self._default_operator = catch_all[0] if catch_all else (community.operators[0].id if community.operators else None)
        self._capacity = {operator.id: operator.capacity for operator in community.operators if operator.capacity}
        self._effects_done: Counter[tuple[str, int]] = Counter()  # slots taken by removals done (``slot_for_effect``)
        # The tasks whose effect took its slot (a removal done when due): moved on to a later day
        # all the same (pace found no room left in theirs), they hold a slot of that day too.
        self._effected: set[str] = set()
        self._paces = {operator.id: operator.pace for operator in community.operators if operator.pace}
        # ``keeps_off``: whether any rule has a `not_on:` (set by the evaluation): capacity's moves
        # then ask about days off too, those of a community without one do not.
        self.keeps_off = False
        # ``supersedes``: the rules of calendar triggers (a schedule's post, a ranking) given a
        # `deadline:` past their day (set by the evaluation): only their tasks can be moved onto
        # a day that has a newer one of their own (see ``_supersede``).
        self.supersedes: frozenset[str] = frozenset()
        # Firings that planned a note to the operator beside their tasks to the member, by
        # ``firing_of``: their tasks, while the notes are not final. A note goes with its
        # firing's tasks: when capacity drops them all, it is dropped too (``_notes_go_with``).
        self._noted: dict[tuple[str, str, float, str | None, str | None], list[Task]] = {}
        # Task id → its due as offered, for a kept task of an operator with a pace: one pace
        # carries into the next day keeps it, so that max_delay counts from there, not from the
        # paced time (capacity, pace past midnight, capacity again: four days for a max of three).
        self._kept_from: dict[str, float] = {}
        self._waited: dict[str, float] = {}  # task id → the days off capacity's moves skipped for it
        self._off_moves: dict[str, list[tuple[str, float, float]]] = {}  # and those moves, said when it is kept
        # Minute of the local day → inside quiet hours? (most moved tasks are not: one lookup)
        window = community.quiet_hours
        self._quiet_minutes = None if window is None else [(window[0] <= minute < window[1]) if window[0] < window[1] else (minute >= window[0] or minute < window[1]) for minute in range(1440)]

    def assignee_for(self, rule: Rule, group: str | None) -> str | None:
        if rule.assignee:
            return rule.assignee
        if group is not None:
            return self._group_operator.get(group, self._other_groups)
        return self._default_operator

    # -- offering ------------------------------------------------------------------------------

    def offer(self, tasks: list[Task], rule: Rule) -> list[Task]:
        """Decide on the tasks of one rule firing; return those accepted (their effects apply)."""
        if not tasks:
            return []
        first = tasks[0]
        # Tasks come in event-time order and are due no earlier than they trigger, so every day
        # before this one is complete: its capacity can be settled now, not at the end.
        # (Its instant, against the start of the next day: the day itself is worked out only then.)
        if first.trigger_at >= self._settles_from:
            self._settle(before=self._day(first.trigger_at))
        if rule.cooldown and first.member is not None and self.cooling(rule, first.member, first.trigger_at):
            last = self._last_fired[(rule.key, first.member)]
            cooldown = rule.cooldown or 0  # cooling: a cooldown is set
            until = self._local(last + cooldown)
            reason = self.says.explain.cooldown.format(duration=self.says.duration(cooldown), rule=rule.key, name=first.member_name, at=self._local(last), until=until)
            return self._suppress_all(tasks, "cooldown", reason)
        accepted = []
        recent = self._recent
        notes: list[Task] = []  # the firing's notes to the operator, which go with its other tasks
        stopped: tuple[Task, str, str | Callable[[], str]] | None = None  # the first of those others stopped here
        for task in tasks:
            if task.id in self.known_ids:
                self._suppress(task, "duplicate", self.says.explain.duplicate)
                continue
            self._quiet(task)  # limits count tasks as the member receives them: at their due time
            if rule.not_on is not None:
                skipped = self._off_day(task, rule)
                if skipped is not None:
                    self._suppress(task, "off_day", skipped)
                    stopped = stopped or (task, "off_day", skipped)
                    continue
            if task.member is not None and recent.get(task.member) and task.id not in self._given:  # no tasks of late: no limit can be reached; the operator has a given one
                limit_reason = self._limit_reached(task)
                if limit_reason:
                    self._suppress(task, "limit", limit_reason)
                    stopped = stopped or (task, "limit", limit_reason)
                    continue
            if task.due > task.deadline:
                past = partial(self._past_deadline, task)
                self._suppress(task, "deadline", past)
                stopped = stopped or (task, "deadline", past)
                continue
            accepted.append(task)
            if task.action in self.notes:
                notes.append(task)  # accepted once the others are: a note counts for no limit
            else:
                self._accept(task, rule)
        if notes and stopped is not None and len(notes) == len(accepted):
            # Every other task of the firing was stopped ("已私信问 X…记进档案" about a DM the
            # frequency limit stopped): its notes go with them.
            for note in notes:
                self._suppress(note, stopped[1], partial(self._with_stopped, stopped[0].id, stopped[2]))
            return []
        for note in notes:
            self._accept(note, rule)
        if notes and len(notes) < len(accepted):
            self._noted[firing_of(first)] = accepted
        return accepted

    def _with_stopped(self, task_id: str, reason: str | Callable[[], str]) -> str:
        return self.says.explain.with_stopped.format(task=task_id, why=reason if isinstance(reason, str) else reason())

    def cooling(self, rule: Rule, member: str, t: float) -> bool:
        """Whether the rule's cooldown for this member, from its last planned task, still runs at ``t``."""
        if not rule.cooldown:
            return False
        last = self._last_fired.get((rule.key, member))
        return last is not None and last < t < last + rule.cooldown

    def suppress_unmade(self, guardrail: str, count: int, playbook: str, due: float) -> None:
        """Count tasks the evaluation did not even build because ``guardrail`` stops them (only
        when suppressed tasks are not kept: then nobody will read their text); ``due``: when
        they would have been due, before any guardrail."""
        self.suppressed_counts[guardrail] += count
        if self.day_counts is not None:
            self.day_counts[(self._day(due), "suppressed", guardrail, playbook)] += count

    def skipped(self, reason: str, playbook: str, t: float, count: int = 1) -> None:
        """Firings of ``playbook`` at ``t`` skipped before any stage (``staff``): counted by day
        with --state (the summary counts them itself)."""
        if self.day_counts is not None:
            self.day_counts[(self._day(t), "skipped", reason, playbook)] += count

    def _tally(self, task: Task, kind: str, reason: str, due: float | None = None, count: int = 1) -> None:
        """With --state: ``task`` counted under ``kind`` and ``reason`` on the local day of ``due``
        (its own, if None). Once the history has ended, each task's counts are kept apart: the
        next run settles the tasks left open again, and counts them itself."""
        key = (self._day(task.due if due is None else due), kind, reason, task.playbook)
        if self._ending is not None:
            self._ending.append((task.id, key, count))
        else:
            self.day_counts[key] += count  # type: ignore[index]  # called only with day_counts

    def history_ends(self) -> None:
        """The history has ended: what is counted from now on (the checks of the tasks due after
        it, the settling of the days it left open) is kept by task (see ``tallies``)."""
        if self.day_counts is not None:
            self._ending = []

    def tallies(self, left_open: set[str]) -> tuple[Counter[tuple[int, str, str, str]], list[tuple[str, tuple[int, str, str, str], int]]]:
        """The day counts to keep, and apart, those of the tasks ``left_open`` for the next run
        (task id, key, count): it settles them again and counts them itself, so a day's counts are
        the last run's that settled it, never twice."""
        final: Counter[tuple[int, str, str, str]] = Counter(self.day_counts or ())
        kept_open = []
        for task_id, key, count in self._ending or ():
            if task_id in left_open:
                kept_open.append((task_id, key, count))
            else:
                final[key] += count
        return Counter({key: count for key, count in final.items() if count}), kept_open  # a count can be negative: a merge undone of an earlier run's

    def refuse(self, task: Task, guardrail: str, reason: str | Callable[[], str]) -> None:
        """A task the evaluation does not offer, because ``guardrail`` stops it before any of the
        planner's (its member is no longer in the group …): counted, and kept to be explained."""
        self._suppress(task, guardrail, reason)

    def refuse_notes(self, notes: list[Task], stopped: Task | None, guardrail: str, reason: str | Callable[[], str], playbook: str) -> None:
        """A firing's ``notes`` to the operator, whose every other task the evaluation refused
        (``stopped``, the first, if it was built; ``guardrail``, ``reason``): they go with them,
        as ``offer`` drops the notes of a firing it stops."""
        for note in notes:
            if self.keep_suppressed:
                self._suppress(note, guardrail, partial(self._with_stopped, stopped.id, reason) if stopped is not None else reason)
            else:
                self.suppress_unmade(guardrail, 1, playbook, note.due)

    def _suppress_all(self, tasks: list[Task], guardrail: str, reason: str) -> list[Task]:
        for task in tasks:
            self._suppress(task, guardrail, reason)
        return []

    def _accept(self, task: Task, rule: Rule) -> None:
        if rule.cooldown and task.member is not None:
            firing = self._firings.get((rule.key, task.member, task.trigger_at))
            self._cooling(task.id, rule.key, task.member, task.trigger_at, firing[1] if firing is not None else self._last_fired.get((rule.key, task.member)))
        self._remember(task.id, rule.key, task.member, task.action, task.trigger_at, task.due)
        if self.record_history:
            self.new_history[task.id] = Sent(task.id, rule.key, task.member, task.action, task.trigger_at, task.due, task.assignee, deadline=task.deadline)
        if self.start is not None and task.due < self.start:
            # Due before --from: history that shapes guardrails, not printed. A task due later
            # is printed, checked again when due with what happened meanwhile.
            self.history_only += 1
            self._count_capacity(task.assignee, task.due)
            return
        self._place(task, task.due)

    def _place(self, task: Task, original_due: float) -> None:
        """``task`` waits for its day to be settled (its capacity, merge and pace)."""
        if task.assignee in self._capacity:
            key = (self._day(task.due), task.assignee)
            bucket = self._waiting.get(key)
            if bucket is None:
                heapq.heappush(self._days, key)
                bucket = self._waiting[key] = []
            bucket.append(task)
            self._original_due[task.id] = original_due
        else:
            self.tasks.append(task)
        if task.due < self._settle_start:  # due before the earliest open day: its own day ends first
            self._open_day(self._day(task.due))

    def reopen(self, task: Task, rule: str, opened: Open, printed: tuple[Any, ...] | None) -> None:
        """A task an earlier --state run left open (see ``Open``), back in its day's bucket as it
        stood then, to be settled again with this run's tasks. ``printed``: what that run printed
        of it (None: it was dropped then) — printed the same again, it is not printed twice;
        changed, the new version is; dropped now, it is taken back (``displaced``)."""
        task.due, task.moves = opened.due, opened.moves or None
        if opened.parts:
            parts = task.merged = [task, *opened.parts]
            self._carries(task, parts)
            task.priority = max(parts, key=lambda part: part.rank).priority  # as _combine made it
            own, task.deadline = task.deadline, min(part.deadline for part in parts)
            if opened.deadline is not None:
                # As it stood: a message moved past days off (`not_on`) took its deadline along,
                # its parts' own deadlines stayed (their minimum would drop it as past deadline).
                task.deadline = opened.deadline
                own = task.deadline if opened.own_deadline is None else opened.own_deadline
            if task.deadline < own:
                self._own_deadlines[task.id] = own  # as _combine kept it: its own, should a part leave it
            for part in opened.parts:
                self._remember(part.id, f"{part.playbook}/{part.rule}", part.member, part.action, part.trigger_at, None)  # in its message, which counts
                if opened.part_cooling and part.id in opened.part_cooling and part.member is not None:
                    self._cooling(part.id, f"{part.playbook}/{part.rule}", part.member, part.trigger_at, opened.part_cooling[part.id])
        if opened.cooling_since is not None and task.member is not None:
            self._cooling(task.id, rule, task.member, task.trigger_at, opened.cooling_since[0])
        self._remember(task.id, rule, task.member, task.action, task.trigger_at, opened.original_due if opened.counted_at is None else opened.counted_at)
        if opened.sent_beside:
            self.sent_beside.add(task.id)  # it goes with none of them
        else:
            self._noted.setdefault(firing_of(task), []).append(task)  # its firing's note, if reopened too, goes with it
        if printed is not None:
            self._printed[task.id] = printed
        elif self.record_history:
            self.new_history[task.id] = Sent(task.id, rule, task.member, task.action, task.trigger_at, task.due, task.assignee, deadline=task.deadline)
        self._place(task, opened.original_due)

    def printed_part(self, part: Task, message: Task, printed: tuple[Any, ...]) -> None:
        """``part``, reopened merged into ``message``, went out on its own in the run that left it
        open (it carried the message, whose own task was dropped): as a task an earlier run
        printed and this one merges — taken back unless it carries the message again, printed
        again then only if it changed (``_carries_printed``)."""
        self.merged_away.append((printed[0], part.id, part.member, self.says.explain.merged.format(id=message.id, due=self._local(message.due))))
        self._merged_printed[part.id] = printed
        # Reopened in its message, not on its own: its row counts for nothing meanwhile, and is
        # kept whatever becomes of it (taken back, merged, printed again).
        self.reopened_ids.discard(part.id)
        self.reopened_printed_parts.add(part.id)  # (not on the member's record until then either: ``TaskLog``)
        self._reopened_rows.pop(part.id, None)

    def _count_sent(self, sent: Sent) -> None:
        """A task an earlier run planned, for the guardrails: cooldowns, limits, capacity, pace."""
        if sent.status == "displaced":
            return  # never sent: it counts for nothing
        if sent.status == "stale":
            # Never sent either, no cooldown counts it (see ``drop_stale``) — but a duplicate of
            # it is still one (its instant may be the watermark's second, where this run reads on).
            self._remember(sent.id, sent.rule, None, sent.action, sent.trigger_at, None)
            return
        # A merged part counts for no limit: the member got it in its message, which counts. So
        # does a part held out with the message the last run left open (reopened in it, withheld
        # or not again there): a slot of its own kept clear pushed the day's later tasks on.
        in_message = sent.status == "merged" or (sent.status == HELD_OUT and sent.id in self.open_parts)
        self._remember(sent.id, sent.rule, sent.member, sent.action, sent.trigger_at, None if in_message else sent.due)
        if sent.member is not None and (self._cooldowns is None or sent.rule in self._cooldowns):
            if sent.id in self.open_parts:
                self._open_part_rows[sent.id] = sent  # not out yet: see ``part_not_reopened``
            else:
                self._went_out.add((sent.rule, sent.member, sent.trigger_at))
        if in_message:
            return  # a merged part went out in its message, which holds the slot
        self._count_capacity(sent.assignee, sent.due)
        self.holding[sent.id] = sent  # its time is a slot pace keeps clear (``_held_slots``)

    def printed_before(self, printed: Mapping[str, tuple[Any, ...]]) -> None:
        """Tasks an earlier run printed that this one plans afresh (planned ahead, then marked or
        delivered: engine/ahead.py), with what was printed of each (``printed_form``): printed
        again only if they change, said to be taken back if this run drops them."""
        self._printed.update(printed)
        # The operator has them (delivered, or marked): they keep their slot, as a task whose
        # effect has happened does (``_keep_done_first``).
        self._given = frozenset(printed)

    def not_reopened(self, task_id: str) -> None:
        """A task the last run left open that this one cannot make again (its rule or action
        changed since): it stays as printed, and counts as any earlier run's task."""
        self.reopened_ids.discard(task_id)
        sent = self._reopened_rows.pop(task_id, None)
        if sent is not None:
            self._count_sent(sent)

    def part_not_reopened(self, task_id: str) -> None:
        """A part merged into a message the last run left open that this one does not reopen in
        it (the message or the part cannot be made again): it stays as printed, in its message,
        and its firing's cooldown holds as for any task that went out."""
        sent = self._open_part_rows.pop(task_id, None) if self._open_part_rows else None
        if sent is not None and sent.member is not None:
            self._went_out.add((sent.rule, sent.member, sent.trigger_at))

    def opening(self, task: Task) -> Open:
        """``task``, waiting for its day to be settled, as the next run is to reopen it."""
        original_due = self._original_due.get(task.id, task.due)
        counted_at = self._counted_at(task) if self._longest_limit else None
        parts = (task.merged or [task])[1:]
        cooling = self._cooling_since
        part_cooling = {part.id: cooling[part.id] for part in parts if part.id in cooling} if parts and cooling else None
        return Open(task, task.due, original_due, list(task.moves or ()), parts, (cooling[task.id],) if task.id in cooling else None, task.deadline, self._waited.get(task.id, 0.0), None if counted_at == original_due else counted_at, part_cooling or None, self._own_deadlines.get(task.id))

    def _counted_at(self, task: Task) -> float | None:
        """Where the member's frequency limits count ``task`` now (None: nowhere)."""
        for due, _, task_id in self._recent.get(task.member, ()) if task.member is not None else ():
            if task_id == task.id:
                return due
        return None

    def taken_back(self) -> list[str]:
        """The ids of tasks earlier runs printed that this run took back (stale, displaced, or
        merged into another message)."""
        return [task_id for _, task_id, _, _ in self.withdrawn + self.displaced + self.merged_away]

    def withdraw(self, at: float, task_id: str, member: str | None, assignee: str | None, due: float, why: str, playbook: str = "") -> None:
        """A task an earlier --state run printed (and left to be checked when due) no longer
        holds now that it is due: it stops counting as planned (its capacity slot, its limits,
        its row in the state)."""
        self.withdrawn.append((at, task_id, member, why))
        self.suppressed_counts["stale"] += 1
        if self.day_counts is not None:
            self.day_counts[(self._day(due), "suppressed", "stale", playbook)] += 1  # never reopened: counted once
        self._uncount(member, task_id)
        self.holding.pop(task_id, None)
        if assignee is not None and self._capacity_used.get((assignee, self._day(due))):
            self._capacity_used[(assignee, self._day(due))] -= 1

    def drop_stale(self, task: Task, reason: str) -> None:
        """``task``, accepted, no longer holds at its due time (see engine/recheck.py): out of
        the plan before its day is settled, so it takes no capacity. Never sent, it holds no
        cooldown either: its rule's cooldown for the member counts from the task before it again
        (a nudge gone stale because its member wrote at 07:00 does not keep the member from the
        nudge of their next silence)."""
        parts, original_due = task.merged, self._original_due.get(task.id, task.due)
        self._out_of_its_day(task)
        if self._carrying:
            self._carrying.pop(task.id, None)
        self._let_go(task.id, f"{task.playbook}/{task.rule}", task.member, task.trigger_at)
        self._mark_stale(task.id)
        task.merged = None
        self._suppress(task, "stale", reason)
        if self._noted and task.action not in self.notes and not parts and firing_of(task) in self._noted:
            self._notes_go_with(task, "stale")  # "移出前先截图…" about a removal that is not done
        if parts is not None and len(parts) > 1:
            # A message capacity carried here: its other parts (each checked just before) go on
            # as the message, under the first of them.
            self._carries_on(task, [part for part in parts if part is not task], original_due)

    def _carries_on(self, message: Task, parts: list[Task], original_due: float) -> None:
        """The first of ``parts``, merged into ``message`` that is dropped now, carries them
        instead: the message, due where ``message`` was, waiting for its day as it did."""
        carrier = parts[0]
        self._takes_over(carrier, parts[1:])
        carrier.dropped, carrier.due, carrier.moves = False, message.due, message.moves
        self._as_message(carrier, parts)
        if message.deadline > carrier.deadline:
            # The message waited out days off (`not_on`) with its deadline, as ``_carry`` keeps it.
            carrier.deadline = message.deadline
        if self._waited and message.id in self._waited:
            self._waited[carrier.id] = self._waited.pop(message.id)  # days off are no delay of the carrier's either
        carrier.merged = parts if len(parts) > 1 else None
        if carrier.id in self.new_history:
            sent = self.new_history[carrier.id]
            sent.status, sent.due, sent.deadline = "todo", carrier.due, carrier.deadline  # the message now
        if self._longest_limit and carrier.member is not None:
            self._count_for_limits(carrier.member, carrier.due, carrier.action, carrier.id)
        self._place(carrier, original_due)

    def _no_longer_merged(self, task: Task) -> None:
        """``task`` was counted (and, with --explain, kept) as merged into a message: no longer."""
        self._uncount_merged(task.id)
        if self.day_counts is not None:
            self._tally(task, "suppressed", "merged", count=-1)
        if self.keep_suppressed:
            self.suppressed = [item for item in self.suppressed if item.task is not task]

    def _uncount_merged(self, task_id: str) -> None:
        """Task ``task_id`` no longer counts as merged in this run's summary, if it did."""
        if task_id in self._counted_merged:
            self._counted_merged.discard(task_id)
            counts = self.suppressed_counts
            counts["merged"] -= 1
            if not counts["merged"]:
                del counts["merged"]

    def _carries_printed(self, carrier: Task) -> None:
        """``carrier``, merged into a message, carries it now (the message's own part is dropped):
        if an earlier run printed it, it is no longer merged away but printed again, changed."""
        printed = self._merged_printed.get(carrier.id) if self._merged_printed else None
        if printed is not None and self._printed_merged(carrier.id) is not None:
            self._printed[carrier.id] = printed

    def _takes_over(self, carrier: Task, others: list[Task]) -> None:
        """``carrier``, merged into a message whose own part is gone, is that message now, with
        ``others`` (the parts left): no longer counted as merged, printed again (changed) if an
        earlier run printed it, and the message its parts go out in."""
        self._no_longer_merged(carrier)
        self._carries_printed(carrier)
        self.merged_into.pop(carrier.id, None)
        self._carries(carrier, others)
        for part in others:
            self.merged_into[part.id] = carrier.id

    @staticmethod
    def _as_message(carrier: Task, parts: list[Task]) -> None:
        """``carrier`` is the message of ``parts`` (itself first) now: the highest priority of
        them and the earliest deadline."""
        carrier.priority = max(parts, key=lambda part: part.rank).priority
        carrier.deadline = min(part.deadline for part in parts)

    def _printed_merged(self, task_id: str) -> tuple[float, str, str | None, str] | None:
        """The entry of ``merged_away`` of ``task_id`` (an earlier run printed it, this one merged
        it into another message), taken out — it is taken back otherwise now — or None."""
        for index, item in enumerate(self.merged_away):
            if item[1] == task_id:
                del self.merged_away[index]
                self._merged_printed.pop(task_id, None)
                return item
        return None

    def part_stale(self, message: Task, part: Task, reason: str) -> None:
        """``part``, merged into ``message`` (capacity carried it to a later day), no longer holds
        at the message's due time: it leaves the message, taken back as stale — no longer
        counted as merged, its cooldown let go — and the message goes on with the others."""
        parts = message.merged or []
        message.merged = [other for other in parts if other is not part] if len(parts) > 2 else None
        self._stale_part(part, reason)
        self._left_with(message, message.merged or [message])

    def _stale_part(self, part: Task, reason: str) -> None:
        """``part``, counted as merged into a message, no longer holds: taken back as stale
        instead — no longer merged (an earlier run that printed it has it withdrawn), its
        cooldown let go."""
        self.merged_into.pop(part.id, None)
        self._no_longer_merged(part)
        printed = self._printed_merged(part.id)
        if printed is not None:  # an earlier run printed it: it is withdrawn now, not merged
            self.withdrawn.append((printed[0], part.id, printed[2], reason))
        self._let_go(part.id, f"{part.playbook}/{part.rule}", part.member, part.trigger_at)
        self._mark_stale(part.id)
        if self.record_history and part.id not in self.new_history:
            self.stale_parts.append(part.id)  # (a reopened part has no row of this run's)
        self._suppress(part, "stale", reason)

    def _out_of_its_day(self, task: Task) -> None:
        """``task``, waiting in its day's bucket, goes before the day is settled."""
        task.dropped = True
        if task.assignee in self._capacity:
            self._dropped += 1  # still in its day's bucket
        self._original_due.pop(task.id, None)

    def slot_for_effect(self, task: Task) -> int | None:
        """``task``'s effect is about to happen (``keeps_slot``: a removal takes its member out of
        the group when it is due, before its day is settled): it takes its slot on that day now,
        as the removals before it did, ahead of the day's other tasks. None if it has one (or
        its operator has no capacity); else how many removals took the day's slots."""
        assignee = task.assignee
        capacity = self._capacity.get(assignee) if assignee is not None else None
        if assignee is None or capacity is None:
            return None
        key = (assignee, self._day(task.due))
        done = self._effects_done[key]
        if done >= capacity - self._capacity_used[key]:
            return done
        self._effects_done[key] = done + 1
        self._effected.add(task.id)
        return None

    def _effect_moved(self, task: Task, assignee: str, day: int) -> None:
        """``task``, its effect done on its own day, is listed on ``day`` (pace or capacity moved
        it there): it holds one of that day's slots, which removals due that day cannot take —
        or more of them would be done than the day's list can hold, and capacity would carry
        one done that day on to the next."""
        if task.id in self._effected:
            self._effects_done[(assignee, day)] += 1

    def drop_for_slots(self, task: Task, done: int) -> None:
        """``task``, whose effect is due, finds its day's slots taken by ``done`` removals before
        it: dropped now, before its effect (a removal cannot wait for a slot: by the time the day
        is settled it would have happened). Never planned, as a task capacity drops."""
        self._out_of_its_day(task)
        self._noted.pop(firing_of(task), None)  # its notes go below, said to go with the removal
        self._unplanned(task)
        day = self._day(task.due)
        given = self._capacity_used[(task.assignee or "", day)]  # the tasks earlier runs planned for that day (it has an assignee: it found no slot)
        self._suppress(task, "capacity", partial(self._slots_taken, task.assignee, task.due, done, given))
        # Its firing's notes go with it: "移出前先截图…" about a removal that is not done is an
        # instruction the operator must not follow. They wait in the same day (due with it).
        for note in self._waiting.get((day, task.assignee or ""), ()):
            if note.action in self.notes and not note.dropped and firing_of(note) == firing_of(task):
                self._out_of_its_day(note)
                self._unplanned(note)
                self._suppress(note, "capacity", self.says.explain.with_removal.format(removal=task.id))

    def _who(self, assignee: str | None) -> str | None:
        """The operator as the reasons name them: their name, as the plan's lists do."""
        return self._operator_names.get(assignee, assignee) if assignee is not None else None

    def _slots_taken(self, assignee: str | None, due: float, done: int, given: int) -> str:
        return self.says.explain.slots_taken.format(assignee=self._who(assignee), day=self._date(due), count=done, given=given)

    def _mark_stale(self, task_id: str) -> None:
        sent = self.new_history.get(task_id)
        if sent is not None:
            sent.status = "stale"  # taken back: no cooldown, limit or capacity counts it

    def _remember(self, task_id: str, rule: str, member: str | None, action: str, trigger_at: float, due: float | None) -> None:
        """A planned task, for duplicates, cooldowns (from its trigger instant) and limits (at its
        due time; None: it counts for none, a task dropped as stale)."""
        # A duplicate has the same trigger instant, and instants come in order: ids more than a
        # day behind the latest can never be offered again, so they are forgotten.
        known = self.known_ids
        known[task_id] = trigger_at
        order = self._id_order
        order.append((trigger_at, task_id))
        horizon = trigger_at - DAY
        while order[0][0] < horizon:
            t, old = order.popleft()
            if known.get(old) == t:
                del known[old]
        if member is None:
            return
        if self._cooldowns is None or rule in self._cooldowns:
            key = (rule, member)
            last = self._last_fired.get(key)
            if last is None or trigger_at > last:
                self._last_fired[key] = trigger_at
        if self._longest_limit and due is not None:
            # (``_count_for_limits``, written out: every task planned comes here.)
            recent = self._recent.get(member)
            if recent is None:
                self._recent[member] = [(due, action, task_id)]
            elif not recent or due >= recent[-1][0]:
                recent.append((due, action, task_id))
            else:
                bisect.insort(recent, (due, action, task_id))

    def _count_for_limits(self, member: str, due: float, action: str, task_id: str) -> None:
        recent = self._recent.get(member)
        if recent is None:
            self._recent[member] = [(due, action, task_id)]
        elif not recent or due >= recent[-1][0]:
            recent.append((due, action, task_id))
        else:
            bisect.insort(recent, (due, action, task_id))

    def _unplanned(self, task: Task, guardrail: str = "capacity") -> None:
        """``task``, accepted, is dropped before it is sent (``guardrail``: capacity, deadline,
        pace, a limit): never planned after all — not in the state, counted by no limit, and its
        rule's cooldown for the member counts from the task before it again."""
        self.new_history.pop(task.id, None)  # a later run must not see it as planned
        if self._carrying:
            self._carrying.pop(task.id, None)
        if self._own_deadlines:
            self._own_deadlines.pop(task.id, None)
        if self._kept_from:
            self._kept_from.pop(task.id, None)
        if self._noted and task.action not in self.notes and firing_of(task) in self._noted:  # (most firings have no note)
            self._notes_go_with(task, guardrail)
        if self._settles_again and (task.id in self.reopened_ids or task.id in self.open_parts) and task.id not in self._printed:
            # Nor the row an earlier run left of it: found stale as that run ended (its cooldown
            # held), or a part of a message it left open (merged, or held out with it), it is
            # dropped now as one run drops it, never planned.
            self.unplanned_reopened.add(task.id)
        self._let_go(task.id, f"{task.playbook}/{task.rule}", task.member, task.trigger_at)

    def notes_with(self, task: Task) -> list[Task]:
        """The notes to the operator of ``task``'s firing, which go with it (none for a note)."""
        if not self._noted or task.action in self.notes:
            return []
        return [note for note in self._noted.get(firing_of(task), ()) if note.action in self.notes]

    def _notes_go_with(self, task: Task, guardrail: str) -> None:
        """``task``, to a member, is dropped before it is sent: if it was the last of its
        firing's tasks to the member still planned, the firing's notes to the operator not yet
        final go too — "需求回访：已私信问 小徐…" about a DM capacity dropped is an instruction the
        operator must not follow (as offer() does for a firing stopped when offered)."""
        firing = firing_of(task)
        tasks = self._noted.get(firing)
        # (A task merged into a message goes out in it: still planned — a reward in the day's DM
        # — unless that message is ``task`` itself.)
        merged, into = self._counted_merged, self.merged_into
        if tasks is None or any((not other.dropped or (other.id in merged and into.get(other.id) != task.id)) and other is not task and other.action not in self.notes for other in tasks):
            return
        del self._noted[firing]
        # A task the next --state run reopens (found stale as this one ends: the member may be
        # back by then) brings its notes back with it: they are not out of its reach either.
        reopens = bool(self._out_of_reach) and id(task) not in self._out_of_reach
        for note in tasks:
            if note.action in self.notes and not note.dropped:
                if reopens:
                    self._out_of_reach.discard(id(note))
                self._out_of_its_day(note)
                self._unplanned(note)
                self._suppress(note, guardrail, self.says.explain.with_stopped.format(task=task.id, why=self.says.summary.reasons.get(guardrail, guardrail)))

    def _cooling(self, task_id: str, rule: str, member: str, trigger_at: float, since: float | None) -> None:
        """Task ``task_id`` holds its rule's cooldown for ``member`` from ``trigger_at``
        (``since``: the rule's firing for the member before it) until it is sent or let go."""
        self._cooling_since[task_id] = since
        firing = self._firings.get((rule, member, trigger_at))
        if firing is None:
            self._firings[(rule, member, trigger_at)] = [1, since, bool(self._went_out) and (rule, member, trigger_at) in self._went_out]
        else:
            firing[0] += 1

    def _cooled(self, task_id: str, rule: str, member: str | None, trigger_at: float, sent: bool) -> float | None | bool:
        """Task ``task_id`` no longer waits (``sent``: it went out). False while its firing holds
        the cooldown (another of its tasks waits, or one went out); else the firing before it."""
        since = self._cooling_since.pop(task_id)
        key = (rule, member or "", trigger_at)
        firing = self._firings.get(key)
        if firing is None:
            return False if sent else since  # (none kept: as before)
        firing[0] -= 1
        firing[2] = firing[2] or sent
        if firing[0] > 0:
            return False
        del self._firings[key]
        return False if firing[2] else firing[1]

    def _let_go(self, task_id: str, rule: str, member: str | None, trigger_at: float) -> None:
        """A task that will not be sent stops counting: no limit counts it, and its rule's
        cooldown for the member counts from the firing before it again — once no other task of
        its firing is still planned or went out."""
        # (``_uncount``, written out: every task dropped comes here.)
        recent = self._recent.get(member) if member is not None else None
        if recent:
            for index, item in enumerate(recent):
                if item[2] == task_id:
                    del recent[index]
                    break
        if task_id in self._cooling_since:
            since = self._cooled(task_id, rule, member, trigger_at, sent=False)
            key = (rule, member or "")
            if since is not False and self._last_fired.get(key) == trigger_at:
                if since is None:
                    del self._last_fired[key]
                else:
                    self._last_fired[key] = since

    def _uncount(self, member: str | None, task_id: str) -> None:
        """Task ``task_id`` will not reach ``member`` (stale, or dropped for capacity): limits stop counting it."""
        recent = self._recent.get(member) if member is not None else None
        if recent:
            for index, item in enumerate(recent):
                if item[2] == task_id:
                    del recent[index]
                    break

    def _recount(self, task: Task) -> None:
        """``task`` is final at a due time capacity or pace moved it to: limits count it there, as
        the member receives it (and as a later --state run, reading it from the state, counts it;
        the parts merged into it count for none: the member gets one message)."""
        recent = self._recent.get(task.member) if task.member is not None else None
        if recent:
            for index, (_, action, task_id) in enumerate(recent):
                if task_id == task.id:
                    del recent[index]
                    bisect.insort(recent, (task.due, action, task_id))
                    return
        if self._longest_limit and task.member is not None and not task.dropped:
            # Forgotten a limit's window after it was offered (``_limit_reached`` keeps no older
            # entry), it counts again where it is due now: capacity carried it days on.
            self._count_for_limits(task.member, task.due, task.action, task.id)

    def _count_capacity(self, assignee: str | None, due: float) -> None:
        """A slot of ``assignee``'s day taken by a task planned before this run (or before --from)."""
        if assignee is not None:
            self._capacity_used[(assignee, self._day(due))] += 1

    def _limit_reached(self, task: Task, due: float | None = None, own: str | None = None) -> str | None:
        """Why ``task``, due at ``due`` (its own due if None), would give its member more tasks
        in a limit's window than it allows, or None. ``own``: the task's id, when it is counted
        already (a move of a planned task: it does not count against itself)."""
        if task.member is None:
            return None
        recent = self._recent.get(task.member)
        if not recent:
            return None
        # Tasks offered from now on are due no earlier than now, and those checked again when
        # their day is settled (carried, paced) no earlier than the first day still open: one due
        # a whole limit before both can never share a window with them.
        horizon = min(task.trigger_at, self._settle_start) - self._longest_limit
        if recent[0][0] <= horizon:
            if self._carried:
                for item in recent:
                    if item[0] <= horizon:
                        self._carried.pop(item[2], None)
            recent[:] = [item for item in recent if item[0] > horizon]
        if due is None:
            due = task.due
        merged = bool(self._carrying or self._carried)  # (most runs merge no two actions)
        kind, actions = task.action, self._actions(task.id, task.action) if merged else None
        for limit in self.community.limits:
            if actions is not None:
                if not self._counts_under(limit, actions):
                    continue
            elif limit.actions is None:
                if kind in self._limit_exempt:
                    continue
            elif kind not in limit.actions:
                continue
            # Due within `per` of this one, before or after it: a window the member would see.
            if merged:
                counted = [t for t, action, task_id in recent if abs(t - due) < limit.per and task_id != own and self._counts_under(limit, self._actions(task_id, action))]
            else:
                counted = [t for t, action, task_id in recent if abs(t - due) < limit.per and task_id != own and (action in limit.actions if limit.actions is not None else action not in self._limit_exempt)]
            if len(counted) >= limit.max:
                return self._limit_reason(limit, counted, due, task)
        return None

    def _limit_reason(self, limit: Limit, counted: list[float], due: float, task: Task) -> str:
        """Why ``task`` at ``due`` breaks ``limit``: the dues ``counted`` in its window, the nearest named."""
        kinds = self.says.explain.any_tasks if limit.actions is None else "/".join(self.community.action_names.get(action, action) for action in sorted(limit.actions))
        nearest = min(counted, key=lambda t: abs(t - due))
        return self.says.explain.limit.format(max=limit.max, kinds=kinds, per=self.says.duration(limit.per), name=task.member_name, at=self._local(nearest))

    def _carries(self, message: Task, parts: list[Task]) -> None:
        """``message`` carries ``parts``: if one is of another action, the limits count the
        message under its parts' actions from now on (``_actions``)."""
        if any(part.action != message.action for part in parts):
            self._carrying[message.id] = message

    def _actions(self, task_id: str, action: str) -> tuple[str, ...] | frozenset[str]:
        """The actions a task (``action``: its own) counts as under the limits: a merged
        message's are its parts'."""
        message = self._carrying.get(task_id)
        if message is not None:
            return frozenset(part.action for part in message.merged) if message.merged else (action,)
        return self._carried.get(task_id) or (action,)

    def _counts_under(self, limit: Limit, actions: tuple[str, ...] | frozenset[str]) -> bool:
        if limit.actions is None:
            return any(action not in self._limit_exempt for action in actions)
        return any(action in limit.actions for action in actions)

    def _quiet(self, task: Task) -> None:
        window = self.community.quiet_hours
        if window is None or task.priority == "urgent":
            return  # urgent tasks (a spammer, an angry member) are not left until morning
        offset = self.local.offset(task.due)
        if not self._quiet_minutes[int((task.due + offset) % DAY) // 60]:  # type: ignore[index]  # quiet hours are set
            return
        end = self._quiet_end(task.due, window, offset)
        if end is not None:
            task.note_move(self.says.explain.quiet_hours, task.due, end)
            self.moved["quiet hours"] += 1
            if self.day_counts is not None:
                self._tally(task, "moved", "quiet hours")
            task.due = end

    def _off_day(self, task: Task, rule: Rule) -> str | None:
        """遇节假日顺延: a task of a rule with `not_on:` due on a day it names (a holiday break, a
        weekend) moves to the same time of the first day after that it does not name — unless it
        is worth nothing after its day (a rule with no `deadline:` whose trigger's tasks are due
        by the end of its day: a schedule's post, a ranking): then it is skipped, and the reason
        is returned (this week's post moved after 春节 would go out beside next week's)."""
        moved_to, name = self._off_until(rule.not_on, task.due)  # type: ignore[arg-type]  # not_on is set
        if name is None:
            return None
        if rule.deadline is None and rule.trigger.default_deadline == "day":
            return self.says.explain.off_day_skipped.format(name=name)
        self._move_off(task, moved_to, name)
        self._count_off(task)
        return None

    def _off_until(self, kinds: frozenset[str], due: float) -> tuple[float, str | None]:
        """``due``, or the same time of the first day after it that `not_on: kinds` does not keep
        tasks off, and the name of the day it was (None: not moved)."""
        return off_days(kinds, self.community.country, self.community.language).open_at(due, self.local)

    def _kept_off(self, task: Task) -> frozenset[str] | None:
        """The days ``task`` is kept off: its rule's `not_on`, or for a merged message every
        part's together (a DM kept off 春节 does not go out inside the welcome it joined)."""
        kinds: frozenset[str] | None = None
        for part in task.merged or (task,):
            source = part.source
            if source is not None and source.rule.not_on is not None:
                kinds = source.rule.not_on if kinds is None else kinds | source.rule.not_on
        return kinds

    def _move_off(self, task: Task, moved_to: float, name: str) -> None:
        """``task`` waits for the day after a holiday break or weekend (``name``): its deadline
        moves with it — the playbook chose to wait, the task is as useful after the break."""
        task.note_move(self.says.explain.off_day.format(name=name), task.due, moved_to)
        task.deadline += moved_to - task.due
        if task.id in self._own_deadlines:
            self._own_deadlines[task.id] += moved_to - task.due
        task.due = moved_to

    def _count_off(self, task: Task) -> None:
        """A move past days off (`not_on`), in the summary's 顺延 and the day counts."""
        self.moved["not_on"] += 1
        if self.day_counts is not None:
            self._tally(task, "moved", "not_on")

    def waited(self, task_id: str) -> float:
        """How long capacity's moves of a task waited out days its rule's `not_on` names (they
        count for no `max_delay`)."""
        return self._waited.get(task_id, 0.0)

    def has_waited(self, task_id: str, seconds: float) -> None:
        """A task an earlier --state run left open had waited out ``seconds`` of days off."""
        self._waited[task_id] = seconds

    def _quiet_end(self, t: float, window: tuple[int, int], offset: int | None = None) -> float | None:
        """The end of the quiet window containing ``t``, or None if ``t`` is outside it
        (``offset``: the UTC offset at ``t``, if known)."""
        start, end = window
        if offset is None:
            offset = self.local.offset(t)
        local = t + offset  # local wall-clock seconds
        minute = int(local % DAY) // 60
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return None
        if end < 1440:
            midnight = local - local % DAY
            if start > end and minute >= start:
                midnight += DAY  # 22:00-08:00 seen at 23:00 ends tomorrow
            candidate = midnight + end * 60 - offset
            if self.local.offset(candidate) == offset:
                return candidate
        # A UTC offset change before the end (or an end at 24:00): the exact, slow way.
        moment = datetime.fromtimestamp(t, self.tz)
        day = moment.date()
        if start > end and minute >= start:
            day += timedelta(days=1)  # 22:00-08:00 seen at 23:00 ends tomorrow
        return datetime.combine(day, time(end // 60 % 24, end % 60), self.tz).timestamp()

    def _suppress(self, task: Task, guardrail: str, reason: str | Callable[[], str]) -> None:
        """Count ``task`` as stopped by ``guardrail``; keep it, with the reason, if suppressed tasks are kept."""
        task.dropped = True  # out of the plan: a check still pending for it does nothing
        if self.day_counts is not None:
            # By what stopped it: a displaced task is what one run would have dropped for this.
            self._tally(task, "suppressed", guardrail)
        if self._printed and task.id in self._printed:
            # An earlier run printed it: the operator is told to take it back.
            printed = self._printed.pop(task.id)
            why = reason if isinstance(reason, str) else reason()
            if guardrail == "stale":
                self.withdrawn.append((task.due, task.id, task.member, why))
            elif guardrail == "merged":  # it goes out in that message: not sent on its own, and not lost
                self.merged_away.append((task.due, task.id, task.member, why))
                self._merged_printed[task.id] = printed  # should it carry the message after all
            else:
                guardrail, why = "displaced", self.says.explain.displaced.format(why=why)
                self.displaced.append((task.due, task.id, task.member, why))
            reason = why
        self.suppressed_counts[guardrail] += 1
        if self.keep_suppressed:
            self.explaining = True  # its text is written to be read, not sent (Enforcer._render)
            try:
                task.finish(self._local, self.says.explain.moved)
            finally:
                self.explaining = False
            self.suppressed.append(Suppressed(task, guardrail, reason if isinstance(reason, str) else reason()))

    # -- finishing -------------------------------------------------------------------------------

    def settle_through(self, t: float) -> None:
        """Event time has reached ``t``, a local midnight: the days before it are over."""
        self._settle(before=self._day(t))

    def finish(self, now: float | None = None) -> list[Task]:
        """Settle operator capacity on the days still open; return the tasks not yet drained, in
        output order. With --state, what those days held is kept first (``open``): the next run
        settles them again — but for the tasks capacity drops now that no later run can bring
        back (``now``: where the history ended; see ``_out_of_reach``)."""
        if self.record_history:
            waiting = [task for key in sorted(self._waiting) for task in self._waiting[key]]
            # A part of a message found stale as the history ended (``open_stale``) carries it on
            # now, back in its day: it is kept in that message only, which the next run checks
            # again and, stale then too, carries on from there. Kept on its own as well, it was
            # reopened twice, and the two copies met in one day (a KeyError in ``_carry_over``).
            carrying = {id(part) for item in self.open_stale for part in item.parts}
            self.open = [self.opening(task) for task in [*waiting, *self.tasks] if not task.dropped and id(task) not in carrying] + self.open_stale
            if self._noted:
                self._note_sent_beside()
            if self.on_open is not None:
                self.on_open(self.open)
            self._finishing = now
            # An earlier run's out-of-reach tasks of days still open: still held in the next run.
            self.held_over = [row for day in sorted(self._held) for row in self._held[day]]
        self._settle(before=None)
        if self._out_of_reach:
            # (Not a message whose part went on without it, past its deadline: the next run must
            # settle that part again, with the day it carried it to.)
            out = [item for item in self.open if item.task.dropped and id(item.task) in self._out_of_reach and all(part.dropped for part in item.parts)]
            gone = {id(item.task) for item in out}
            # A firing's note dropped with its tasks to the member, all out of reach, is out of
            # reach too: reopened alone, the next run would print "已私信问…" about a DM no run sends.
            # (Those tasks may be parts of a message: a part is out of reach with its message.)
            firings: dict[tuple[Any, ...], bool] = {}
            for item in self.open:
                for task in (item.task, *item.parts):
                    if task.action not in self.notes:
                        key = firing_of(task)
                        firings[key] = firings.get(key, True) and id(item.task) in gone
            # (Not one that superseded another: see ``_mark_out_of_reach``.)
            superseding = self._superseding
            self.open = [item for item in self.open if id(item.task) not in gone and not (item.task.dropped and item.task.action in self.notes and firings.get(firing_of(item.task)) and id(item.task) not in superseding)]
            self.held_over += [self._held_row(item) for item in out if item.task.member is not None]
            self._out_of_reach.clear()
        return self.drain()

    def _note_sent_beside(self) -> None:
        """Of the notes in the days left open (``open``), those whose firing has a task to the
        member no longer in them, still planned: final on an earlier day (``sent_beside``)."""
        waiting = {id(task) for item in self.open for task in (item.task, *item.parts)}
        for item in self.open:
            note = item.task
            if note.action not in self.notes:
                continue
            tasks = self._noted.get(firing_of(note), ())
            if any(other.action not in self.notes and not other.dropped and id(other) not in waiting for other in tasks):
                self.sent_beside.add(note.id)

    def _held_row(self, item: Open) -> dict[str, Any]:
        """What an out-of-reach task (see ``_mark_out_of_reach``) holds until its day is over:
        its rule's cooldown for its member, and its place among the member's limits."""
        task = item.task
        row: dict[str, Any] = {
            "v": 3, "id": task.id, "rule": f"{task.playbook}/{task.rule}", "member": task.member, "action": task.action,
            "trigger_at": task.trigger_at, "due": item.original_due, "day": self._day(item.due), "assignee": task.assignee or "",
        }
        if item.cooling_since is not None:
            row["cooling_since"] = item.cooling_since[0]
        return row

    def hold(self, rows: list[dict[str, Any]]) -> None:
        """The out-of-reach tasks of an earlier run's open days (its ``held_over``): their
        cooldowns and limits hold again until their day is over, as in one run, where they wait
        in that day's bucket until capacity drops them."""
        for row in rows:
            self._remember(row["id"], row["rule"], row["member"], row["action"], row["trigger_at"], row["due"])
            if "cooling_since" in row and row["member"] is not None:
                self._cooling(row["id"], row["rule"], row["member"], row["trigger_at"], row["cooling_since"])
            self._held.setdefault(row["day"], []).append(row)
            if self.local.midnight(row["day"]) < self._settle_start:
                self._open_day(row["day"])

    def _release_held(self, before: int | None, assignee: str | None = None) -> None:
        """The held rows of the days before ``before`` (all, if None): their day is settled,
        their tasks are dropped as in one run (``_unplanned``: no limit counts them, the cooldown
        counts from the task before). With ``assignee``, also those of day ``before`` itself
        whose operator's list of that day is settled already (operators' days are settled in
        the order of their ids): in one run, capacity dropped them there, before this operator's
        list of the day asks its members' limits."""
        for day in [day for day in self._held if before is None or day < before]:
            for row in self._held.pop(day):
                self._let_go(row["id"], row["rule"], row["member"], row["trigger_at"])
        if before is None or assignee is None or before not in self._held:
            return
        # (A row of an earlier version names no operator: let go when its day is over.)
        rows = self._held[before]
        going = [row for row in rows if row.get("assignee", _NO_OPERATOR) < assignee]
        if not going:
            return
        left = [row for row in rows if row.get("assignee", _NO_OPERATOR) >= assignee]
        if left:
            self._held[before] = left
        else:
            del self._held[before]
        for row in going:
            self._let_go(row["id"], row["rule"], row["member"], row["trigger_at"])

    def _mark_out_of_reach(self, tasks: list[Task], room: int, limited: int = 0) -> None:
        """At the end of a --state run, of a day's ``tasks`` (``room`` of them kept, in order),
        the overflow no later run can keep: the next run settles the day again with its tasks
        due before ``now`` still there (checked already, they are not checked again before the
        day is settled), and new tasks only push the overflow further down; only the tasks due
        after ``now`` may go (stale). An overflow task with more tasks above it than room plus
        those stays out, and need not be kept open: a busy day's hundreds of dropped offers."""
        now = self._finishing
        if now is None or len(tasks) <= room:
            return
        # (And a calendar rule's task moved here from an earlier day: a newer one of its rule
        # offered later that day supersedes it, due before ``now`` or not — ``_supersede``.)
        supersedes = self.supersedes
        may_go = sum(1 for task in tasks if task.due > now or (supersedes and f"{task.playbook}/{task.rule}" in supersedes and self._day(task.trigger_at) < self._day(task.due)))
        # And the ``limited`` tasks carried in from an earlier day: a task offered later in the
        # window of one of their member's limits drops it before capacity (``_within_limits``;
        # a DM carried to 06:25 gives way to the member's schedule DM of 23:45 offered after now).
        may_go += limited
        overflow = sorted(tasks[room:], key=_capacity_order)
        # A member's message another of their messages waited for (one message a day) is kept
        # open even so: settling the day again, the next run must see it to make that one wait.
        # Nor a task that superseded an older one of its rule that day: the next run, settling
        # the day again, must see it to drop that one again (capacity drops it after).
        waited_for = self._waited_for or ()
        superseding, took_in = self._superseding, self._took_in
        # Nor a member's task of an action merge lists, due after ``now``: a task offered later,
        # due before it that day, may take it into its message, which has the higher priority
        # and the earlier deadline of the two (a schedule's 23:45 DM takes in the survey carried
        # to 23:58, and the survey's deadline of 23:58 puts that message first in the day).
        # Nor a message that took in another task of the days left open as they were settled now:
        # that task is saved on its own, and the next run must merge it into the message again
        # (one message the member's limits count once), not reopen it beside a light row.
        # Nor a task whose effect keeps its slot (a removal), due after ``now``: when it comes due,
        # its effect takes a slot of the day ahead of capacity's order, before the tasks whose
        # effects come after it (``slot_for_effect``), whatever their priority.
        merge, keeps_slot = self.community.merge, self._keeps_slot
        self._out_of_reach.update(
            id(task) for task in overflow[may_go:]
            if task.member not in waited_for and id(task) not in superseding and id(task) not in took_in and not (task.due > now and ((task.member is not None and task.action in merge) or task.action in keeps_slot))
        )

    def drain(self) -> list[Task]:
        """The tasks that became final since the last call, in output order.

        A task is final once event time has left its due day (and its operator's capacity that
        day is settled): nothing offered later can be due earlier. Successive drains are in
        output order as a whole, so a plan can be written while the run goes on.
        """
        released, self.released = self.released, []
        return released

    def _settle(self, before: int | None) -> None:
        """Make the plan final for the days before local day ``before`` (all, if None)."""
        if before is None:
            # The days still open, one after another as while the run went on: pace carries a
            # day's overflow into the next, which is settled after it, with it.
            while (day := self._first_open()) is not None:
                self._settle_days(day + 1, closing=True)
        self._settle_days(before, closing=before is None)

    def _first_open(self) -> int | None:
        """The earliest local day with tasks or held rows not yet settled, if any."""
        days = [day for day, _ in self._days[:1]] + [self._day(task.due) for task in self.tasks if not task.dropped] + list(self._held)
        return min(days) if days else None

    def _settle_days(self, before: int | None, closing: bool) -> None:
        """``_settle``'s work for the days before ``before`` (all, if None); ``closing``: the run
        is ending, and the tasks keep what a --state run saves of them."""
        if before is not None:
            self._settles_from = self.local.midnight(before + 1)
        self._fill(before)
        if self._held:
            self._release_held(before)  # (those of days no bucket of this run reached)
        final: list[Task]
        pending: list[Task] = []
        if before is None:
            final, self.tasks = [task for task in self.tasks if not task.dropped], []
        else:
            final = []
            for task in self.tasks:
                if not task.dropped:
                    (final if self._day(task.due) < before else pending).append(task)
            self.tasks = pending
        if self.supersedes:
            final = self._supersede(final)  # an operator with no capacity: not done in _fill
        final = self._written(self._pace(self._merge(final, before=before), before))
        self._next_settle()  # after pace, which may carry a task into a later day
        held: list[Task] = []
        if self.holdout is not None:
            final, held = self._hold_out(final)
        final.sort(key=lambda task: (task.due, -task.rank, task.order, task.id))
        cooling = self._cooling_since
        noted = self._noted
        own = self._own_deadlines
        for task in final:
            parts = task.merged
            task.finish(self._local, self.says.explain.moved)
            task.merged = None
            if self._carrying.pop(task.id, None) is not None and parts and any(part.action != task.action for part in parts):
                self._carried[task.id] = frozenset(part.action for part in parts)
            if own:
                own.pop(task.id, None)
            if parts and self._part_original:
                for part in parts:
                    self._part_original.pop(part.id, None)
            if parts is not None and self._own_part:
                self._own_part.pop(task.id, None)
            if cooling:
                for part in parts or (task,):
                    if part.id in cooling:  # sent: its firing's cooldown holds, whatever its other tasks do
                        self._cooled(part.id, f"{part.playbook}/{part.rule}", part.member, part.trigger_at, sent=True)
            if noted and task.action in self.notes:
                noted.pop(firing_of(task), None)  # final: it goes out, whatever its firing's tasks do
            if self._kept_from:
                self._kept_from.pop(task.id, None)
                self._waited.pop(task.id, None)
            if not closing:
                task.source = None  # kept for Open until the run ends
        if self.on_final is not None:
            self.on_final(final + held if held else final)  # a held-out member's loop fields: as if given
        if self._printed:
            final = self._reprinted(final)
        self.released += final
        if self.on_settled is not None:
            self.on_settled(float("inf") if before is None else self.local.midnight(before))

    def _hold_out(self, final: list[Task]) -> tuple[list[Task], list[Task]]:
        """``final`` less what goes to members held out of its playbook (engine/holdout.py), and
        those parts: withheld, after everything else is settled, so no other member's plan
        changes. A merged message loses its held-out parts; if its first part is one, the next
        carries it (what is left of an urgent message waits for the end of quiet hours, laid out
        at pace there or dropped past its deadline: ``_paced_after``)."""
        holdout = self.holdout
        assert holdout is not None
        record = self._finishing is None  # days a --state run leaves open: recorded when settled again
        out: list[Task] = []
        held: list[Task] = []
        to_pace: list[Task] = []  # what is left of urgent messages, moved out of quiet hours: laid out at pace
        for task in final:
            parts = task.merged or [task]
            withheld = {id(part) for part in parts if part.member is not None and holdout.held(part.playbook, part.member)}
            if record:
                for part in parts:
                    if part.member is not None and part.playbook in holdout.shares:
                        holdout.exposed(part.playbook, part.member, HELD_OUT if id(part) in withheld else TREATED, part.due)
            if not withheld:
                out.append(task)
                continue
            kept = []
            for part in parts:
                if id(part) in withheld:
                    # Due with its message, as its row is saved: a contact then for the loop
                    # fields (``member.last_contact_at``), not at its own later hour.
                    part.due = task.due
                    self._withhold(part)
                    held.append(part)
                else:
                    kept.append(part)
            if kept:
                if id(task) in withheld:
                    carrier = self._carry(task, kept)
                    if carrier.due != task.due and carrier.assignee in self._paces:
                        to_pace.append(carrier)
                    out.append(carrier)
                else:
                    out.append(task)
                    self._left_with(task, kept)  # its own deadline again, or the earliest of the parts left
                self._join(out[-1], kept)
        if to_pace:
            # One after another, each with the tasks placed so far (the others stay where pace
            # laid them out); one that would be past its deadline there is dropped, as pace drops it.
            unplaced = set(map(id, to_pace))
            held_slots = self._held_slots() if self.holding else {}  # earlier runs' tasks, which pace keeps clear of too
            for carrier in to_pace:
                unplaced.discard(id(carrier))
                self._paced_after(carrier, [task.due for task in out if id(task) not in unplaced and not task.dropped and task is not carrier and task.assignee == carrier.assignee] + held_slots.get(carrier.assignee or "", []))
            out = [task for task in out if not task.dropped]
        return out, held

    def _paced_after(self, carrier: Task, taken: list[float]) -> None:
        """``carrier``, what is left of an urgent message held out, waited for the end of quiet
        hours (``_carry``): it takes the first time from there that keeps its operator's pace
        with the times ``taken``, or is dropped if that is past its deadline."""
        pace, due = self._paces[carrier.assignee], carrier.due  # type: ignore[index]  # paced: has an assignee
        for other in sorted(taken):
            if due - pace < other < due + pace:
                due = other + pace
        if due == carrier.due:
            return
        if due > carrier.deadline:
            self._paced_past_deadline(carrier, due)
            return
        carrier.note_move(self.says.explain.pace_of.format(assignee=self._who(carrier.assignee)), carrier.due, due)
        carrier.due = due
        sent = self.new_history.get(carrier.id)
        if sent is not None:
            sent.due = due

    def _paced_past_deadline(self, task: Task, due: float) -> None:
        """Pace would lay ``task`` out at ``due``, past its deadline: it is dropped there."""
        task.note_move(self.says.explain.pace_of.format(assignee=self._who(task.assignee)), task.due, due)
        task.due = due
        self._paced_over.discard(task.id)
        self._unplanned(task, "deadline")
        if task.merged is not None and len(task.merged) > 1:
            # The DMs merged into it go with it, and their firings' notes ("已私信问 …") with
            # them: not left to say a message nobody sends was sent.
            self._drop_parts(task, "deadline", partial(self._past_deadline, task), due)
        self._suppress(task, "deadline", self._past_deadline(task))

    def _withhold(self, task: Task) -> None:
        sent = self.new_history.get(task.id)
        if sent is not None:
            sent.status = HELD_OUT
        self._printed.pop(task.id, None)  # not printed, whatever an earlier run settled
        self.merged_into.pop(task.id, None)
        self.held_out.append(task)
        self.withheld.add(task.id)
        self.suppressed_counts[HELD_OUT] += 1
        if self.day_counts is not None:
            self._tally(task, "suppressed", HELD_OUT)
        if self.keep_suppressed:
            task.finish(self._local, self.says.explain.moved)
            share = self.holdout.shares[task.playbook] if self.holdout is not None else 0
            who = f"{task.member_name} ({task.member})" if task.member_name and task.member_name != task.member else task.member
            self.suppressed.append(Suppressed(task, HELD_OUT, self.says.explain.held_out.format(who=who, share=f"{share:.0%}", playbook=task.playbook)))

    def _carry(self, message: Task, parts: list[Task]) -> Task:
        """The first of ``parts``, merged into ``message`` whose own part is withheld, carries it instead."""
        carrier = parts[0]
        carrier.due, carrier.assignee = message.due, message.assignee
        self._as_message(carrier, parts)
        if message.deadline > carrier.deadline:
            # The message waited out days off (`not_on`) with its deadline, which its parts' own
            # did not follow: settled within it, in its place the carrier keeps it (not due
            # after a deadline of its own from before the break).
            carrier.deadline = message.deadline
        carrier.dropped = False
        window = self.community.quiet_hours
        if window is not None and carrier.priority != "urgent":
            # An urgent message goes out at night; what is left of it once its urgent part is
            # held out waits for the morning, as it would have on its own (quiet hours).
            carrier.due = self._quiet_end(carrier.due, window) or carrier.due
        sent = self.new_history.get(carrier.id)
        if sent is not None:
            sent.status, sent.due = "todo", carrier.due
        self._takes_over(carrier, parts[1:])
        return carrier

    def _reprinted(self, final: list[Task]) -> list[Task]:
        """``final`` less the reopened tasks that come out as an earlier run printed them (the
        operator has them); those that changed are printed again (``revised``)."""
        out = []
        for task in final:
            printed = self._printed.pop(task.id, None)
            if printed is not None:
                if printed == printed_form(task):
                    continue
                self.revised.append(task)
            out.append(task)
        return out

    def _next_settle(self) -> None:
        """When the earliest day still open ends: the evaluation settles it then."""
        self.settle_at = self._settle_start = INF
        day = self._first_open()
        if day is not None:
            self._open_day(day)

    def _open_day(self, day: int) -> None:
        """Local day ``day`` has tasks not yet settled: the evaluation settles it at its end."""
        self.settle_at, self._settle_start = self.local.midnight(day + 1), self.local.midnight(day)

    def _written(self, tasks: list[Task]) -> list[Task]:
        """The kept tasks with their texts rendered now (a merged one's parts joined); a task
        whose template fails is left out (the failure is said where it is rendered)."""
        written = []
        for task in tasks:
            parts = task.merged or [task]
            fresh = task.render is not None  # its own text is written now (not by a join before: pace's)
            kept = [part for part in parts if part.render is None or part.render(part)]
            if not kept:
                self.new_history.pop(task.id, None)
                continue
            if task.merged is not None:
                own = self._own_part.get(task.id)
                if own is not None and fresh and any(part is task for part in kept):
                    own[0] = task.text  # its own text, just written (a join before it, by pace, had none yet)
                self._join(task, kept)
            written.append(task)
        return written

    def _join(self, task: Task, parts: list[Task]) -> None:
        """``task`` becomes the one message of ``parts`` (in due order): texts joined with a
        blank line, reasons listed."""
        task.merged = parts
        history = self.new_history
        for part in parts:
            part.finish(self._local, self.says.explain.moved)
            sent = history.get(part.id) if part is not task else None
            if sent is not None and sent.status == "merged":
                # Saved with its message's due, where a later run finds the message's other
                # actions by (``merged_rows``): the reward a DM carried counts under a reward limit.
                sent.due = task.due
        # Joined again (a part withheld for a holdout): of its own part, its own text, reason and
        # options, not those of the message it became.
        own = self._own_part.get(task.id)
        if own is None:
            own = self._own_part[task.id] = [task.text, task.reason, task.params]
        texts, reasons, options = zip(*[own if part is task else (part.text, part.reason, part.params) for part in parts], strict=True)
        if len(parts) == 1 and parts[0] is task:
            task.parts = []
        else:
            task.parts = [{"id": part.id, "rule": f"{part.playbook}/{part.rule}", "action": part.action, "reason": reason} for part, reason in zip(parts, reasons, strict=True)]
        # A festival's greeting opens the message (春节快乐 first, then the questionnaire),
        # whatever the order the parts came due in.
        leading = sorted(range(len(parts)), key=lambda index: not _is_greeting(parts[index]))
        # Two rules' parts of the same words (a stock line two playbooks share) are said once.
        ordered = list(dict.fromkeys(texts[index] for index in leading))
        task.text = "\n\n".join(dict.fromkeys(_greeted_once(ordered, task.member_name)))
        task.params = own[2]
        if any(params != task.params for params in options):
            task.params = _all_options(list(options))  # each part's coupon, form, group: what the operator does
        task.reason = "; ".join(dict.fromkeys(reasons))
        if self.instruction is not None:
            task.how = self.instruction(task)

    def _pace(self, tasks: list[Task], before: int | None = None) -> list[Task]:
        """No two tasks of an operator with a `pace` due closer together than it: each day's
        tasks laid out slot by slot, each slot to the most pressing task due by then (priority,
        then deadline) — those moved to the same minute (the end of quiet hours, a capacity move)
        highest priority first, and one due later does not wait behind them if it is more
        pressing than those left. A task pushed into quiet hours goes to their end
        (urgent ones excepted, as when offered); one pushed out of its local day goes on to the
        next (``_pace_over``), one pushed past its deadline is dropped."""
        if not self._paces or not tasks:
            return tasks
        by_day: dict[tuple[str, int], list[Task]] = {}
        for task in tasks:
            if task.assignee in self._paces:
                by_day.setdefault((task.assignee, self._day(task.due)), []).append(task)
        dropped: set[int] = set()
        carriers: list[Task] = []  # merged messages whose first part went stale: under their next
        held = self._held_slots() if self.holding else {}
        for assignee, day in sorted(by_day):
            day_tasks = by_day[(assignee, day)]
            # From the operator's last task so far: days are settled in order, the evening's last
            # task and the morning's first are paced too — an earlier run's included. That run's
            # tasks of this very day that stay as they are (marked done, delivered) are slots
            # kept clear, not a start: the day's other tasks are laid out around them.
            pace, start, end, last = self._paces[assignee], self.local.midnight(day), self.local.midnight(day + 1), self._last_paced.get(assignee, float("-inf"))
            slots = held.get(assignee, [])
            first = bisect.bisect_left(slots, start)
            if first:
                last = max(last, slots[first - 1])
            fixed = slots[first:bisect.bisect_left(slots, end)]
            # Each free slot goes to the most pressing task due by then (priority, then deadline):
            # a question nobody answered, due at 09:08, does not wait behind the morning's batch.
            ordered = sorted(day_tasks, key=lambda task: (task.due, -task.rank, task.deadline, task.order, task.id))
            ready: list[tuple[Any, ...]] = []
            index, count = 0, len(ordered)
            # A member's messages of the day that merge may still join (see _join_waiting), and
            # the tasks already laid out or joined into one.
            together = self._same_message(day_tasks)
            taken: set[int] = set()
            # The tasks laid out so far, and where the day started from: a note laid out goes
            # with its firing's task if pace then drops that one, and frees its slot.
            laid: list[Task] = []
            from_before = last
            while index < count or ready:
                slot = last + pace
                if not ready and ordered[index].due > slot:
                    slot = ordered[index].due
                while index < count and ordered[index].due <= slot:
                    waiting = ordered[index]
                    heapq.heappush(ready, (-waiting.rank, waiting.deadline, waiting.due, waiting.order, waiting.id, waiting))
                    index += 1
                task = heapq.heappop(ready)[-1]
                if task.dropped:
                    continue  # a note that went with its firing's task, dropped a moment ago
                urgent = task.priority == "urgent"
                if together:
                    if id(task) in taken:
                        continue  # it went out in an earlier message of its member
                    taken.add(id(task))
                due = max(task.due, last + pace)
                for t in fixed:  # sorted: after each one it is too close to
                    if t + pace <= due:
                        continue
                    if t >= due + pace:
                        break
                    due = t + pace
                if due != task.due and self._quiet_minutes is not None and task.priority != "urgent":
                    # Laid out past the start of quiet hours (an evening's batch): after them,
                    # which for a window across midnight is the next morning (``_pace_over``).
                    due = self._quiet_end(due, self.community.quiet_hours) or due  # type: ignore[arg-type]  # quiet hours are set
                if due > task.deadline and task.merged is not None and len(task.merged) > 1 and self._own_deadlines.get(task.id, task.deadline) >= due:
                    self._leave_expired(task, due)  # its own part can wait: only the parts that cannot go
                if due > task.deadline:
                    self._paced_past_deadline(task, due)
                    dropped.add(id(task))
                    if laid and laid[-1].dropped:
                        last = max([from_before, *(other.due for other in laid if not other.dropped)])
                    continue
                if due >= end:
                    # No room left in its day at this pace (an evening's joiners): it goes on to
                    # the next day, as capacity's overflow does, and takes its place there —
                    # past the days its rule keeps off (`not_on`), its deadline with it.
                    if self.keeps_off and (kinds := self._kept_off(task)) is not None:
                        open_at, name = self._off_until(kinds, due)
                        if name is not None:
                            task.note_move(self.says.explain.pace_of.format(assignee=self._who(assignee)), task.due, due)
                            task.due = due
                            self._move_off(task, open_at, name)
                            self._count_off(task)
                            due = open_at
                    self._pace_over(task, due, assignee)
                    dropped.add(id(task))
                    continue
                joined = bool(together) and self._join_waiting(task, due, together, taken, dropped)
                if due != task.due or joined:
                    if self.stale_at is not None:
                        holding = self._holds_at(task, due)
                        if holding is not task:
                            dropped.add(id(task))
                            if holding is None:
                                continue
                            carriers.append(holding)  # the message goes on under another part
                            task = holding
                        if urgent and task.priority != "urgent" and self._quiet_minutes is not None and self._quiet_end(due, self.community.quiet_hours) is not None:  # type: ignore[arg-type]  # quiet hours are set
                            # Its urgent part went stale: what is left waits for the end of quiet
                            # hours, as it would have on its own, laid out from there in its turn.
                            if due != task.due:
                                task.note_move(self.says.explain.pace_of.format(assignee=self._who(assignee)), task.due, due)
                                task.due = due
                            self._quiet(task)
                            if task.id in self.new_history:
                                self.new_history[task.id].due = task.due
                            self._recount(task)
                            taken.discard(id(task))
                            where = bisect.bisect_left([(other.due, -other.rank, other.deadline, other.order, other.id) for other in ordered[index:]], (task.due, -task.rank, task.deadline, task.order, task.id))
                            ordered.insert(index + where, task)
                            count += 1
                            continue
                if due > task.due and self._longest_limit and task.member is not None:
                    # Moved later, it must not give its member more tasks in a limit's window
                    # than the limit allows (checked when offered, with the others' dues then).
                    broken = self._limit_reached(task, due, task.id)
                    if broken is not None:
                        if carriers and carriers[-1] is task:
                            carriers.pop()
                        self._paced_over.discard(task.id)
                        self._unplanned(task, "limit")
                        self._suppress(task, "limit", broken)
                        dropped.add(id(task))
                        continue
                if due != task.due:
                    task.note_move(self.says.explain.pace_of.format(assignee=self._who(assignee)), task.due, due)
                    if task.id not in self._paced_over:  # else counted when pace carried it here
                        self.moved["pace"] += 1
                        if self.day_counts is not None:
                            self._tally(task, "moved", "pace")
                    task.due = due
                    if task.id in self.new_history:
                        self.new_history[task.id].due = due  # where pace put it: a later run paces from it
                    self._recount(task)
                if self._paced_over:
                    self._paced_over.discard(task.id)
                last = due
                laid.append(task)
            self._last_paced[assignee] = last
            if together:
                self._paced_second_waits(day_tasks, dropped, before)
        # A note laid out before its firing's task was dropped (``_notes_go_with``) goes too —
        # also when that task was a part that left a message laid out later (``_leave_expired``),
        # which drops nothing from this list itself.
        return [task for task in tasks if id(task) not in dropped and not task.dropped] + [task for task in carriers if id(task) not in dropped and not task.dropped]

    def _leave_expired(self, message: Task, due: float) -> None:
        """``message``, merged, laid out by pace at ``due``, past the deadline of some of its
        parts but not of its own: those parts are dropped (``deadline``, their notes with them)
        and it goes on with the others — a 需求回访 DM is not lost with the 30-minute reminder
        that joined it, as with a message capacity moves (``_past_deadline_parts``)."""
        parts = message.merged or [message]
        going = [part for part in parts if part is message or part.deadline >= due]
        for part in parts:
            if part is not message and part.deadline < due:
                self.merged_into.pop(part.id, None)
                self._drop_part(part, "deadline", partial(self._deadline_at, part, due), due)
        message.merged = going if len(going) > 1 else None
        self._left_with(message, going)

    def _deadline_at(self, task: Task, due: float) -> str:
        return self.says.explain.deadline.format(due=self._local(due), deadline=self._local(task.deadline))

    def _paced_second_waits(self, day_tasks: list[Task], dropped: set[int], before: int | None) -> None:
        """A paced operator's day, laid out: a member's message after the first (of one key)
        that can wait goes to the next day (``_second_waits``). Done after pace, which may have
        taken it into the first message where it moved that one to (``_join_waiting``)."""
        messages: dict[tuple[Any, ...], list[Task]] = {}
        for task in day_tasks:
            if id(task) not in dropped and not task.dropped and task.member is not None and task.action in self.community.merge:
                messages.setdefault(_message_key(task, self.community.merge_in_group), []).append(task)
        for same in messages.values():
            if len(same) < 2:
                continue
            same.sort(key=lambda task: (task.due, task.id))
            waiting = [later for later in same[1:] if self._may_wait(later, before)]
            if waiting:
                self._notes_wait_too([task for task in day_tasks if id(task) not in dropped], waiting, before)
                for task in waiting:
                    dropped.add(id(task))
                    self._wait_a_day(task)

    def _held_slots(self) -> dict[str, list[float]]:
        """By operator, the due times of earlier runs' tasks this run does not settle again (in
        order): a paced day's layout keeps clear of them."""
        slots: dict[str, list[float]] = {}
        for sent in self.holding.values():
            if sent.assignee is not None:
                slots.setdefault(sent.assignee, []).append(sent.due)
        for times in slots.values():
            times.sort()
        return slots

    def _same_message(self, tasks: list[Task], by_day: bool = False) -> dict[tuple[Any, ...], list[Task]]:
        """One operator's tasks of a day that merge could make one message (one member and
        channel; one action in one group for a group action), by that key: only keys with two or more.
        ``by_day``: ``tasks`` are of several operators and days, told apart by the key too."""
        merge = self.community.merge
        if not merge:
            return {}
        # One message is one place: a DM is never posted in a group with an @, and an @ in one
        # group never goes out in another group of the same operator.
        in_group = self.community.merge_in_group
        same: dict[tuple[Any, ...], list[Task]] = {}
        for task in tasks:
            if task.member is not None and task.action in merge:
                # (``_message_key``, written out: asked of each task of a day, each day it waits.)
                key = (task.member, task.channel, task.action, task.group) if task.action in in_group else (task.member, task.channel, None, None)
                same.setdefault((task.assignee, self._day(task.due), *key) if by_day else key, []).append(task)
        return {key: parts for key, parts in same.items() if len(parts) > 1}

    def _join_waiting(self, task: Task, due: float, together: dict[tuple[Any, ...], list[Task]], taken: set[int], dropped: set[int]) -> bool:
        """``task``, laid out at ``due``, takes in its member's messages of the day not yet laid
        out that were triggered by then (and may still go then): merge saw the message due
        earlier, before pace moved it, and kept them apart. A night joiner's welcome @ held to
        08:00 and paced to 11:00 takes in the answer to her introduction written at 08:43,
        instead of a second @ ten minutes later. Whether it took in any. Only a message of an
        action merge lists takes others in: a note to the operator about the member (the
        question nobody answered) never carries the member's DM."""
        if task.member is None or task.action not in self.community.merge:
            return False
        others = together.get(_message_key(task, self.community.merge_in_group))
        if not others:
            return False
        joining = [other for other in others if id(other) not in taken and other.deadline >= due and _known_at(other) <= due]
        if joining and self._longest_limit:
            joining = self._may_join(task, joining, due)
        if not joining:
            return False
        for other in joining:
            taken.add(id(other))
            dropped.add(id(other))
            self._paced_over.discard(other.id)
        # What happened first is said first, as merge orders a message's parts.
        self._combine(sorted([task, *joining], key=lambda part: (part.due, part.trigger_at, part.order, part.id)), carrier=task, at=due)
        return True

    def _may_join(self, task: Task, joining: list[Task], due: float) -> list[Task]:
        """Of ``joining``, those that may join ``task``'s message at ``due`` without breaking a
        limit there (``_parts_within_limits``); the others are laid out on their own."""
        kinds = {sub.action for sub in task.merged or (task,)}
        fine = [task]
        for other in joining:
            new = {sub.action for sub in other.merged or (other,)} - kinds
            if new and self._joining_breaks_limit(other, fine, due, kinds, new) is not None:
                continue
            kinds |= new
            fine.append(other)
        return fine[1:]

    def _pace_over(self, task: Task, due: float, assignee: str) -> None:
        """``task`` found no room left in its day at its operator's pace: due ``due`` (the next
        morning, after quiet hours), it waits in that day's list, settled with that day's tasks
        (capacity, merge, pace) and checked again when due, as capacity's overflow is."""
        if due != task.due:  # (moved already past days off: said then)
            task.note_move(self.says.explain.pace_of.format(assignee=self._who(assignee)), task.due, due)
        task.due = due
        if task.id in self.new_history:
            sent = self.new_history[task.id]
            sent.due, sent.deadline = due, task.deadline
        self._recount(task)
        if self._effected:
            self._effect_moved(task, assignee, self._day(due))
        if task.id not in self._paced_over:  # a task moved by pace counts once, however often
            self._paced_over.add(task.id)
            self.moved["pace"] += 1
            if self.day_counts is not None:
                self._tally(task, "moved", "pace")
        self._place(task, self._kept_from.pop(task.id, due) if self._kept_from else due)
        if self.moved_later is not None:
            self.moved_later((task,))

    def _holds_at(self, task: Task, at: float) -> Task | None:
        """``task`` as it still holds at ``at``, where pace moves it, or None: the parts of a
        merged one that do not hold are dropped as stale and the rest joined again — under the
        first of them that holds, if its own part does not."""
        parts = task.merged or [task]
        stale = [(part, why) for part in parts if (why := self.stale_at(part, at)) is not None]  # type: ignore[misc]  # set: checked by the caller
        if not stale:
            return task
        for part, why in stale:
            if part is not task:
                self._stale_part(part, why)  # counted as merged into it until now
                continue
            self._mark_stale(part.id)
            self._let_go(part.id, f"{part.playbook}/{part.rule}", part.member, part.trigger_at)
            self._suppress(part, "stale", why)
            if self._noted and part.action not in self.notes and len(parts) == 1:
                self._notes_go_with(part, "stale")  # "移出前先截图…" about a removal that is not done
        gone = {id(part) for part, _ in stale}
        left = [part for part in parts if id(part) not in gone]
        if not left:
            return None
        carrier = left[0]
        if carrier is not task:
            self._takes_over(carrier, left[1:])
            carrier.dropped, carrier.due, carrier.moves = False, task.due, task.moves
            if carrier.id in self.new_history:
                self.new_history[carrier.id].status = "todo"  # the message now
            if self._longest_limit and carrier.member is not None:
                self._count_for_limits(carrier.member, carrier.due, carrier.action, carrier.id)
            self._as_message(carrier, left)
        else:
            self._left_with(carrier, left)
        self._join(carrier, left)
        return carrier

    def _left_with(self, message: Task, parts: list[Task]) -> None:
        """``message`` after parts left it (stale, past their deadline, held out), with ``parts``
        (itself among them): the highest priority of those left, its own first, and the earliest
        of their deadlines — not those of the parts gone (a low-priority DM that carried a high
        one is low again, and ranks so for capacity and pace)."""
        own_priority = message.source.rule.priority if message.source is not None else message.priority
        message.priority = max([own_priority, *(part.priority for part in parts if part is not message)], key=PRIORITY_RANK.__getitem__)
        own = self._own_deadlines.get(message.id)
        if own is None:
            return  # it took no earlier deadline of another part
        message.deadline = min([own, *(part.deadline for part in parts if part is not message)])
        if message.id in self.new_history:
            self.new_history[message.id].deadline = message.deadline

    def _supersede(self, tasks: list[Task]) -> list[Task]:
        """One post of a calendar rule a day: a task of a `schedule`, `holiday`, `leaderboard` …
        rule (``supersedes``: one with a `deadline:` past its day) that a move brought from an
        earlier day onto a day where the same rule has a newer task for the same group or member
        (and operator) goes, superseded by it — a weekly post kept off two Mondays of 春节, or a
        daily post capacity carried over, would otherwise go out beside the next one. Tasks the
        rule planned for one day (a post at 10:00 and one at 16:00) all stay."""
        newest: dict[tuple[Any, ...], Task] = {}
        candidates: list[tuple[tuple[Any, ...], Task]] = []
        for task in tasks:
            if task.dropped or f"{task.playbook}/{task.rule}" not in self.supersedes:
                continue
            key = (task.playbook, task.rule, task.order[1] if len(task.order) > 1 else 0, task.member or task.group, task.assignee, self._day(task.due))
            candidates.append((key, task))
            best = newest.get(key)
            if best is None or (task.trigger_at, task.id) > (best.trigger_at, best.id):
                newest[key] = task
        gone: set[int] = set()
        for key, task in candidates:
            best = newest[key]
            if best is not task and task.trigger_at < best.trigger_at and self._day(task.trigger_at) < key[-1]:
                gone.add(id(task))
                if self._finishing is not None:
                    self._superseding.add(id(best))
                self._original_due.pop(task.id, None)  # out of its day's list here, not left in it
                self._unplanned(task, "superseded")  # never sent: no limit counts it, its cooldown goes back
                why = partial(self.says.explain.superseded.format, id=best.id, at=self._local(best.trigger_at), day=self._date(best.due))
                if task.merged is not None and len(task.merged) > 1:
                    self._drop_parts(task, "superseded", why, None)  # with it: not left "merged into" a message nobody sends
                self._suppress(task, "superseded", why())
        return [task for task in tasks if id(task) not in gone] if gone else tasks

    def _merge(self, tasks: list[Task], one_day: bool = False, before: int | None = None) -> list[Task]:
        """One member, one message a day: tasks of the merged actions (community.merge) for
        the same member, channel and assignee, due the same local day, become the first of them
        (``one_day``: ``tasks`` are one operator's tasks of one day, a day's bucket; else the
        tasks of the days before ``before`` being settled, of operators with no capacity)."""
        if not self.community.merge or len(tasks) < 2:
            return tasks
        gone: set[int] = set()
        waiting: list[Task] = []
        for parts in self._same_message(tasks, by_day=not one_day).values():
            # Due together, what happened first is said first (the welcome, then the answer to
            # the introduction that followed the join).
            parts.sort(key=lambda task: (task.due, task.trigger_at, task.order, task.id))
            messages = _messages(parts, self.alike)
            if self._longest_limit:
                messages = [self._parts_within_limits(message, gone) for message in messages]
            # A second message waits for the next day (a capacity's day: in its bucket; with a
            # pace: once pace has laid the day out, which may take it into the first, ``_pace``).
            if len(messages) > 1 and parts[0].assignee not in self._paces and (one_day or (before is not None and parts[0].assignee not in self._capacity)):
                messages = self._second_waits(messages, waiting, None if one_day else before)
            for message in messages:
                if len(message) > 1:
                    self._combine(message)
                    gone.update(id(part) for part in message[1:])
        if waiting:
            self._notes_wait_too(tasks, waiting, None if one_day else before)
            gone.update(id(task) for task in waiting)
            for task in waiting:
                self._wait_a_day(task)
        return [task for task in tasks if id(task) not in gone] if gone else tasks

    def _parts_within_limits(self, message: list[Task], gone: set[int]) -> list[Task]:
        """``message`` (its parts in due order, the first to carry it) less the parts that would
        break a limit there, dropped as `limit` and added to ``gone``: a part of another action
        makes the message count under that action's limits too (``_actions``), at the message's
        time, not its own. A festival DM of 21:30 that joins the morning's reward makes it a DM
        twelve hours after last night's, past "one DM a day" — as pace drops a task it would
        move into a limit's window. Parts of actions the message counts under already add nothing."""
        if len(message) < 2 or message[0].member is None:
            return message
        kinds = {sub.action for sub in message[0].merged or (message[0],)}
        kept = [message[0]]
        for part in message[1:]:
            new = {sub.action for sub in part.merged or (part,)} - kinds
            broken = self._joining_breaks_limit(part, message, message[0].due, kinds, new) if new else None
            if broken is None:
                kinds |= new
                kept.append(part)
                continue
            gone.add(id(part))
            self._drop_for_limit(part, broken)
        return kept

    def _drop_for_limit(self, task: Task, broken: str) -> None:
        """``task``, waiting in its day's list, is dropped as `limit` (``broken``: why), with the
        parts merged into it: never planned after all."""
        self._original_due.pop(task.id, None)
        if self.keeps_off:
            self._waited.pop(task.id, None)
            self._off_moves.pop(task.id, None)
        self._unplanned(task, "limit")
        if task.merged is not None and len(task.merged) > 1:
            self._drop_parts(task, "limit", partial(str, broken), None)
        self._suppress(task, "limit", broken)

    def _joining_breaks_limit(self, part: Task, message: list[Task], due: float, kinds: set[str], new: set[str]) -> str | None:
        """Why ``part``, joining ``message`` (its parts so far, counted under ``kinds``) due at
        ``due``, would break a limit that counts its ``new`` actions and none of ``kinds``; or None."""
        recent = self._recent.get(part.member) if part.member is not None else None
        if not recent:
            return None
        # (``part`` itself too: pace asks before it joins, and its own entry is not another task.)
        ours = {sub.id for task in (*message, part) for sub in task.merged or (task,)}
        for limit in self.community.limits:
            if not self._counts_under(limit, tuple(new)) or self._counts_under(limit, tuple(kinds)):
                continue
            counted = [t for t, action, task_id in recent if abs(t - due) < limit.per and task_id not in ours and self._counts_under(limit, self._actions(task_id, action))]
            if len(counted) >= limit.max:
                return self._limit_reason(limit, counted, due, part)
        return None

    def _notes_wait_too(self, tasks: list[Task], waiting: list[Task], before: int | None) -> None:
        """The notes to the operator of the firings whose messages wait a day (of ``tasks``) wait
        with them, if they may: "私信聊过之后，把TA的需求记进档案" goes with its DM."""
        firings = {firing_of(task) for task in waiting}
        waiting += [task for task in tasks if task.action in self.notes and not task.dropped and firing_of(task) in firings and self._may_wait(task, before)]

    def _second_waits(self, messages: list[list[Task]], waiting: list[Task], before: int | None) -> list[list[Task]]:
        """One member's messages of one day from one operator (``_messages``), less those after
        the first that can wait for the next day, added to ``waiting``: a member gets one message
        a day. A later message is one whose parts were triggered after the first was due (a
        thank-you with points at 20:00, the morning's survey long sent): when each of its parts
        may be due the same time the next day (before its deadline — a rule that gives its tasks
        more than a day —, within ``max_delay``, not on a day its rule keeps off, not urgent, not
        already with the operator), it waits, and joins that day's message; one that cannot goes
        out as a second message, as before. (``before``: the first day not
        being settled, that a task waiting must reach: it is settled after the days before.)"""
        staying = [messages[0]]
        for message in messages[1:]:
            if all(self._may_wait(part, before) for part in message):
                waiting.extend(message)
            else:
                staying.append(message)
        return staying

    def _may_wait(self, task: Task, before: int | None) -> bool:
        if task.priority == "urgent" or any(part.id in self._given for part in task.merged or (task,)):
            return False
        later = self._next_day(task.due)
        # Only a task its rule gives more than a day: a reaction to what the member did that day
        # (an `event` rule's 24 hours: a quarrel's DM) is worth less the next day.
        if later >= task.deadline or (before is not None and self._day(later) < before) or later - self._original_due.get(task.id, task.due) - self._waited.get(task.id, 0.0) > self.community.max_delay:
            return False
        return not (self.keeps_off and (kinds := self._kept_off(task)) is not None and self._off_until(kinds, later)[1] is not None)

    def _wait_a_day(self, task: Task) -> None:
        """``task``, a member's second message of its day (``_second_waits``), waits for the same
        time of the next day: in that day's list, settled with it (merged into the member's
        message there, capacity, pace) and checked again when due."""
        later = self._next_day(task.due)
        if self._waited_for is not None and task.member is not None:
            self._waited_for.add(task.member)
        task.note_move(self.says.explain.one_a_day, task.due, later)
        task.due = later
        sent = self.new_history.get(task.id)
        if sent is not None:
            sent.due = later
        self._recount(task)
        self.moved["one_a_day"] += 1
        if self.day_counts is not None:
            self._tally(task, "moved", "one_a_day")
        self._place(task, self._original_due.get(task.id, task.due))
        if self.moved_later is not None:
            self.moved_later((task,))

    def _combine(self, parts: list[Task], carrier: Task | None = None, at: float | None = None) -> None:
        """The first of ``parts`` (in due order), or ``carrier``, becomes the one message (due
        ``at``, if given: where pace lays it out); the others are counted as merged into it."""
        first = parts[0] if carrier is None else carrier
        # Their texts are joined when the message is released (rendered only if it is kept).
        first.merged = [task for part in parts for task in (part.merged or [part])]
        self._carries(first, first.merged)
        if self._finishing is not None:
            self._took_in.add(id(first))
        first.priority = max(parts, key=lambda task: task.rank).priority
        deadline = min(part.deadline for part in parts)
        if deadline < first.deadline:
            self._own_deadlines.setdefault(first.id, first.deadline)
        first.deadline = deadline
        own = self._own_deadlines
        for part in parts:
            if part is first:
                continue
            part.merged = None
            if own and part.id in own:
                # A message itself until now, with the earliest of its parts' deadlines: a part
                # again, with its own (a part past its deadline leaves the message, not it).
                part.deadline = own.pop(part.id)
            original = self._original_due.pop(part.id, None)
            if original is not None:
                self._part_original[part.id] = original  # should it carry the message on its own (``_past_deadline_parts``)
            self._uncount(part.member, part.id)  # limits count the message once, as the member gets it
            self.merged_into[part.id] = first.id
            sent = self.new_history.get(part.id)
            if sent is not None:
                sent.status = "merged"  # its text goes out in the first's message
            self._suppress(part, "merged", self.says.explain.merged.format(id=first.id, due=self._local(first.due if at is None else at)))
            self._counted_merged.add(part.id)
        for task in first.merged:
            if task is not first and self.merged_into.get(task.id) not in (None, first.id):
                # Merged into a part that is now merged here (a DM in its firing's reward, the two
                # carried into the next day's message): it goes out in this one — a --state run
                # reopens it with this message, not with the part it joined first.
                self.merged_into[task.id] = first.id

    def _fill(self, before: int | None) -> None:
        """Fill each operator's days before ``before`` in priority order; move the overflow to
        the next day, or drop it past max_delay."""
        days, waiting = self._days, self._waiting
        while days and (before is None or days[0][0] < before):
            key = heapq.heappop(days)
            day, assignee = key
            if self._held:
                # Those of the days settled: in one run, capacity dropped them there. Not before:
                # until then they count for their members' limits, as they did in that day's bucket.
                self._release_held(day, assignee)
            tasks = waiting.pop(key)
            if self._dropped:  # some tasks went stale while waiting: out before capacity
                kept = [task for task in tasks if not task.dropped]
                self._dropped -= len(tasks) - len(kept)
                tasks = kept
            # None of ``tasks`` is dropped now: one is below only if a drop counts (``_out_of_its_day``).
            dropped_before = self._dropped
            if self.supersedes:
                tasks = self._supersede(tasks)
            if self._finishing is not None:
                self._waited_for = set()
            tasks = self._merge(tasks, one_day=True)  # one message a day takes one slot
            if self._longest_limit:
                tasks = self._within_limits(tasks, day)
            if self._dropped != dropped_before:  # a note that went with its firing's task, dropped above (superseded, limit)
                kept = [task for task in tasks if not task.dropped]
                self._dropped -= len(tasks) - len(kept)
                tasks = kept
            room = max(0, self._capacity[assignee] - self._capacity_used[(assignee, day)])
            limited = 0
            if self._finishing is not None and self._longest_limit:
                # Tasks carried in from an earlier day a later offer may yet drop for a limit, as
                # the next run settles the day again (``_within_limits``): see ``_mark_out_of_reach``.
                start = self.local.midnight(day)
                limited = sum(1 for task in tasks if task.member is not None and self._original_due.get(task.id, INF) < start)
            if self._keeps_slot or self._given:
                tasks = self._keep_done_first(tasks, room, assignee)
            else:
                tasks = self._keep(tasks, room, assignee)
            if self._finishing is not None:
                self._mark_out_of_reach(tasks, room, limited)
            self._carry_over(tasks[room:], day, assignee)

    def _within_limits(self, tasks: list[Task], day: int) -> list[Task]:
        """``tasks`` less those capacity carried into ``day`` from an earlier day that would now
        give their member more tasks in a limit's window than it allows (it was checked when
        offered, at its due then): dropped as `limit`, before the day's capacity, as pace drops
        a task it would move into such a window. The task offered for the day stays."""
        gone: set[int] = set()
        recent, fewest, original = self._recent, self._fewest_allowed, self._original_due
        start = self.local.midnight(day)  # offered before it: offered on an earlier day
        # (A member with fewer other tasks than the strictest limit allows cannot be over it;
        # the task's own entry may be gone already: forgotten a limit's window after it was
        # offered. No member: no entry, and ``_limit_reached`` says None.)
        carried = [task for task in tasks if len(recent.get(task.member, ())) >= fewest and original.get(task.id, INF) < start]  # type: ignore[arg-type]  # (None: no entry)
        if len(carried) > 1:
            # Each counts the others where they are due now (below): the one that comes first
            # for the day's capacity stays, the later gives way — not as the day's list has them
            # (a --state run that reopens the day lists them in another order).
            carried.sort(key=_capacity_order)
        for task in carried:
            broken = self._limit_reached(task, task.due, task.id)
            if broken is not None:
                self._drop_for_limit(task, broken)
                gone.add(id(task))
            else:
                # Counted where it is due now: the next task carried in with it sees it there (a
                # DM and a mention carried a day on, together, are two in a window of one day,
                # not one each beside the other's old due).
                self._recount(task)
        # (Most days none goes: the day's hundreds of tasks are not copied one by one.)
        return [task for task in tasks if id(task) not in gone] if gone else tasks

    def _keep(self, tasks: list[Task], room: int, assignee: str) -> list[Task]:
        """Plan the ``room`` tasks that come first for a day's capacity; all of them, those
        first, in the order returned."""
        # The order decides who gets the room; the plan itself is sorted when released, and
        # the overflow again on its next day. So the `room` first are picked out, not all
        # sorted (the keys are unique: the same ones); a full sort only to keep the
        # suppressed tasks in order.
        if self.keep_suppressed:
            tasks.sort(key=_capacity_order)
        elif 0 < room < len(tasks):
            keyed = _capacity_keyed(tasks)
            first = heapq.nsmallest(room, keyed)
            last = first[-1]  # the others come after it: the rest, in their order
            tasks = [item[-1] for item in first] + [item[-1] for item in keyed if item > last]
        if self._noted and 0 < room < len(tasks) and any(task.action in self.notes for task in tasks[:room]):
            tasks = self._notes_with_their_tasks(tasks, room)
        paced = assignee in self._paces
        for task in tasks[:room]:
            self.tasks.append(task)
            if task.id in self.new_history:
                sent = self.new_history[task.id]
                sent.due = task.due  # where capacity put it: a later run counts it on that day
                sent.deadline = task.deadline  # moved with it past days off (`not_on`)
            original_due = self._original_due.pop(task.id)
            if paced:
                self._kept_from[task.id] = original_due
            # Where its last move (quiet hours, a day off, pace into this day) left it: the
            # offered due, unless pace carried it here (then max_delay still counts from that).
            start = task.moves[-1][2] if task.moves else original_due
            if task.due != start:
                # One line per task, however many full days it skipped — up to the days off its
                # rule's `not_on` skipped on the way, which have their own lines after it.
                off_moves = self._off_moves.pop(task.id, ()) if self._off_moves else ()
                if off_moves and not paced:
                    # (With a pace, kept until it is final: pace may carry it into the next day,
                    # where the days off it waited out still count for no max_delay.)
                    self._waited.pop(task.id, None)
                capacity = self.says.explain.capacity_of.format(assignee=self._who(assignee))
                task.note_move(capacity, start, off_moves[0][1] if off_moves else task.due)
                for move in off_moves:
                    task.note_move(*move)
                if off_moves and off_moves[-1][2] != task.due:  # full days after the break too
                    task.note_move(capacity, off_moves[-1][2], task.due)
                self._recount(task)
        return tasks

    def _notes_with_their_tasks(self, tasks: list[Task], room: int) -> list[Task]:
        """``tasks`` in the order capacity keeps them, but a note to the operator about a task of
        its firing waiting in the same day (an urgent "跟进 何涛娜" beside the reward and DM it is
        about) takes a slot only once that task has one: three notes must not take a day's three
        slots, to be dropped with the DMs they crowded out and leave the day empty."""
        notes = self.notes
        # (A group's note, member None, waits for its post as a member's for her DM.)
        firsts = [task for task in tasks[:room] if task.action in notes]
        members = {task.member for task in firsts}
        # (Most days: no note among the first slots is about a task waiting that day — the order
        # stands, and no firing is looked up for the hundreds of tasks a busy day drops.)
        if not members:
            return tasks
        # A merged message is about each of its parts' firings: the note beside an invite merged
        # into the member's DM waits for that message, as it would for the invite alone.
        theirs = {key for task in tasks if task.member in members and task.action not in notes for key in _firings_in(task)}
        if not any(firing_of(note) in theirs for note in firsts):
            return tasks
        about = {key for task in tasks if task.action not in notes for key in _firings_in(task)}
        picked: list[Task] = []
        waiting: dict[tuple[Any, ...], list[Task]] = {}  # notes whose task has no slot yet
        given: set[tuple[Any, ...]] = set()  # firings with a task that has one
        ordered = [keyed[-1] for keyed in sorted(_capacity_keyed(tasks))]
        for task in ordered:
            if len(picked) >= room:
                break
            key = firing_of(task)
            if task.action in notes and key in about and key not in given:
                waiting.setdefault(key, []).append(task)
                continue
            picked.append(task)
            if task.action not in notes:
                for key in _firings_in(task):
                    if key not in given:
                        given.add(key)
                        for note in waiting.pop(key, ()):
                            if len(picked) < room:
                                picked.append(note)
        chosen = set(map(id, picked))
        return picked + [task for task in ordered if id(task) not in chosen]  # in that order still

    def _keep_done_first(self, tasks: list[Task], room: int, assignee: str) -> list[Task]:
        """``_keep``, the tasks whose effect has happened first (``keeps_slot``: a `remove` that
        took its member out of the group) and those the operator has already (planned ahead,
        then delivered or marked: ``printed_before``): they come before the day's others,
        whatever their priority. A day is settled once its tasks were due; once the history has
        ended, one due later is counted, its effect to come, in a slot the removals done leave it
        (``_effects_to_come``; at the end of a --state run, if it goes stale first, it is one of
        the tasks that may go: ``_mark_out_of_reach``)."""
        keeps, given = self._keeps_slot, self._given
        # Where they are in ``tasks``: the others are the rest, taken out of a copy (a few a day),
        # not found by asking each of a busy day's hundreds of tasks again.
        if given:
            at = [index for index, task in enumerate(tasks) if task.action in keeps or task.id in given]
        else:  # (no --state: a busy day's hundreds of tasks asked one question, not two)
            at = [index for index, task in enumerate(tasks) if task.action in keeps]
        if at and self.checks_at_once:  # (the history has ended)
            at = self._effects_to_come(tasks, at, room)
        if not at:
            return self._keep(tasks, room, assignee)
        done = [tasks[index] for index in at]
        others = list(tasks)
        for index in reversed(at):
            del others[index]
        first = min(room, len(done))
        done = self._keep(done, first, assignee)
        others = self._keep(others, room - first, assignee)
        return done[:first] + others[: room - first] + done[first:] + others[room - first :]

    def _effects_to_come(self, tasks: list[Task], at: list[int], room: int) -> list[int]:
        """Once the history has ended, of the tasks at ``at`` in a day's ``tasks`` (those that
        come first), the removals whose effect is still to come (due at the history's end or
        after) only in the slots the tasks done leave them (a removal done has its slot:
        ``slot_for_effect``), in capacity order; the others stay with the day's other tasks, for
        which those leave no room. (A later --state run settles the day again, each removal
        taking a slot when due, if one is left, or dropped then: ``drop_for_slots``.)"""
        effected, given = self._effected, self._given
        to_come = [index for index in at if tasks[index].id not in effected and tasks[index].id not in given]
        if not to_come:
            return at
        to_come.sort(key=lambda index: _capacity_order(tasks[index]))
        left = set(to_come[max(0, room - (len(at) - len(to_come))) :])
        return [index for index in at if index not in left]

    def _carry_over(self, overflow: list[Task], day: int, assignee: str) -> None:
        """A full day's overflow (most of a busy day's offers): each moves on a day, or is
        dropped once that would delay it more than max_delay."""
        waiting, days = self._waiting, self._days
        original, max_delay, next_day, day_of = self._original_due, self.community.max_delay, self._next_day, self.local.day
        # All of them are due on `day`: when neither it nor the next day has a UTC offset
        # change, the next day's due is 24 hours later (out of quiet hours if need be), on
        # the next day unless quiet hours push it on.
        offset = self._plain_offset(day)
        quiet, window = self._quiet_minutes, self.community.quiet_hours
        # An operator with a pace lays each day out from its start: where quiet hours span
        # midnight, that is when they end, and the overflow is the first thing of that morning
        # (yesterday evening's joiners are welcomed then, not a whole day after they came).
        # Without a pace, a high or urgent task is likewise the first thing of the next morning
        # (a welcome, a warning about the link posted last night: a day later it is no use);
        # the others keep their time of day, not to pile up at one minute.
        morning = self._quiet_end(self.local.midnight(day + 1), window) if quiet is not None and quiet[0] else None  # type: ignore[arg-type]  # quiet hours are set
        paced = assignee in self._paces
        keeps_off = self.keeps_off
        ranks = PRIORITY_RANK  # task.rank, without a property call for each task
        tomorrow = day + 1
        if quiet is not None:
            # Quiet hours as seconds of the local day: a moved due is in them if its second of
            # the day is from ``lo`` to before ``hi`` — or, where they span midnight (``spans``),
            # if it is not. (One comparison for each task, not its minute looked up in ``quiet``.)
            lo, hi = sorted((window[0] * 60, window[1] * 60))  # type: ignore[index]  # quiet hours are set
            spans = window[0] >= window[1]  # type: ignore[index]
        out_of_reach, effected = self._out_of_reach, self._effected
        moved = 0
        dropped: Counter[str] = Counter()  # counted here when suppressed tasks are not kept
        tally = self.day_counts is not None
        # Those moved on are checked again there (``moved_later``) in one call after the loop —
        # each at once when the history has ended: checked then, one found stale takes its
        # firing's notes further on in ``overflow`` with it (skipped above).
        moved_later = self.moved_later
        carried: list[Task] | None = [] if moved_later is not None and not self.checks_at_once else None
        for task in overflow:
            if task.dropped:
                continue  # a note that went with its firing's task, dropped a moment ago (``_notes_go_with``)
            original_due = original[task.id]
            if offset is None:
                moved_to = next_day(task.due)
                moved_day = day_of(moved_to)
            else:
                moved_to, moved_day = task.due + 86400, tomorrow
                if quiet is not None and (lo <= (moved_to + offset) % DAY < hi) is not spans:
                    moved_to = self._quiet_end(moved_to, window, offset) or moved_to  # type: ignore[arg-type]  # quiet hours are set
                    moved_day = day_of(moved_to)
            # Also first thing in the morning: a task whose time of day tomorrow is past its
            # deadline, where the start of tomorrow's working hours is not (a newcomer's intro DM,
            # 24 hours, is not lost by minutes).
            if morning is not None and morning < moved_to and (paced or ranks[task.priority] >= FIRST_THING or morning < task.deadline < moved_to):
                moved_to, moved_day = morning, tomorrow
            waited = 0.0  # of the delay, the days off its rule waits out: no capacity's delay
            skipped: tuple[str, float, float] | None = None
            if keeps_off and (kinds := self._kept_off(task)) is not None:
                open_at, name = self._off_until(kinds, moved_to)
                if name is not None:  # the next day is one its rule keeps off: the first after it
                    self._waited[task.id] = self._waited.get(task.id, 0.0) + open_at - moved_to
                    task.deadline += open_at - moved_to
                    if task.id in self._own_deadlines:
                        self._own_deadlines[task.id] += open_at - moved_to
                    skipped = (self.says.explain.off_day.format(name=name), moved_to, open_at)
                    moved_to, moved_day = open_at, day_of(open_at)
                waited = self._waited.get(task.id, 0.0)
            past_deadline = moved_to > task.deadline
            if past_deadline and task.merged is not None and len(task.merged) > 1:
                # The parts whose own deadline allows the move go on: a 3-day DM merged into
                # the day's festival greeting is not lost with the greeting.
                carrier = self._past_deadline_parts(task, moved_to, assignee, day)
                if carrier is not None and carrier is not task:
                    overflow.append(carrier)  # the message now: moved on below, in its turn
                elif carrier is task and skipped is not None:
                    moved_to, skipped = self._off_again(task, skipped)
                    moved_day, waited = day_of(moved_to), self._waited.get(task.id, 0.0)
                past_deadline = moved_to > task.deadline
            if past_deadline or moved_to - original_due - waited > max_delay:
                if keeps_off:
                    self._waited.pop(task.id, None)
                    self._off_moves.pop(task.id, None)
                del original[task.id]
                guardrail = "deadline" if past_deadline else "capacity"
                self._unplanned(task, guardrail)
                if task.merged is not None and len(task.merged) > 1:
                    if past_deadline:
                        why = partial(self._full_past_deadline, assignee, task.due, task, moved_to)
                    else:
                        why = partial(self._dropped_for_capacity, assignee, task.due, max_delay)
                    self._drop_parts(task, guardrail, why, moved_to if past_deadline else None)
                if past_deadline and not (self._printed and task.id in self._printed):
                    self.full_past_deadline += 1  # one an earlier run printed is displaced instead
                if not self.keep_suppressed and not (self._printed and task.id in self._printed):
                    task.dropped = True
                    dropped[guardrail] += 1
                    if tally:  # on the day _suppress would count it: past its deadline, the next
                        self._tally(task, "suppressed", guardrail, moved_to if past_deadline else None)
                elif past_deadline:
                    task.note_move(self.says.explain.capacity_of.format(assignee=self._who(assignee)), task.due, moved_to)
                    full_on = task.due
                    task.due = moved_to
                    self._suppress(task, guardrail, partial(self._full_past_deadline, assignee, full_on, task))
                else:
                    self._suppress(task, guardrail, partial(self._dropped_for_capacity, assignee, task.due, max_delay))
                continue
            if skipped is not None:  # moved past days off, not dropped: said and counted
                self._off_moves.setdefault(task.id, []).append(skipped)
                self._count_off(task)
            if task.due == original_due:
                moved += 1
                if tally:
                    self._tally(task, "moved", "capacity")
            if out_of_reach:
                out_of_reach.discard(id(task))  # not dropped: it is on the next day's list
            task.due = moved_to
            if effected and task.id in effected:  # (its effect done: most of the overflow has none)
                self._effect_moved(task, assignee, moved_day)
            next_key = (moved_day, assignee)
            bucket = waiting.get(next_key)
            if bucket is None:
                heapq.heappush(days, next_key)
                bucket = waiting[next_key] = []
            bucket.append(task)
            if carried is not None:
                carried.append(task)
            elif moved_later is not None:
                moved_later((task,))
        if carried and moved_later is not None:
            moved_later(carried)
        if moved:
            self.moved["capacity"] += moved
        if dropped:
            self.suppressed_counts.update(dropped)

    def _off_again(self, message: Task, skipped: tuple[str, float, float]) -> tuple[float, tuple[str, float, float] | None]:
        """``message`` was to move past days off (``skipped``: what was said, from when, to
        when) that a part past its deadline kept it off, and goes on without that part: the days
        off of the parts left, from the same day (a weekend one part kept it off is no reason
        for the others to wait, nor to keep a deadline moved for it). Where it moves now, and
        what to say of it, if it still waits out days off."""
        _, before, after = skipped
        kinds = self._kept_off(message)
        open_at, name = self._off_until(kinds, before) if kinds is not None else (before, None)
        if open_at != after:
            back = after - open_at  # the part of the wait no part left asks for
            left = self._waited.get(message.id, 0.0) - back
            if left > 0:
                self._waited[message.id] = left
            else:
                self._waited.pop(message.id, None)
            if message.id in self._own_deadlines:
                self._own_deadlines[message.id] -= back
                self._left_with(message, message.merged or [message])
            else:
                message.deadline -= back
        if name is None:
            return open_at, None
        return open_at, (self.says.explain.off_day.format(name=name), before, open_at)

    def _past_deadline_parts(self, message: Task, moved_to: float, assignee: str, day: int) -> Task | None:
        """``message``, merged, cannot move to ``moved_to`` past its deadline (the earliest of
        its parts'): the parts whose own deadline allows it go on. Those whose deadline does not
        are dropped (``deadline``); if the message's own part is one of them, it is dropped with
        them below and the first part that can wait carries the others, returned to be moved
        on. The message itself if it goes on with fewer parts; None if no part can wait."""
        own = self._own_deadlines.get(message.id, message.deadline)
        parts = message.merged or [message]
        going = [part for part in parts if (own if part is message else part.deadline) >= moved_to]
        if not going:
            return None  # every part drops with the message
        kept = set(map(id, going))
        expired = [part for part in parts if id(part) not in kept]
        if going[0] is message:
            for part in expired:
                self.merged_into.pop(part.id, None)
                self._drop_part(part, "deadline", partial(self._full_past_deadline, assignee, message.due, part, moved_to), moved_to)
                if not (self._printed and part.id in self._printed):
                    self.full_past_deadline += 1
            message.merged = going if len(going) > 1 else None
            self._left_with(message, going)
            return message
        # The message's own part is past its deadline: it goes, with the parts past theirs.
        message.merged = [message, *(part for part in expired if part is not message)]
        if len(message.merged) == 1:
            message.merged = None
        message.deadline = min(own, *(part.deadline for part in expired))
        carrier = going[0]
        self._takes_over(carrier, going[1:])
        carrier.dropped = False
        own_day = self._day(carrier.due) == day
        if not own_day:
            # Merged on an earlier day, it came here in the message: it moves on from there. (Of
            # this day, it moves on from its own time, as if the message had never been: a later
            # --state run settling the day again has no message to merge it into — the part past
            # its deadline is out of its reach.)
            carrier.due, carrier.moves = message.due, list(message.moves) if message.moves else None
        carrier.priority = max(going, key=lambda part: part.rank).priority
        deadline = min(part.deadline for part in going)
        if deadline < carrier.deadline:
            self._own_deadlines[carrier.id] = carrier.deadline
        carrier.deadline = deadline
        carrier.merged = going if len(going) > 1 else None
        sent = self.new_history.get(carrier.id)
        if sent is not None:
            sent.status, sent.due, sent.deadline = "todo", carrier.due, carrier.deadline  # the message now
        if self._longest_limit and carrier.member is not None:
            self._count_for_limits(carrier.member, carrier.due, carrier.action, carrier.id)
        original = self._part_original.pop(carrier.id, None)
        self._original_due[carrier.id] = original if original is not None and own_day else self._original_due[message.id]
        return carrier

    def _drop_parts(self, message: Task, guardrail: str, why: Callable[[], str], counted_on: float | None) -> None:
        """The tasks merged into ``message``, which capacity or a limit drops now (``why``; with
        --state counted on the day of ``counted_on``, if given): one message, they go with it,
        for the same reason — not left counted as merged into a message nobody sends. Each is
        never planned after all (its cooldown and limits let go, its firing's notes with it, like
        ``message``)."""
        parts = [part for part in message.merged or () if part is not message]
        message.merged = None
        for part in parts:
            # (``merged_into`` keeps naming the message: a --state run reopens the part only with it.)
            self._drop_part(part, guardrail, partial(self._with_message, message.id, why), counted_on)

    def _drop_part(self, part: Task, guardrail: str, reason: Callable[[], str], counted_on: float | None) -> None:
        """``part``, counted as merged into a message, is dropped for ``guardrail`` (``reason``;
        with --state counted on the day of ``counted_on``, if given): never planned after all."""
        # (Merged here, it is dropped already; reopened in its message by a --state run, not yet:
        # saved as it is, it would be said to have gone out on its own — ``Recheck._printed_part``.)
        part.dropped = True
        self._unplanned(part, guardrail)
        self._part_original.pop(part.id, None)
        counts = self.suppressed_counts
        self._uncount_merged(part.id)
        counts[guardrail] += 1
        if self.day_counts is not None:
            self._tally(part, "suppressed", "merged", count=-1)
            self._tally(part, "suppressed", guardrail, counted_on)
        printed = self._printed_merged(part.id)
        if printed is not None:  # an earlier run printed it: it is displaced now, not merged
            self.displaced.append((printed[0], part.id, printed[2], self.says.explain.displaced.format(why=reason())))
        if self.keep_suppressed:
            for item in self.suppressed:
                if item.task is part:
                    item.guardrail, item.reason = guardrail, reason()
                    break

    def _past_deadline(self, task: Task) -> str:
        return self.says.explain.deadline.format(due=self._local(task.due), deadline=self._local(task.deadline))

    def _full_past_deadline(self, assignee: str, full_on: float, task: Task, to: float | None = None) -> str:
        """Why a task capacity moved is dropped at its deadline: the full day first, then the
        deadline (``to``: where it would have moved, if not its due)."""
        return self.says.explain.full_past_deadline.format(assignee=self._who(assignee), day=self._date(full_on), capacity=self._capacity[assignee], due=self._local(task.due if to is None else to), deadline=self._local(task.deadline))

    def _with_message(self, message_id: str, why: Callable[[], str]) -> str:
        return self.says.explain.with_message.format(id=message_id, why=why())

    def _dropped_for_capacity(self, assignee: str, due: float, max_delay: int) -> str:
        return self.says.explain.capacity.format(assignee=self._who(assignee), day=self._date(due), delay=self.says.duration(max_delay))

    def _plain_offset(self, day: int) -> int | None:
        """The UTC offset of local day ``day`` and the next, if it is the same all through both."""
        local = self.local
        start, middle, end = local.midnight(day), local.midnight(day + 1), local.midnight(day + 2)
        offset = local.offset(start)
        if local.offset(middle - 1) == offset == local.offset(middle) == local.offset(end - 1):
            return offset
        return None

    def _next_day(self, t: float) -> float:
        """Same local time on the next day, pushed out of quiet hours if needed."""
        later = t + 86400
        offset = self.local.offset(later)
        if offset != self.local.offset(t):  # a DST change in between
            moment = datetime.fromtimestamp(t, self.tz)
            later = datetime.combine(moment.date() + timedelta(days=1), moment.time(), self.tz).timestamp()
            offset = self.local.offset(later)
        quiet = self._quiet_minutes
        if quiet is not None and quiet[int((later + offset) % DAY) // 60]:
            later = self._quiet_end(later, self.community.quiet_hours, offset) or later  # type: ignore[arg-type]  # quiet hours are set
        return later


def _all_options(each: list[dict[str, Any]]) -> dict[str, Any]:
    """The options of a merged message's parts (``each``: theirs), as one: a reward's coupon, a
    survey's form, an invitation's group are what the operator does with the message, whichever
    part they came in. Points add up; other values differing are listed, each once."""
    options: dict[str, Any] = {}
    for params in each:
        for key, value in (params or {}).items():
            if key not in options:
                options[key] = value
            elif isinstance(value, (int, float)) and isinstance(options[key], (int, float)) and not isinstance(value, bool):
                options[key] += value
            elif value != options[key]:
                known = options[key] if isinstance(options[key], list) else [options[key]]
                options[key] = [*known, *(item for item in (value if isinstance(value, list) else [value]) if item not in known)]
    return options


def _is_greeting(part: Task) -> bool:
    """Whether ``part`` is a festival's greeting (a `holiday` rule's)."""
    source = part.source
    return source is not None and source.rule.trigger.name == "holiday"


_WELCOMED_AGAIN = re.compile(r"欢迎\s*[～~！!，,。]\s*")


def _greeted_once(texts: list[str], nickname: str | None) -> list[str]:
    """The texts of one message, its member called by name once: a later part that opens with
    the name (``大刘，…``, ``老李 你好，…``, an @'s ``@小王 …``; the 称呼 of a "城市-称呼" nickname,
    as ``member | call_name`` writes it) goes on without it, as one message would — and without
    a second "欢迎～" when the message welcomed already."""
    if not nickname or len(texts) < 2:
        return texts
    names = [name for name in dict.fromkeys((nickname, call_name(nickname))) if name in texts[0]]
    if not names:
        return texts
    opening = re.compile(rf"\s*@?(?:{'|'.join(re.escape(name) for name in sorted(names, key=len, reverse=True))})(?:\s*(?:你好|您好)\s*[，,、：:！!～~]?|\s*[，,、：:！!～~]|\s+)\s*")
    welcomed = "欢迎" in texts[0]
    rest = []
    for text in texts[1:]:
        found = opening.match(text)
        if found and found.end() < len(text) and not text[found.end()].isspace():
            text = text[found.end():]
            again = _WELCOMED_AGAIN.match(text) if welcomed else None
            if again is not None and again.end() < len(text):
                text = text[again.end():]
        rest.append(text)
    return [texts[0], *rest]


def _message_key(task: Task, in_group: frozenset[str]) -> tuple[Any, ...]:
    """What merge joins tasks by, within one operator's day: one member and channel — and, for
    an action that goes out in a group (``community.merge_in_group``), that action in one group.
    The private actions merge lists are one private message together: a reward and an
    invitation the same evening are one message, not two."""
    if task.action in in_group:
        return (task.member, task.channel, task.action, task.group)
    return (task.member, task.channel, None, None)


def _about(task: Task) -> float:
    """The moment ``task`` is about: its trigger instant — none for a trigger of the date alone
    (``TriggerType.of_the_day``: a festival's greeting is known before its day begins)."""
    source = task.source
    return -INF if source is not None and source.rule.trigger.of_the_day else task.trigger_at


def _triggered_by(task: Task, t: float) -> bool:
    """Whether ``task`` (each of its parts, if merged) was triggered by ``t``."""
    return all(_about(part) <= t for part in task.merged or [task])


def _known_at(task: Task) -> float:
    """What ``task`` (and its parts, if merged) knows of happened by this moment: it was
    triggered then, or checked after its member's message then (its text and conditions
    read the member as of that message)."""
    known = -INF
    for part in task.merged or [task]:
        seen, about = part.seen_message, _about(part)
        known = max(known, about if seen is None or seen < about else seen)
    return known


def _messages(parts: list[Task], alike: Callable[[Task, Task], bool] | None = None) -> list[list[Task]]:
    """``parts`` (one member's tasks of one day, in due order) as the messages they go out in:
    each joins the first message due no earlier than what it knows of happened — its text can be
    in a message only once what it is about has happened (a DM about an afternoon's quarrel is not
    part of the morning's message), and it must not tell of what came after the message (a DM
    due in the evening, checked after its member wrote at 18:00, thanks them for writing: not in
    the message of 12:53 that says they have been silent for two weeks); one that knows of what
    happened after every message so far was due starts its own, later that day — unless it
    holds and reads the same with its member as they were at that message's time (``alike``:
    a welcome whose "welcome back" branch does not turn because its newcomer wrote)."""
    messages: list[list[Task]] = []
    for part in parts:
        known = _known_at(part)
        for message in messages:
            due = message[0].due
            if known <= due or alike is not None and _triggered_by(part, due) and all(
                alike(sub, message[0]) for sub in part.merged or [part] if sub.seen_message is not None and sub.seen_message > due
            ):
                message.append(part)
                break
        else:
            messages.append([part])
    return messages
