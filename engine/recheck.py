"""Stage 5 of a rule's evaluation — re-check: a planned task is checked again when it is due.

A task is planned when its trigger fires, but it is kept only if it still holds at its due
time, after its delay and quiet hours moved it. Checked then, with the values of then, it is
dropped as ``stale`` when:

- its member is no longer where its action needs them: in the task's group (a group action)
  or in some group of the community (a private one) — unless the rule reacts to leaving, and
  then unless the member is back in the group they left;
- its trigger no longer holds: the member wrote (``silence``), the question was answered
  (``unanswered``), the condition or the stage no longer holds (``becomes``, ``stage``) —
  each trigger says, ``TriggerType.ends_on_message`` and ``TriggerType.stale``;
- the rule's ``if:`` is false with the member's and group's values of then (the triggering
  event's values stay those of the event).

A task that passes keeps the values of that moment for its text, which is rendered only if
capacity keeps it (``Task.render``). Capacity moving a task to a later day checks it again at
its new due time; ``pace`` moving it later within its day checks again that the member did
not write, did not leave and the question was not answered in between. ``recheck: false`` on a rule keeps
its tasks regardless. Tasks due after the history ends are checked with what is known at its
end.

The key is the task's member (and, for ``unanswered``, the question): a keyed stream
processor holds each pending check as an event-time timer of that key.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from playbook_engine.contract import SCOPE_GROUP, Event, Firing, Member, Run, Task
from playbook_engine.dependencies import identity_only, member_fields_read, steady, text_fields_read
from playbook_engine.durations import parse_duration
from playbook_engine.members import OUT_BY, OUT_OF, MemberView, group_name, snapshot
from playbook_engine.model import ActionSpec, Config, Rule
from playbook_engine.planner import Open, Planner, printed_form
from playbook_engine.replies import LOOKBACK, Replies
from playbook_engine.state import member_from_data, member_record, printed_parts

# What a member's message changes of them: an `if:` reading any of it may turn when they write.
_WRITING = frozenset({"messages", "last_message_at", "messages_7d", "messages_30d", "days_silent", "active_days_30d", "questions", "replies"})
_UNSET = object()


class Source:
    """What a planned task came from, while it may still be checked again or rendered."""

    # What a check, a keeping or a change of the member sets later, as it stands until then: class
    # defaults, not set on each of the ~36,000 tasks a month's run builds (most of them dropped
    # for capacity before any is set) — eleven assignments each. (No ``__slots__``: a slot cannot
    # have a default.)
    wrote: float | None = None  # the member's first message after its check (with `pace`)
    gone: float | None = None  # when the member first left where its action needs them, after its check (with `pace`)
    back: float | None = None  # when they were first back in its group after that (a group action)
    kept = False  # it held when checked (or when planned, due at once)
    changed = False  # its member changed since
    entry: list[Any] | None = None  # its place in Recheck.frozen: [moment, source, deferred task, until: its due]
    fixed = False  # its text's member values are fixed already (its name and id)
    seen: list[Any] | None = None  # reopened: the member its text sees, as an earlier run saved them
    # The tags its own firing gave and took off the member (`tag`/`untag` beside it): its
    # `if:` is asked again without them — a warning is not stale by its own `warned`.
    own_tags: tuple[frozenset[str], frozenset[str]] | None = None
    # The ids of its firing's other tasks, when its `if:` reads the loop fields: asked again
    # without them (its own DM is no "contact in the last 14 days").
    siblings: frozenset[str] | None = None
    # A task of a merged action: its member as they were when it was kept, if they changed
    # since (a later part is asked whether it reads the same with them: ``member_as_kept``).
    before: MemberView | None = None
    # Its check at its due time was pending when the history ended (its member changed before
    # it): checked then by ``close``, and by the next --state run at that time again, not only
    # if its member changes (``_saved``'s ``unchanged``) — before a timer of that instant, as
    # one run checks it.
    due_check = False

    def __init__(self, rule: Rule, firing: Firing, group: str | None, action: ActionSpec, context: dict[str, Any] | None):
        self.rule = rule
        self.firing = firing
        self.group = group
        self.action = action
        self.context = context  # what its text is rendered with (None: built when first needed, with the values of then)


class Identity:
    """A member as a text that reads only their name and id sees them (``member.name``,
    ``member | mention``), fixed when the task was kept."""

    __slots__ = ("id", "name")

    def __init__(self, member_id: str, name: str):
        self.id = member_id
        self.name = name

    def __str__(self) -> str:
        return self.name


class Recheck:
    """The pending checks of planned tasks, in due order."""

    def __init__(self, config: Config, run: Run, planner: Planner, context: Callable[[Rule, Firing, str | None], dict[str, Any]], set_now: Callable[[float], None], replies: Replies | None = None, member_holds: Callable[[Rule, Member], bool | None] | None = None):
        """``member_holds``: whether a rule's conditions hold, told from its member alone when
        they read nothing else (``Conditions.member_holds``), without building its values."""
        self.run = run
        self._member_holds = member_holds
        self.replies = replies if replies is not None else Replies(config.community.reply_window)
        self._set_now = set_now
        self._rules = {rule.key: rule for rule in config.rules}
        # With --state: tasks printed by a run of an earlier version, checked again when due (a
        # heap by due and id); the saved rows this run read; what it leaves open for the next.
        self.saved: list[tuple[float, str, dict[str, Any]]] = []
        self.consumed: list[str] = []
        self._new: list[dict[str, Any]] = []
        self.planner = planner
        self.tz = config.community.tz
        self._silent = config.community.silent_days  # when some days are no silence (member.days_silent)
        self._context = context
        self.heap: list[tuple[float, int, Task]] = []
        # Effects of planned tasks (``ActionType.apply``) to happen at their due time: each a
        # call with the moment, which returns a later due time if the task moved there.
        # Ordered at one instant by the firing's instant, rule and task (as one run plans them),
        # not by when a run scheduled them: a --state run reopens earlier runs' in another order.
        self.effects: list[tuple[float, tuple[Any, ...], Task, Callable[[float], float | None]]] = []
        self._seq = 0
        self.closed = False  # the history has ended: what is still pending is checked at once
        # Once it has: the removals the plan has still to do, by member (``_removed_ahead``).
        self._ahead: dict[str, list[Task]] = {}
        self._about_leaving = frozenset(rule.key for rule in config.rules if rule.trigger.about_leaving)
        for rule in config.rules:  # how long a trigger keeps what its stale() reads
            default = rule.trigger.default_deadline
            within = rule.deadline if rule.deadline is not None else (86400 if default == "day" else parse_duration(default))
            # `not_on:` moves a task past a holiday break, its deadline with it: a month more at most.
            rule.trigger.due_within(within + (31 * 86400 if rule.not_on is not None else 0))
        # Rules whose texts read only the member's name and id (most): those are fixed when a
        # task is kept, and a change of the member needs no copy of it.
        self._identity_texts = frozenset(rule.key for rule in config.rules if identity_only(config.env, [action.text.source for action in rule.actions if action.text is not None]))
        # Of those, the ones whose texts read nothing else that changes (no `now`, no group
        # counts): checked again, they need no new values unless a condition does.
        self._fixed_texts = frozenset(rule.key for rule in config.rules if rule.key in self._identity_texts and steady(config.env, [], [action.text.source for action in rule.actions if action.text is not None]))
        # Rules whose check and text stay the same while the member does not change: a task of
        # theirs that held, moved by capacity, is not checked again unless its member changed.
        self._steady = frozenset(
            rule.key for rule in config.rules
            if rule.trigger.steady and rule.until is None  # a reply changes nothing of the member
            and steady(config.env, [condition.source for condition in rule.conditions], [action.text.source for action in rule.actions if action.text is not None])
        )
        # Tasks whose member's next message is remembered (``pace`` moves tasks after their check):
        # those of rules a message ends (silence) or whose `if:` reads what a message changes.
        self.watch: dict[str, list[Task]] | None = {} if any(operator.pace for operator in config.community.operators) else None
        # Tasks whose member's leaving is remembered, likewise: those of rules not about leaving
        # whose action needs the member in its group or in the community.
        self.leaving: dict[str, list[Task]] | None = None if self.watch is None else {}
        # Of those, the group actions whose member left their group: when they are back in it.
        self.returning: dict[str, list[Task]] = {}
        # Tasks due and kept at this instant (``at_once_t``: planned then, or checked then), that
        # need their member somewhere: a member leaving or removed at that same instant leaves
        # them stale, as a task due then but planned earlier is checked after the instant's events.
        self.at_once_t: float | None = None
        self._at_once: list[Task] = []
        self._reads_writing = frozenset(
            rule.key for rule in config.rules
            if rule.conditions and ((fields := member_fields_read(config.env, [condition.source for condition in rule.conditions])) is None or fields & _WRITING)
        )
        # Rules whose text or check knows of the member's latest message (their values, their
        # `if:`, their trigger change when the member writes): a task of theirs is in a merged
        # message only if that message is due after it (``Task.seen_message``).
        self._knows_writing = frozenset(
            rule.key for rule in config.rules
            if rule.key in self._reads_writing or rule.trigger.ends_on_message or rule.trigger.asks_member
            or (read := text_fields_read(config.env, [action.text.source for action in rule.actions if action.text is not None])) is None or bool(read & _WRITING)
        )
        # Actions a message of the day may take others into — if a part could know of a later
        # message (a rule of these actions reads what a message changes): their members are
        # then kept as they were when such a task was kept, should they change.
        merge = frozenset(config.community.merge)
        knowing = any(rule.key in self._knows_writing and any(action.kind.name in merge for action in rule.actions) for rule in config.rules)
        self._merging = merge if knowing else frozenset()
        self._group_names = config.community.group_names
        self._community = config.community
        # Texts to be rendered with a member's values of a moment, by member: [moment, source,
        # the task if its check waits on a change of the member].
        self.frozen: dict[str, list[list[Any]]] = {}  # member id → [moment, source, deferred task or None, its due]
        self._pruned_at = 0  # size of ``frozen`` at which released days are cleared out of it
        self._settled = float("-inf")  # the days before this moment are settled: their entries are done
        planner.moved_later = self.moved_later
        planner.stale_at = self.stale_at
        planner.on_open = self.opening
        # The open days' tasks as a later run needs them (``_saved``), by id, taken before the
        # run's end settled those days (``opening``).
        self._opened: dict[str, dict[str, Any]] = {}

    # -- the loop's side ---------------------------------------------------------------------

    def planned(self, task: Task) -> None:
        """``task`` was accepted now: checked again at its due time if that is later, else its
        values are those of now."""
        source: Source = task.source
        rule = source.rule
        due_now = task.due <= self.run.now
        if rule.until is not None and rule.recheck and due_now:
            self.check(task)  # a reply before it was planned ends it at once
        elif not rule.recheck or due_now:
            self._keep(task, source, at_once=rule.recheck)
        elif rule.key in self._steady:
            # What it reads changes only with its member: checked when due only if the member
            # changes before then (``before_change``).
            self._keep(task, source, task)
        else:
            self._push(task)

    def restore(self, payloads: list[dict[str, Any]]) -> None:
        """Tasks a run of an earlier version printed (its state rows), to be checked again when due."""
        for payload in payloads:
            heapq.heappush(self.saved, (payload["due"], payload["id"], payload))

    def reopen(self, payloads: list[dict[str, Any]], build: Callable[..., Task], render: Callable[[Task], bool], effect: Callable[[Task, ActionSpec], None]) -> None:
        """The tasks an earlier --state run left open (``keep_open``), back in the planner's
        days as they stood, each checked again when due as if planned now, its effect still to
        happen then if it is due later. ``build``: the enforcer's task maker (the same rule,
        firing and action give the same task and id)."""
        # Their members, loaded together rather than one query each.
        self.run.prefetch(member for payload in payloads for member in (payload["member"], *(part["member"] for part in payload["parts"])) if member is not None)
        for payload in payloads:
            rule = self._rules.get(payload["rule"])
            built = self._rebuild(payload, rule, build, render) if rule is not None else None
            if rule is None or built is None:
                for task_id in (payload["id"], *printed_parts(payload)):
                    self.planner.not_reopened(task_id)  # its rule changed since: it stays as printed
                for data in payload["parts"]:
                    self.planner.part_not_reopened(data["id"])  # in it, as printed
                continue
            rebuilt = [(data, self._rebuild(data, self._rules.get(data["rule"]), build, render)) for data in payload["parts"]]
            parts = [part for _, part in rebuilt if part is not None]
            for data, part in rebuilt:
                if part is None and data.get("printed") is not None:
                    self.planner.not_reopened(data["id"])  # it stays as printed, as above
                elif part is None:
                    self.planner.part_not_reopened(data["id"])
            printed = payload["printed"]
            cooling = payload.get("cooling_since", _UNSET)
            part_cooling = {data["id"]: data["cooling_since"] for data in payload["parts"] if "cooling_since" in data}
            opened = Open(
                built, payload["due"], payload["original_due"], [(why, before, after) for why, before, after in payload["moves"]], parts, None if cooling is _UNSET else (cooling,),
                payload.get("message_deadline"), counted_at=payload.get("counted_at"), part_cooling=part_cooling or None, own_deadline=payload.get("own_deadline"),
                sent_beside=payload.get("sent_beside", False),
            )
            self.planner.reopen(built, rule.key, opened, None if printed is None else (*printed[:3], tuple(printed[3])))
            for part in parts:
                self._follow_part(part)
            for data, part in rebuilt:
                if part is not None and data.get("printed") is not None:  # it went out on its own, carrying the message (``_printed_part``)
                    self.planner.printed_part(part, built, (*data["printed"][:3], tuple(data["printed"][3])))
            effect(built, built.source.action)
            # Whether its member changed since it was last checked is not known: checked again
            # when due (or when capacity moves it), whatever it reads — unless it is of a steady
            # rule, saved ``unchanged``: then only if its member changes before it is due, as
            # in one run (``_keep_as_checked``). One due at the very
            # instant the last run ended was checked as it ended, before what this run brings at
            # that same instant: checked again after it, as one run would — unless it was due
            # at once when planned: one run keeps such a task as planned, and only the member
            # leaving at that instant drops it, not a removal the plan made then (checked
            # again, it would see the effects due at that instant, which one run's keeping
            # comes before).
            now = self.run.now
            unchanged = payload.get("unchanged", False)
            if rule.recheck and built.due == now and payload["t"] == now:
                self._keep_at_once(built, unchanged)
            elif rule.recheck and built.due >= now and not unchanged:
                self._push(built)  # its values are built when it is checked
            else:
                self._keep_as_checked(built, unchanged)

    def _follow_part(self, part: Task) -> None:
        """A part reopened in its message: followed, as one run follows it from its keeping
        until its message's day is settled, for its member's first message and leaving since
        (pace may list it later, on its own if its message is dropped: ``stale_at``)."""
        source: Source = part.source
        rule, member = source.rule, source.firing.member
        if member is None or not rule.recheck:
            return
        if self.watch is not None and source.wrote is None and (rule.trigger.ends_on_message or rule.trigger.asks_member or rule.key in self._reads_writing):
            self.watch.setdefault(member.id, []).append(part)
        if self.leaving is not None and source.gone is None and source.action.kind.scope is not None and rule.key not in self._about_leaving:
            self.leaving.setdefault(member.id, []).append(part)

    def _keep_as_checked(self, task: Task, unchanged: bool = False) -> None:
        """A reopened task the run that planned it checked when due: kept as it was then, with
        the member's first message and leaving since, if that run saw them (``_keep`` forgets
        them). ``unchanged``: of a steady rule, its member did not change from that check to
        the end of that run (``_saved``): moved on unchanged since, it is checked again only if
        the member changes before it is due, as in one run — a change at that very instant (a
        stage time alone moves) included, which a check due then would come before."""
        source = task.source
        wrote, gone, back, seen, before = source.wrote, source.gone, source.back, task.seen_message, source.before
        self.context_of(source)  # the values it was due with (``seen``), else those of now
        self._keep(task, source, task if unchanged and task.due >= self.run.now else None)
        source.changed = not unchanged
        if seen is not None or source.rule.key in self._knows_writing:
            # As of its check, not of now — also when the member had not written by then (None:
            # the message since is news to it; merge and pace read this).
            task.seen_message = seen
        if before is not None:
            source.before = before  # likewise
        if wrote is not None and source.wrote is None:
            source.wrote = wrote
        if gone is not None and source.gone is None:
            source.gone = gone
            source.back = back
            if back is None and source.action.kind.scope == SCOPE_GROUP and task.group is not None and task.member is not None:
                self.returning.setdefault(task.member, []).append(task)  # out of its group still: when back?

    def _keep_at_once(self, task: Task, unchanged: bool = False) -> None:
        """A reopened task due at once at the instant the last run ended (see ``reopen``):
        kept as checked, unless its member is not where it needs them by the history."""
        self._keep_as_checked(task, unchanged)
        member = task.source.firing.member
        if member is None or task.source.action.kind.scope is None or task.source.rule.key in self._about_leaving:
            return
        why = self._not_there(task.group, task.source, member, self.run.now)
        if why is not None:
            self.planner.drop_stale(task, self.planner.says.explain.stale.format(why=why))

    def _rebuild(self, payload: dict[str, Any], rule: Rule | None, build: Callable[..., Task], render: Callable[[Task], bool]) -> Task | None:
        """The task ``payload`` describes, made again from its firing, or None if the playbooks
        no longer make that task (another id)."""
        action = rule.action_at(payload["action"]) if rule is not None else None
        if rule is None or action is None:
            return None
        member = self.run.members.get(payload["member"]) if payload["member"] is not None else None
        if payload["member"] is not None and member is None:
            return None
        event = event_from(payload["event"]) if payload["event"] is not None else None
        firing = Firing(member, payload["firing_group"], payload["t"], payload["reason"], event, payload["values"])
        # Named as when it was planned (a newcomer renamed since is still who the task says).
        task = build(rule, action.index, action.kind.name, firing, payload["group"], "", action.params, payload.get("member_name"))
        if task.id != payload["id"]:
            return None
        task.due = payload["due"]
        if "deadline" in payload:  # moved past days off (`not_on`)
            task.deadline = payload["deadline"]
        if payload.get("waited"):  # capacity's moves past days off (its rule's, or a part's): no delay
            self.planner.has_waited(task.id, payload["waited"])
        if "messages" in payload and len(task.order) == 4:  # its place among the tasks due with it, as when it was planned
            task.order = (*task.order[:2], -payload["messages"], *task.order[3:])
        # Its values are built when first needed: most reopened tasks are dropped again unread.
        task.source = Source(rule, firing, payload["firing_group"], action, None)
        if member is not None and payload.get("seen") is not None:
            # Its text shows the member as they were when it was due, not as they are now
            # (applied when its values are built: ``_built``).
            task.source.seen = payload["seen"]
            task.source.fixed = True
        # The member's first message after its check, in the run that checked it: where pace
        # moves it to, after that message, it no longer holds (``stale_at``).
        task.source.wrote = payload.get("wrote")
        task.seen_message = payload.get("saw")
        kept_as = payload.get("kept_as")
        if kept_as is not None:
            task.source.before = MemberView(member_from_data(payload["member"] or "", list(kept_as[0])), kept_as[1], self.tz, self.replies.log, silent=self._silent)
        task.source.gone = payload.get("gone")
        task.source.back = payload.get("back")
        own = payload.get("own_tags")
        if own is not None:
            task.source.own_tags = (frozenset(own[0]), frozenset(own[1]))
        if payload.get("siblings"):
            task.source.siblings = frozenset(payload["siblings"])
        task.render = render
        return task

    def next_due(self) -> float | None:
        heap, saved, effects = self.heap, self.saved, self.effects
        due = heap[0][0] if heap else None
        if saved and (due is None or saved[0][0] < due):
            due = saved[0][0]
        if effects and (due is None or effects[0][0] < due):
            due = effects[0][0]
        return due

    def effect_at(self, task: Task, effect: Callable[[float], float | None]) -> None:
        """``effect`` happens when ``task`` is due (after its check then)."""
        heapq.heappush(self.effects, (task.due, (task.trigger_at, task.order, task.id), task, effect))

    def check_due(self, t: float) -> None:
        """Check every task due at ``t`` (the loop's clock is at ``t``): this run's in the
        order planned, then those of earlier runs."""
        heap, saved, effects = self.heap, self.saved, self.effects
        if effects and effects[0][0] == t:
            # Removals due now come before the checks of the other tasks due now (a task due at
            # the instant its member is removed is not sent), after their own checks (a removal
            # found stale does not happen). The other effects (a reward's points) come after
            # every check of the instant: the points of a reward found stale are not given, and
            # a reward due with the removal is checked after it, whichever way it waited.
            due_now = []
            while heap and heap[0][0] == t:
                task = heapq.heappop(heap)[2]
                if _removes(task.source):
                    self.check(task)
                else:
                    due_now.append(task)
            # A removal due now whose check waits on a change of its member (``_keep``'s
            # ``deferred``: planned at 23:24, held by quiet hours until 08:00) is checked now
            # too: its own effect is such a change, which would push its check after the effect
            # — and a removal whose `if: not member.left` its own effect made false was dropped
            # as stale, the member out of the group, the operator never told to remove her.
            # (Only a removal: points due now still wait, and a removal a timer plans at this
            # instant still drops them: tests/test_effects.py, a timer removes their member.)
            for _, _, task, _ in [item for item in effects if item[0] == t]:
                entry = task.source.entry if task.source is not None else None
                if entry is not None and entry[2] is task and not task.dropped and _removes(task.source):
                    entry[2] = None  # checked now, not again when the effect changes her
                    self.check(task)
            self._effects_at(t, removals=True)
            for task in due_now:
                self.check(task)
        while heap and heap[0][0] == t:
            self.check(heapq.heappop(heap)[2])
        while saved and saved[0][0] == t:
            payload = heapq.heappop(saved)[2]
            self.consumed.append(payload["id"])
            self._check_saved(payload)
        if effects and effects[0][0] == t:
            self._effects_at(t)

    def _effects_at(self, t: float, removals: bool = False) -> None:
        """The effects due at ``t`` (``removals``: only those of group actions, `remove`)."""
        effects = self.effects
        others = []
        while effects and effects[0][0] == t:
            item = heapq.heappop(effects)
            _, key, task, effect = item
            if removals and task.source is not None and not _removes(task.source):
                others.append(item)  # after the instant's checks
                continue
            later = effect(t)
            if later is not None:
                heapq.heappush(effects, (later, key, task, effect))
        for item in others:
            heapq.heappush(effects, item)

    def close(self) -> None:
        """The history has ended: tasks due after it are checked with what is known now, at
        their due time as if nothing happened meanwhile. A later --state run, which knows,
        checks them again (``reopen``) — also those found stale now: the member may come back
        before they are due."""
        self.closed = True
        self.planner.checks_at_once = True  # the tasks capacity moves on are checked there and then
        for _, _, task, _ in self.effects:
            if task.member and _removes(task.source):
                self._ahead.setdefault(task.member, []).append(task)
        heap, self.heap = self.heap, []
        later = {id(task): task for _, _, task in heap}
        for task in later.values():
            if task.source is not None:
                task.source.due_check = True
        # And those whose check waits on a change of their member (see ``planned``).
        now = self.run.now
        later.update((id(task), task) for waiting in self.frozen.values() for _, _, task, _ in waiting if task is not None and not task.dropped and task.due >= now)
        if self._ahead and self.at_once_t == now:
            # Those kept at once at the history's last instant, whose member a removal due at it
            # takes out: while the history goes on, it is done after that instant's events, and
            # they are stale (``left_at_once``) — then and in every later run, which starts after
            # that instant: not reopened.
            for task in self._at_once:
                member = task.source.firing.member if task.source is not None and not task.dropped else None
                if member is not None and member.id in self._ahead:
                    why = self._removed_ahead(task.group, task.source, member, now, after_effects=True)
                    if why is not None:
                        self.planner.drop_stale(task, self.planner.says.explain.stale.format(why=why))
        planner = self.planner
        for task in sorted(later.values(), key=lambda task: (task.due, task.id)):
            opened = planner.opening(task) if planner.record_history and not task.dropped else None
            # Its firing's notes, dropped with it if it is stale now: reopened with it, they
            # come back with it when the next run finds it holds after all.
            noted = [(note, planner.opening(note)) for note in planner.notes_with(task) if not note.dropped] if opened is not None else []
            self._check_later(task)
            if opened is not None and task.dropped:
                planner.open_stale.append(opened)
                planner.open_stale.extend(note_opened for note, note_opened in noted if note.dropped)
        now, kept = self.run.now, []
        for due, task_id, payload in sorted(self.saved):
            self._set_now(max(now, due))
            try:
                if self._check_saved(payload):
                    self.consumed.append(task_id)
                else:
                    kept.append((due, task_id, payload))  # still holds: checked again by a later run
            finally:
                self._set_now(now)
        self.saved = kept

    def _check_later(self, task: Task) -> None:
        now = self.run.now
        self._set_now(max(now, task.due))
        try:
            self.check(task)
        finally:
            self._set_now(now)

    def opening(self, opened: list[Open]) -> None:
        """The tasks of the days the history's end leaves open, and their parts, as they stand
        before those days are settled: what the next run needs of each as it settles them again.
        Settling moves some to a later day and checks them again there, with the values of the
        history's end; the next run, which may put them back on their day, must not take those
        (a newcomer's DM moved to tomorrow, back at 00:07, written with her name of 06:58)."""
        for item in opened:
            for task in (item.task, *item.parts):
                if task.source is not None:
                    self._opened[task.id] = self._saved(task)

    def keep_open(self, opened: list[Open]) -> None:
        """With --state: the tasks of the days the history's end left open, as they stood before
        those days were settled, for the next run to settle again (``reopen``) — with what was
        printed of each, so that it is printed again only if it changes."""
        for item in opened:
            task = item.task
            if task.source is None:
                continue
            payload = self._opened.get(task.id) or self._saved(task)
            payload = payload | {
                "v": 2, "due": item.due, "original_due": item.original_due, "moves": item.moves,
                "printed": None if task.dropped or task.id in self.planner.withheld else list(printed_form(task)),
                "parts": [(self._opened.get(part.id) or self._saved(part)) | ({"cooling_since": item.part_cooling[part.id]} if item.part_cooling and part.id in item.part_cooling else {}) | self._printed_part(part) for part in item.parts if part.source is not None],
            }
            if task.id in self.planner.sent_beside:
                payload["sent_beside"] = True
            if item.cooling_since is not None:
                payload["cooling_since"] = item.cooling_since[0]
            if item.counted_at is not None:
                payload["counted_at"] = item.counted_at
            if item.parts and item.deadline is not None:
                # A message: its deadline as it stood, and its own part's, which the parts'
                # deadlines do not give back once it was moved past days off with its deadline.
                payload["message_deadline"] = item.deadline
                if item.own_deadline is not None:
                    payload["own_deadline"] = item.own_deadline
            if ("deadline" in payload or item.parts) and item.deadline is not None:  # `not_on`: as they stood before the settling
                if "deadline" in payload:
                    payload["deadline"] = item.deadline
                payload.pop("waited", None)
                if item.waited:
                    payload["waited"] = item.waited
            carrier = self.planner.merged_into.get(task.id)
            if carrier is not None and task.dropped:
                payload["merged_into"] = carrier  # reopened only with the message it went out in
            self._new.append(payload)

    def _printed_part(self, part: Task) -> dict[str, Any]:
        """What was printed of ``part`` of a message left open, if it went out on its own: the
        message's own task was dropped as its day was settled, and this part carried the rest."""
        if part.dropped or part.id in self.planner.withheld:
            return {}
        return {"printed": list(printed_form(part))}

    def keep_held(self, rows: list[dict[str, Any]]) -> None:
        """With --state: what the tasks this run left out of its open days still hold
        (``Planner.held_over``), for the next run to hold until their day is over."""
        self._new += rows

    def pending(self) -> list[dict[str, Any]]:
        """What --state keeps for a later run to check: earlier runs' tasks still to come due,
        and this run's."""
        return [payload for _, _, payload in self.saved] + self._new

    def _saved(self, task: Task) -> dict[str, Any]:
        """``_saved``, with the member as they were when the task was kept, if a later part may
        ask (``member_as_kept``): the next run cannot know them."""
        payload = _saved(task, task.source)
        waited = self.planner.waited(task.id)
        if task.source.rule.not_on is not None or waited:
            # Its deadline moved with it past the days off (not the rule's, from the firing),
            # and capacity's moves over them are no delay: as the planner had them. (Also a
            # task of a rule with no `not_on:` that a message moved past them, the message's
            # part that kept them off gone since: a schedule's DM in the invite moved past 春节.)
            payload["deadline"] = task.deadline
            if waited:
                payload["waited"] = waited
        source = task.source
        if source.kept and not source.changed and not source.due_check and source.entry is not None and source.rule.key in self._steady:
            payload["unchanged"] = True  # its member has not changed since its check (``_keep_as_checked``)
        if task.action in self._merging:
            then = self.member_as_kept(task)
            if then is not None:
                payload["kept_as"] = [member_record(snapshot(then._member)), then._now]
        return payload

    def _check_saved(self, payload: dict[str, Any]) -> bool:
        """A task an earlier run printed is due now (or the history ends before): if it no
        longer holds it is withdrawn (True)."""
        rule = self._rules.get(payload["rule"])
        if rule is None or not rule.recheck:
            return False  # the rule was removed or changed since: nothing to check it against
        action = rule.action_at(payload["action"])
        if action is None:
            return False
        member = self.run.members.get(payload["member"]) if payload["member"] is not None else None
        event = event_from(payload["event"]) if payload["event"] is not None else None
        firing = Firing(member, payload["firing_group"], payload["t"], "", event, payload["values"])
        reason = self.reason(payload["group"], Source(rule, firing, payload["firing_group"], action, {}), self.run.now)
        if reason is None:
            return False
        self.planner.withdraw(self.run.now, payload["id"], payload["member"], payload["assignee"], payload["due"], self.planner.says.explain.stale.format(why=reason), rule.playbook)
        return True

    def message(self, member_id: str, t: float) -> None:
        """The member wrote at ``t``: tasks watched for it learn when (only with ``pace``)."""
        if self.watch:
            for task in self.watch.pop(member_id, ()):
                source = task.source
                if source is not None and source.wrote is None:
                    source.wrote = t

    def left(self, member: Member, t: float, group: str | None = None) -> None:
        """The member left a group at ``t`` (``group``; or joined one an invite of theirs brings
        them into): tasks watched for it whose action needs them there (or, with no group left,
        anywhere in the community; or out of the group an invite is for) learn when (only with
        ``pace``) — and so does a removal done when due, that pace lists later, from that group."""
        if not self.leaving:
            return
        waiting = []
        for task in self.leaving.pop(member.id, ()):
            source = task.source
            if source is None or task.dropped:
                continue
            if source.gone is None and (self._not_there(task.group, source, member, t) is not None or (group is not None and group == task.group and self._removed_by(source, member))):
                source.gone = t
                if source.action.kind.scope == SCOPE_GROUP and task.group is not None:
                    self.returning.setdefault(member.id, []).append(task)
            else:
                waiting.append(task)
        if waiting:
            self.leaving[member.id] = waiting

    def back(self, member: Member, t: float, group: str | None) -> None:
        """The member joined ``group`` at ``t``: the group actions there whose member had left it
        (``left``) learn when they were back — an @ that pace lists in between was for someone
        out of the group, whether or not they are back by the day's end (``stale_at``)."""
        waiting = []
        for task in self.returning.pop(member.id, ()):
            if task.source is None or task.dropped:
                continue
            if task.group == group and task.source.back is None:
                task.source.back = t
            else:
                waiting.append(task)
        if waiting:
            self.returning[member.id] = waiting

    def left_at_once(self, member: Member) -> None:
        """The member left a group at the instant tasks due at once were planned: theirs that
        need them where they no longer are are stale."""
        for task in self._at_once:
            if task.member == member.id and not task.dropped and task.source is not None:
                why = self._not_there(task.group, task.source, member, self.run.now)
                if why is not None:
                    self.planner.drop_stale(task, self.planner.says.explain.stale.format(why=why))

    # -- checking ----------------------------------------------------------------------------

    def check(self, task: Task) -> None:
        if task.dropped:
            return
        if task.merged is not None and len(task.merged) > 1:
            self._check_parts(task)  # a message capacity carried to this day: each part, as the message's own
        source: Source = task.source
        if not source.rule.recheck:
            return  # a message of a rule not checked again, here for its parts (``moved_later``)
        if source.kept and not source.changed and source.rule.key in self._steady and not (self._ahead and task.member in self._ahead):
            return  # held when last checked, and nothing it reads has changed since (nor will a removal the plan has ahead)
        rule = source.rule
        # The values of now for its text, unless it reads only the member's name and id (fixed
        # again by _keep); the conditions build them only if they need them.
        context = self._context(rule, source.firing, source.group) if rule.key not in self._fixed_texts else None
        reason = self.reason(task.group, source, self.run.now, context)
        if reason is not None:
            self.planner.drop_stale(task, self.planner.says.explain.stale.format(why=reason))
        else:
            if context is not None:
                source.context = context
            source.fixed = False
            self._keep(task, source, at_once=task.due == self.run.now)

    def _check_parts(self, message: Task) -> None:
        """The parts merged into ``message`` (itself aside) that no longer hold now, at its due
        time on the day capacity carried it to, leave it (``Planner.part_stale``): a silence DM
        merged into the morning's message is not sent after the member wrote, however its
        message came to be later."""
        for part in (message.merged or ())[1:]:
            source: Source | None = part.source
            if source is None or not source.rule.recheck:
                continue  # (asked whatever it reads: a part's member changes are not followed)
            rule = source.rule
            context = self._context(rule, source.firing, source.group) if rule.key not in self._fixed_texts else None
            reason = self.reason(part.group, source, self.run.now, context)
            if reason is not None:
                self.planner.part_stale(message, part, self.planner.says.explain.stale.format(why=reason))
                continue
            source.kept = True  # as of now: a --state run saves its values of now (``_saved``), not those it was reopened with
            if context is not None:
                source.context = context
                source.fixed = False
            member = source.firing.member
            if member is None:
                continue
            # Its text, written when the message's day is settled, shows the member as now — as
            # ``_keep`` has the message's own: a name read alone fixed now (not the one of the
            # day it was first kept), other values kept if the member changes before then. Else
            # the invite carried into the morning's DM counted her messages of after 07:00, or
            # greeted her by the id she had three days before.
            if rule.key in self._identity_texts:
                self._fix_identity(source, member)
                if rule.key in self._steady:
                    # Followed all the same, as ``_keep`` has it: should it carry the message on
                    # later, it is checked there only if its member changed since (``moved_later``).
                    self._freeze(member.id, self.run.now, source, None, message.due)
            elif context is not None:
                self._freeze(member.id, self.run.now, source, None, message.due)

    def _fix_identity(self, source: Source, member: Member) -> None:
        """Fix the text of ``source``, which reads only the member's name and id, to those of now.
        In its own copy of the context: the firing's other tasks share the context it was planned
        with, and one of them not fixed yet (a survey capacity moved to the next day) takes the
        member as they were before a change into it (``before_change``) — a rename at 23:33 then
        showed in the 20:00 warning's text, written when the day was settled."""
        context = source.context = dict(self.context_of(source))
        context["member"] = Identity(member.id, member.name or member.id)
        source.fixed = True

    def reason(self, group: str | None, source: Source, at: float, context: dict[str, Any] | None = None) -> str | None:
        """Why a task (in ``group``) from ``source`` no longer holds at ``at`` (now), or None
        (``context``: the rule's values now, if already built)."""
        rule, firing = source.rule, source.firing
        member = firing.member
        if member is not None:
            where = self._not_there(group, source, member, at)
            if where is None and self._ahead and member.id in self._ahead:
                where = self._removed_ahead(group, source, member, at)
            if where is not None:
                return where
            trigger = rule.trigger
            if trigger.ends_on_message and member.last_message_at is not None and member.last_message_at > firing.t:
                return self.planner.says.explain.wrote.format(name=_name(member), at=self.run.local.text(member.last_message_at))
        stale = rule.trigger.stale(self.run, firing, at)
        if stale is not None:
            return stale
        if rule.until is not None and member is not None:
            replied = self._replied(rule, member, at)
            if replied is not None:
                return replied
        return self._condition_false(source, context)

    def _replied(self, rule: Rule, member: Member, at: float) -> str | None:
        """Why a task of ``rule`` (`until: replied`) for ``member`` ends by ``at``: they replied,
        in the ``LOOKBACK`` before it, to a task of its playbook — or None."""
        replied = self.replies.since(member.id, rule.playbook, at - LOOKBACK, at)
        if replied is None:
            return None
        return self.planner.says.explain.replied.format(name=_name(member), playbook=rule.playbook, at=self.run.local.text(replied))

    def _not_there(self, group: str | None, source: Source, member: Member, at: float) -> str | None:
        """Whether the member is no longer where the task's action (in ``group``) needs them
        at ``at`` (now)."""
        if source.rule.key in self._about_leaving:
            # Meant for people who left — not for one back in the group they left by then.
            event = source.firing.event
            if event is not None and event.type == "member_left" and event.group is not None and event.group in member.groups:
                return self.planner.says.explain.back_in_group.format(name=_name(member), group=group_name(self.run.groups, self._group_names, event.group))
            return None
        scope = source.action.kind.scope
        if scope == SCOPE_GROUP:
            if group is not None and group not in member.groups and (member.groups or member.left):
                out = member.marks.get(OUT_OF)
                if out and source.action.kind.apply is not None and ((out.get(group) in (source.firing.t, at) and not self._by_other_removal(source, member, group)) or self._by_own_removal(source, member, group)):
                    # Out by this very task's effect (a planned `remove`, done when it is due), not
                    # since — unless they left that group on their own before pace lists it.
                    return self._left_after_removal(group, source, member, at)
                if out and out.get(group) == at and self._by_own_removal(source, member, group):
                    return None  # a sibling of the removal due with it (the "先截图" note); one due later (a warning capacity moved to the next day) is for a member out of the group
                # (Taken out by the plan: said, as the enforcer says it of a task it refuses.)
                return self._not_in_group(member, group, out[group] if out and group in out else None)
        elif scope is not None and member.left:
            if self._by_own_removal(source, member, source.group, at):
                return None  # the DM saying why, sent with the removal: not once they left on their own too
            return self.planner.says.explain.left_community.format(name=_name(member))
        into_option = source.action.kind.into_group
        if into_option is not None:
            # An invite into a group the member joined in the meantime (by someone else's
            # invite, the group's QR code): no "shall I bring you in?" once they are in.
            into = self._community.group_id(source.action.params.get(into_option))
            if into is not None and into in member.groups:
                return self.planner.says.explain.in_group.format(name=_name(member), group=group_name(self.run.groups, self._group_names, into))
        return None

    def _removed_ahead(self, group: str | None, source: Source, member: Member, at: float, after_effects: bool = False) -> str | None:
        """After the history's end: whether removals the plan does before ``at`` take the member
        out of where ``source``'s action needs them. While the history goes on, a removal is done
        when it is due (``check_due``), and a task due after it finds its member out; once the
        history has ended nothing is done any more, but the plan's own removals still happen
        before the tasks due after them: no @ on 04-07 of a member the plan removes on 04-05.
        As ``check_due`` orders an instant: a removal goes before the other tasks due with it,
        but not before its own firing's (the "先截图" note), nor before another removal (checked
        before the instant's removals are done) — unless it was kept at once at that instant
        (``after_effects``: the effects follow, ``left_at_once``); the DM saying why goes with it."""
        scope = source.action.kind.scope
        if scope is None or source.rule.key in self._about_leaving:
            return None
        out: dict[str, float] = {}  # group → when the plan takes the member out of it
        own: str | None = None  # the group its own firing's removal takes them out of
        removal_itself = _removes(source) and not after_effects  # checked before the instant's removals
        for removal in self._ahead[member.id]:
            removing = removal.source
            if removal.dropped or removing is source or removal.due > at or removal.group is None or (removal_itself and removal.due == at):
                continue
            if removing.rule.key == source.rule.key and removing.firing.t == source.firing.t:
                own = removal.group
                if removal.due == at:
                    continue  # due with its removal: goes with it
            if removal.group not in out or removal.due < out[removal.group]:
                out[removal.group] = removal.due
        if not out:
            return None
        explain = self.planner.says.explain
        if scope == SCOPE_GROUP:
            if group is None or group not in out or group not in member.groups:
                return None  # (not in it now: said by ``_not_there`` already)
            return self._not_in_group(member, group, out[group])
        if member.left or not member.groups or not member.groups <= out.keys() or own == source.group:
            return None
        return explain.left_community.format(name=_name(member))

    def _not_in_group(self, member: Member, group: str, removed: float | None = None, since: str = "") -> str:
        """"… is no longer in {group}", with ``since`` — or, ``removed``, when the plan took them out."""
        if removed is not None:
            since = self.planner.says.explain.removed_at.format(at=self.run.local.text(removed))
        return self.planner.says.explain.not_in_group.format(name=_name(member), group=group_name(self.run.groups, self._group_names, group), since=since)

    def _beside_removal(self, task: Task, source: Source, member: Member) -> bool:
        """Whether ``task`` needs its member in a group they are out of by the removal its own
        firing planned (so it held only at that removal's instant: ``_not_there``)."""
        group = task.group
        return source.action.kind.scope == SCOPE_GROUP and source.action.kind.apply is None and group is not None and group not in member.groups and self._by_own_removal(source, member, group)

    def _removed_by(self, source: Source, member: Member) -> bool:
        """Whether ``source``'s task, an action that takes its member out of its group (`remove`),
        did so (its effect, done when due), and they are still out."""
        group = source.group
        out = member.marks.get(OUT_OF)
        if source.action.kind.apply is None or group is None or not out or group not in out or group in member.groups:
            return False
        return self._by_own_removal(source, member, group)

    def _left_after_removal(self, group: str, source: Source, member: Member, at: float) -> str | None:
        """Why a removal done when it was due, and listed later by pace, is not for the operator
        to do at ``at``: the member left ``group`` on their own in between (``source.gone``) — the
        list would ask to remove someone who is not there. (Their leaving changes nothing else:
        the plan had them out already.)"""
        entry = _out_by(member, group)
        left = entry[2] if entry is not None and len(entry) > 2 else source.gone
        if left is None or left > at:
            return None
        return self._not_in_group(member, group, since=self.planner.says.explain.left_after_removal.format(at=self.run.local.text(left)))

    def _by_own_removal(self, source: Source, member: Member, group: str | None, at: float | None = None) -> bool:
        """Whether the member went out of ``group`` by the removal ``source``'s own firing
        planned: a `remove`'s sibling task (the "先截图" note, the DM saying why) goes with it,
        whichever of the two is checked first at their instant — but, asked at ``at``, not if
        they left that group on their own since (the removal's listing is stale then, too)."""
        entry = _out_by(member, group)
        if entry is None or entry[:2] != [source.rule.key, source.firing.t]:
            return False
        return at is None or len(entry) < 3 or entry[2] > at

    def _by_other_removal(self, source: Source, member: Member, group: str) -> bool:
        """Whether the plan's last removal of the member from ``group`` was another firing's (a
        removal done now, as a task of this one is asked whether it still holds): she was back in
        the group since this one's effect, and out again by that one — not by this task."""
        entry = _out_by(member, group)
        return entry is not None and entry[:2] != [source.rule.key, source.firing.t]

    def context_at(self, source: Source, at: float) -> dict[str, Any]:
        """``source``'s values as they are now, but with ``now`` at ``at``: a condition about
        the time of day (``8 <= now.hour < 22``: when to send it) asked as of when the task was
        due, while what happened since (a message, an answer) is as it is now."""
        context = dict(self._context(source.rule, source.firing, source.group))
        if "now" in context:
            context["now"] = datetime.fromtimestamp(at, self.tz)
        return context

    def context_now(self, source: Source) -> dict[str, Any]:
        """What ``source``'s text would be rendered with now, kept nowhere (an explanation's)."""
        return source.context if source.context is not None else self._built(source)

    def context_of(self, source: Source) -> dict[str, Any]:
        """What ``source``'s text is rendered with: built now if it was left to be built."""
        if source.context is None:
            source.context = self._built(source)
        return source.context

    def _built(self, source: Source) -> dict[str, Any]:
        """``source``'s values, of now — but the member (and ``now``) as an earlier run saw them
        when the task was due, if it saved them (``seen``)."""
        context = self._context(source.rule, source.firing, source.group)
        seen = source.seen
        if seen is not None:  # a copy: the saved record stays as saved (member_from_data makes sets of its lists)
            member = source.firing.member
            context["member"] = MemberView(member_from_data(member.id if member is not None else "", list(seen[0])), seen[1], self.tz, self.replies.log, silent=self._silent)
            if "now" in context:
                context["now"] = datetime.fromtimestamp(seen[1], self.tz)
        return context

    def _condition_false(self, source: Source, context: dict[str, Any] | None) -> str | None:
        """The first of the rule's ``if:`` conditions false with the values of now, if one is —
        the member's tags as they would be without the firing's own `tag`/`untag`."""
        rule = source.rule
        if not rule.conditions:
            return None
        member = source.firing.member
        if source.own_tags is not None and member is not None:
            given, taken = source.own_tags
            given, taken = given & member.tags, taken - member.tags  # those still as the firing left them
            member.tags.difference_update(given)
            member.tags.update(taken)
            try:
                return self._first_false(source, context, member)
            finally:
                member.tags.difference_update(taken)
                member.tags.update(given)
        return self._first_false(source, context, member)

    def _first_false(self, source: Source, context: dict[str, Any] | None, member: Member | None) -> str | None:
        rule = source.rule
        if member is not None and self._member_holds is not None and self._member_holds(rule, member):
            return None  # most often: they hold, as the member alone tells
        if context is None:
            context = self._context(rule, source.firing, source.group)
        if source.siblings and member is not None and isinstance(context.get("member"), MemberView):
            context = context | {"member": MemberView(member, self.run.now, self.tz, self.replies.log, source.siblings, self._silent)}
        for condition in rule.conditions:
            try:
                holds = condition.test(context)
            except Exception as exc:  # broad: a condition that fails now cannot be said to hold
                return self.planner.says.explain.failed_now.format(source=condition.source, error=exc)
            if not holds:
                return self.planner.says.explain.false_now.format(source=condition.source)
        return None

    def _keep(self, task: Task, source: Source, deferred: Task | None = None, at_once: bool = False) -> None:
        """The task holds now: its text will show the member's values of now. Their copy is
        taken only if the member changes before the task's day is settled (``before_change``):
        most tasks are dropped for capacity then, and most members do not change meanwhile.
        ``deferred``: the task, due later, to be checked then if its member changes before.
        ``at_once``: it is due now."""
        source.kept = True
        rule = source.rule
        key = rule.key
        if at_once and task.member is not None and source.action.kind.scope is not None and key not in self._about_leaving:
            # It needs its member somewhere: a removal that takes them out at this same instant
            # (planned at it: a silence's timer fires after the checks of the instant) leaves it
            # stale (``left_at_once``).
            now = self.run.now
            if self.at_once_t != now:
                self.at_once_t, self._at_once = now, []
            self._at_once.append(task)
        member = source.firing.member
        if member is None:
            return
        if key in self._knows_writing:
            task.seen_message = member.last_message_at
        merging = task.action in self._merging
        if merging:
            source.before = None  # the member is as of now (``before_change`` keeps them if they change)
        if key in self._identity_texts and not source.fixed:
            # Its text reads only the member's name and id: those of now, fixed at once, and no
            # copy of the member is needed when it changes.
            self._fix_identity(source, member)
        # Its context (planned with, or built by the check) shows the member as of now. Nothing
        # needs to know of a change of the member when its text is fixed already and nothing
        # skips its checks on an unchanged member (``source.changed``: steady rules only).
        if deferred is not None or not source.fixed or key in self._steady or merging:
            # (``_freeze``, written out: nearly every task planned comes here.)
            at = task.due if deferred is not None else self.run.now
            source.changed = False
            entry = source.entry = [at, source, deferred, max(at, task.due)]
            waiting = self.frozen.get(member.id)
            if waiting is None:
                self.frozen[member.id] = [entry]
            else:
                waiting.append(entry)
        if self.watch is not None and (rule.trigger.ends_on_message or rule.trigger.asks_member or key in self._reads_writing):
            source.wrote = None
            self.watch.setdefault(member.id, []).append(task)
        if self.leaving is not None and source.action.kind.scope is not None and key not in self._about_leaving and rule.recheck:
            source.gone = None
            self.leaving.setdefault(member.id, []).append(task)

    def _freeze(self, member_id: str, at: float, source: Source, deferred: Task | None, until: float) -> None:
        """Keep ``source``'s text at the member's values of ``at`` if they change; a
        ``deferred`` task (moved, not checked again yet) is checked at ``at`` if they change
        before then."""
        source.changed = False
        entry = source.entry = [at, source, deferred, max(at, until)]  # until: its day is settled (it is rendered then)
        waiting = self.frozen.get(member_id)
        if waiting is None:
            self.frozen[member_id] = [entry]
        else:
            waiting.append(entry)

    def before_change(self, member: Member) -> None:
        """``member`` is about to change: texts still to be rendered keep the values they had."""
        waiting = self.frozen.pop(member.id, None)
        if not waiting:
            return
        settled = self._settled
        copy = None
        now = self.run.now
        for at, source, deferred, until in waiting:
            source.entry = None  # no longer registered
            source.changed = True  # (also of a day settled: a part merged there may carry its message on later)
            if until < settled:
                continue  # of a day already settled: done (a task planned late one day, due the next, is not)
            if deferred is not None and at >= now and not deferred.dropped:
                self._push(deferred)  # it changes before the task is due: checked then
            if not source.fixed and self.context_of(source).get("member") is not None:
                if copy is None:
                    copy = snapshot(member)
                self.context_of(source)["member"] = MemberView(copy, at, self.tz, self.replies.log, silent=self._silent)
            if source.before is None and source.action.kind.name in self._merging:
                if copy is None:
                    copy = snapshot(member)
                source.before = MemberView(copy, at, self.tz, self.replies.log, silent=self._silent)

    def member_as_kept(self, task: Task) -> MemberView | None:
        """``task``'s member as they were when it was last kept (its check, or its planning),
        if that is known: a message due then, that a later part may join."""
        source: Source | None = task.source
        if source is None or not source.kept:
            return None
        if source.before is not None:
            return source.before
        member = source.firing.member
        if source.entry is None or member is None:
            return None  # not followed since (reopened as printed, or of a day settled)
        return MemberView(member, source.entry[0], self.tz, self.replies.log, silent=self._silent)  # unchanged since

    # -- the planner's side ------------------------------------------------------------------

    def moved_later(self, tasks: Iterable[Task]) -> None:
        """Capacity (or pace, or a second message) moved ``tasks`` to a later day: each is
        checked again when it is due there. (One call for a day's overflow: most of a busy
        day's offers come here, day after day, until they are kept or dropped.)"""
        steady, closed = self._steady, self.closed
        for task in tasks:
            source: Source | None = task.source
            if source is None:
                continue
            if task.merged is not None and len(task.merged) > 1:
                for part in task.merged[1:]:
                    entry = part.source.entry if part.source is not None and not part.source.rule.recheck else None
                    if entry is not None:
                        entry[3] = max(entry[3], task.due)  # a part not checked again: as below
            if not source.rule.recheck:
                if source.entry is not None:
                    # Not checked again: its text keeps the member of its planning until it is
                    # written, now on the day it moved to (``before_change`` forgets an entry
                    # of a day settled).
                    source.entry[3] = max(source.entry[3], task.due)
                if task.merged is not None and any(part.source is not None and part.source.rule.recheck for part in task.merged[1:]):
                    # Its parts checked again are, there (``check`` asks only them): an invite
                    # merged into a survey of such a rule counted her messages of that night.
                    if closed:
                        self._check_later(task)
                    else:
                        self._push(task)
                continue
            member = source.firing.member
            if member is not None and source.kept:
                group = task.group
                # (``_beside_removal`` asked only of a member out of the task's group: most are in it.)
                if group is not None and group not in member.groups and self._beside_removal(task, source, member):
                    # Kept as a sibling of its firing's removal, due at the same instant (the
                    # "先截图" note): later, it is for a member out of the group, though they
                    # change no more.
                    source.changed = True
                if not source.changed and source.rule.key in steady:
                    # Nothing it reads changes unless its member does: checked again only if
                    # the member changes before it is due.
                    due, entry = task.due, source.entry
                    if entry is not None:  # still registered (its member did not change): moved along
                        entry[0], entry[2], entry[3] = due, task, due
                    else:
                        self._freeze(member.id, due, source, task, due)
                    if task.merged is not None and len(task.merged) > 1:
                        self._parts_as_of(task, due)
                    continue
            if closed:
                self._check_later(task)
            else:
                self._push(task)

    def _parts_as_of(self, message: Task, due: float) -> None:
        """``message``'s parts, carried to ``due`` with it unchecked (its own check waits on a
        change of its member): their texts keep the member's values of then if the member
        changes after it, as ``_check_parts`` keeps them when the message is checked there —
        else the evening's message count showed in the morning's silence DM merged into it.
        (A part not checked again keeps its member of its planning: see ``moved_later``.)"""
        for part in (message.merged or ())[1:]:
            source: Source | None = part.source
            member = source.firing.member if source is not None else None
            if source is not None and member is not None and source.rule.recheck and not source.fixed and source.context is not None:
                self._freeze(member.id, due, source, None, due)

    def stale_at(self, task: Task, at: float) -> str | None:
        """Whether ``task``, checked when it was due, no longer holds at ``at`` (later that day,
        where pace put it): the member wrote (a silence ends; an `if:` reading what a message
        changes is asked again), replied (`until: replied`), or the question was answered, in
        between."""
        source: Source | None = task.source
        if source is None or not source.rule.recheck:
            return None
        rule, member = source.rule, source.firing.member
        if member is not None and source.gone is not None and source.gone <= at:
            gone = self._not_there(task.group, source, member, at)
            if gone is None and source.back is not None and source.back > at and task.group is not None:
                # Back in the group by the day's end, but only after where pace puts the task.
                out = self.planner.says.explain.out_until.format(left=self.run.local.text(source.gone), back=self.run.local.text(source.back))
                gone = self._not_in_group(member, task.group, since=out)
            if gone is not None:  # it left before where pace puts the task, and is not back by then
                return self.planner.says.explain.stale.format(why=gone)
        if rule.until is not None and member is not None:
            # A reply between the check and where pace puts the task (one an operator marked,
            # read from the state, or the member's message after a task marked done) ends it.
            replied = self._replied(rule, member, at)
            if replied is not None:
                return self.planner.says.explain.stale.format(why=replied)
        stale = rule.trigger.stale(self.run, source.firing, at)
        if member is None or source.wrote is None or source.wrote > at:
            return None if stale is None else self.planner.says.explain.stale.format(why=stale)
        wrote = self.planner.says.explain.wrote.format(name=_name(member), at=self.run.local.text(source.wrote))
        if rule.trigger.ends_on_message:
            return self.planner.says.explain.stale.format(why=wrote)
        if stale is not None:
            return self.planner.says.explain.stale.format(why=stale)
        if rule.trigger.asks_member:
            # Its stage or condition may have changed with the message: asked again, with the
            # values known now (the day's end), as the `if:` below.
            stale = rule.trigger.stale(self.run, source.firing, self.run.now)
            if stale is not None:
                return self.planner.says.explain.stale.format(why=self.planner.says.explain.wrote_and.format(wrote=wrote, false=stale))
        if rule.key in self._reads_writing:
            # The `if:` reads what the message changed: asked again, with the values known now
            # (the day's end; those of ``at`` itself are gone).
            false = self._condition_false(source, None)
            if false is not None:
                return self.planner.says.explain.stale.format(why=self.planner.says.explain.wrote_and.format(wrote=wrote, false=false))
        return None

    def released(self, before: float) -> None:
        """The days before ``before`` were settled: their tasks' texts are written (or they were
        dropped, or moved and checked again); forget what was kept for them."""
        frozen = self.frozen
        self._settled = before
        if len(frozen) > self._pruned_at:  # now and then: an entry left over costs only memory
            for member_id in list(frozen):
                waiting = []
                for entry in frozen[member_id]:
                    if entry[3] >= before:
                        waiting.append(entry)
                    else:
                        entry[1].entry = None
                if waiting:
                    frozen[member_id] = waiting
                else:
                    del frozen[member_id]
            self._pruned_at = 2 * len(frozen) + 1000
        merged = self.planner.merged_into  # a part merged into a message is checked with it (``_holds_at``)
        for watch in (self.watch, self.leaving, self.returning):
            if not watch:
                continue
            for member_id in list(watch):
                tasks = [task for task in watch[member_id] if task.source is not None and (not task.dropped or task.id in merged)]
                if tasks:
                    watch[member_id] = tasks
                else:
                    del watch[member_id]

    def _push(self, task: Task) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (task.due, self._seq, task))


def _name(member: Member) -> str:
    return member.name or member.id


def _out_by(member: Member, group: str | None) -> list[Any] | None:
    """The plan's last removal of ``member`` from ``group`` (``OUT_BY``: its rule and firing
    instant, and when they left on their own since), or None."""
    by = member.marks.get(OUT_BY) if group is not None else None
    return by.get(group) if by else None


def _removes(source: Source | None) -> bool:
    """Whether the task of ``source`` takes its member out of its group when it is due (a group
    action with an effect: `remove`): done before the other checks of its instant."""
    return source is not None and source.action.kind.apply is not None and source.action.kind.scope == SCOPE_GROUP


def _saved(task: Task, source: Source) -> dict[str, Any]:
    """What a later run needs to settle ``task`` again (plain JSON, a row of ``rechecks``): with
    the member as its text sees them (``seen``) if its values are fixed already (it was checked
    when due, or planned by a rule that is not checked again): the next run, settling its day
    again, cannot know them (the member may have written since); one that checks it when due
    builds them then."""
    firing = source.firing
    view = source.context.get("member") if source.kept and source.context is not None else None
    if isinstance(view, MemberView):
        member: dict[str, Any] = {"seen": [member_record(snapshot(view._member)), view._now]}
    elif isinstance(view, Identity) and firing.member is not None:
        # A text reading only the name, fixed when kept: that name, not the one of now (the
        # member may have renamed since).
        named = snapshot(firing.member)
        named.name = view.name
        member = {"seen": [member_record(named), task.due]}
    else:  # reopened, its values not built yet: as the run before saved them
        member = {"seen": source.seen} if source.context is None and source.seen is not None else {}
    return member | {
        "id": task.id, "rule": source.rule.key, "action": source.action.index, "member": task.member, "group": task.group,
        "firing_group": source.group, "t": firing.t, "event": event_data(firing.event), "values": firing.values,
        "assignee": task.assignee, "due": task.due, "reason": firing.reason if isinstance(firing.reason, str) else firing.reason(),
    } | (
        {"member_name": task.member_name} if task.member_name is not None and firing.member is not None and task.member_name != (firing.member.name or firing.member.id) else {}
    ) | (
        {"messages": -task.order[2]} if len(task.order) == 4 else {}  # the member's messages when it was planned: its place among tasks due with it
    ) | ({"wrote": source.wrote} if source.wrote is not None else {}) | ({"gone": source.gone} if source.gone is not None else {}) | ({"back": source.back} if source.back is not None else {}) | (
        {"saw": task.seen_message} if task.seen_message is not None else {}  # the member's latest message its check knew of
    ) | (
        {"own_tags": [sorted(source.own_tags[0]), sorted(source.own_tags[1])]} if source.own_tags is not None else {}
    ) | ({"siblings": sorted(source.siblings)} if source.siblings else {})


def event_data(event: Event | None) -> dict[str, Any] | None:
    """``event`` as plain JSON (its line aside), as the state keeps it; ``event_from`` reads it back."""
    if event is None:
        return None
    data = {name: getattr(event, name) for name in _EVENT_FIELDS}
    return {name: list(value) if isinstance(value, tuple) else value for name, value in data.items() if value not in (None, (), {})} | {"t": event.t, "type": event.type}


def event_from(data: dict[str, Any]) -> Event:
    values: dict[str, Any] = {name: tuple(value) if isinstance(value, list) else value for name, value in data.items()}
    return Event(**values)


_EVENT_FIELDS = tuple(name for name in Event.__dataclass_fields__ if name != "line")
