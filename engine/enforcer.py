"""Stage 3 of a rule's evaluation — enforce: a matched rule's actions become tasks, offered to the
planner's guardrails, and the effects of the tasks it keeps happen.

The key is the task's member: its texts are rendered from that member's view, the planner
checks that member's cooldowns and limits (and the assignee's capacity: the operator's key),
and an accepted action changes that member only (``reward`` adds points, ``remove`` takes
them out of the group, ``tag`` tags them). Whom an action's task is about is the firing's
member unless the action names another target it declares (``target: mentioned``): the
enforcer knows actions only through what ``ActionType`` declares.

Before a task is offered, its action's ``scope`` is checked against where its member is (a
group action needs them in the task's group, a private one in some group), and an
``into_group`` action against the groups they are in or are invited to: a member the plan
removed is not removed again, nor invited back into that group, and nobody is invited twice. Such a task is not offered; the planner
counts it under its reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from playbook_engine.conditions import Conditions
from playbook_engine.contract import LOOP_FIELDS, SCOPE_GROUP, SCOPE_PRIVATE, ActionType, Event, Firing, Member, Run, Task
from playbook_engine.durations import parse_duration
from playbook_engine.expressions import Variants
from playbook_engine.localtime import local_time
from playbook_engine.members import INVITED, OUT_BY, OUT_OF, PENDING, REMOVED, group_name, pending_key
from playbook_engine.model import ActionSpec, Config, Rule
from playbook_engine.notes import Notes
from playbook_engine.planner import Planner, task_id
from playbook_engine.recheck import Recheck, Source
from playbook_engine.words import ExplainWords, noted_before_text

# Why a task is not planned, as the planner counts it (the summary's "suppressed" list).
NOT_IN_GROUP = "not_in_group"  # a group action, the member no longer in the task's group
LEFT_COMMUNITY = "left_community"  # a private action, the member in no group of the community
_NOT_HELD = object()  # a variant key the store did not hold
VARIANTS = "@variants"  # the store of which text variant each target got last (Enforcer._variant)
IN_GROUP = "already_in_group"  # an invite into a group the member is in
PLANNED_ALREADY = "already_planned"  # a task of this action whose effect is still to come, in this group
INVITED_ALREADY = "already_invited"  # an invite into a group the member has a pending invite to
# (task, action) → task: the tasks of a firing, by a map rather than a comprehension, which is
# a call of its own at every firing with tasks.
_TASK_OF = itemgetter(0)


def _reaches_in_group(kind: ActionType) -> bool:
    """Whether ``kind`` reaches its member in the task's group — an @ (`mention`, `warn`) or an
    effect on them there (`remove`) — and so needs them in it, also for a rule about leaving:
    that rule's DM is for people who left, but an @ or a removal in a group she has left, or
    the plan removed her from, reaches no one (a `stage: churn` warning after the morning's
    removal; a second `member_left` in an export removing her twice)."""
    return kind.scope == SCOPE_GROUP and (kind.apply is not None or bool(kind.targets))


class Enforcer:
    """Turns matched rules into tasks for the planner and applies what the planner keeps."""

    def __init__(self, config: Config, run: Run, planner: Planner, conditions: Conditions, notes: Notes):
        self.config = config
        self.community = config.community
        self.run = run
        # Called with a member an action (a tag) changed at a firing: the run's `becomes:`
        # conditions take note (Matcher.on_effect).
        self.acted_on: Callable[[Member, frozenset[str] | None], None] | None = None
        self.planner = planner
        self.conditions = conditions
        self.notes = notes
        # Rules whose tasks are all about the firing's member: a cooldown the planner would
        # apply to every one of them is known before any text is rendered.
        self._to_member = {rule.key for rule in config.rules if all(not _target(action) for action in rule.actions)}
        # Rules whose `if:` reads the loop fields (member.last_contact_at …): their tasks are
        # checked again without their firing's other tasks (see Source.siblings).
        self._reads_loop = frozenset(rule.key for rule in config.rules if any(field in condition.source for condition in rule.conditions for field in LOOP_FIELDS))
        # Rules with an action that does something to its member when planned (points, an invite):
        # the planned tasks of the others are not looked through for one.
        self._with_effects = frozenset(rule.key for rule in config.rules if any(action.kind.apply is not None or action.kind.into_group is not None for action in rule.actions))
        self._max_lengths: dict[str, float] = {}
        # Seconds from the trigger instant to the deadline of a rule's tasks; None: the end of
        # the trigger's local day.
        self._deadlines = {rule.key: _deadline_seconds(rule) for rule in config.rules}
        self._local = local_time(config.community.tz)
        self._last_cause: tuple[Event | None, str] = (None, "")
        self._task_details = self._details  # one bound method for every task's partial
        self._render_text = self.render = self._render  # and for every task's text
        planner.instruction = self._instruction
        self.recheck: Recheck  # set by the evaluation, which holds the checks in its event-time loop
        self.rendered = 0  # texts rendered: only those of tasks kept
        # Once the history has ended, the days still open are settled only for this run's
        # output: the next --state run settles them again. The text variants their tasks were
        # given are then that run's to record (a task it drops must not turn a member's next
        # text): variant key → what the store held before (_NOT_HELD: nothing).
        self._turns_before: dict[str, Any] | None = None
        # Rules meant for members who left: an action's scope does not stop their tasks.
        self._about_leaving = frozenset(rule.key for rule in config.rules if rule.trigger.about_leaving)

    def enforce(self, rule: Rule, firing: Firing, group: str | None, context: dict[str, Any], held: list[str]) -> None:
        """Plan the tasks of a rule whose conditions held, and apply the effects of those kept."""
        member = firing.member
        if rule.once and member is not None:
            member.marks[rule.once_key] = firing.t
        self.notes.counts["matched"] += 1
        # A cooldown the planner would apply to every task of the firing comes first: such
        # tasks are counted as cooling down, whether or not their member is still there.
        cooling = member is not None and rule.key in self._to_member and self.planner.cooling(rule, member.id, firing.t)
        if cooling and not self.planner.keep_suppressed:
            # The planner will refuse every task of this firing: do not render texts nobody reads.
            unmade = sum(1 for action in rule.actions if action.kind.makes_task)
            if unmade:
                self.planner.suppress_unmade("cooldown", unmade, rule.playbook, firing.t + rule.delay)
                return
        tasks: list[tuple[Task, ActionSpec]] = []
        refused: list[tuple[Task | None, str, str | Callable[[], str]]] = []
        changes = []
        for action in rule.actions:
            if action.kind.makes_task:
                self._add_tasks(tasks, rule, action, firing, group, context, held, not cooling, refused)
            else:
                changes.append(action)
        if refused and tasks and all(task.action in self.planner.notes for task, _ in tasks):
            # Every task to a member was refused (she is in none of the groups any more): the
            # firing's notes to the operator ("私信聊过之后，把TA的需求记进档案") go with them.
            self.planner.refuse_notes([task for task, _ in tasks], *refused[0], rule.playbook)
            tasks = []
        accepted = self.planner.offer(list(map(_TASK_OF, tasks)), rule) if tasks else []
        if accepted:  # the effects of the planned tasks' actions, each on the task's member
            planned_now = self.recheck.planned
            if len(accepted) > 1 and rule.key in self._reads_loop:
                # A DM and its note to the operator: the note, checked again on a later day, is
                # not stale because "the member was contacted" by that very DM.
                ids = frozenset(task.id for task in accepted)
                for task in accepted:
                    task.source.siblings = ids - {task.id}
            for task in accepted:
                planned_now(task)
            effects = [(task, action) for task, action in tasks if action.kind.apply is not None or action.kind.into_group is not None] if rule.key in self._with_effects else None
            if effects:  # most actions have none (a DM, a note to the operator)
                planned = set(map(id, accepted))
                for task, action in effects:
                    if id(task) in planned:
                        self._take_effect(task, action)
        # State changes (tags) go with the rule's tasks: a warning that was suppressed did not
        # happen, so the member is not tagged as warned. (Most rules change none.)
        if changes and member is not None and (accepted or not tasks):
            before = set(member.tags) if accepted else None
            acted: list[ActionSpec] = []
            for action in changes:
                if self._apply(action, member, group):
                    acted.append(action)
                    self.notes.changed(rule.key, firing, partial(_describe_change, action, self.notes.says, self.notes.actions, member))
            if acted and self.acted_on is not None:
                self.acted_on(member, _changed_fields(acted))
            if before is not None and before != member.tags:
                # The tasks are checked again without them (a warning is not stale by its own `warned`).
                own = (frozenset(member.tags - before), frozenset(before - member.tags))
                for task in accepted:
                    if task.source is not None and task.source.firing.member is member:
                        task.source.own_tags = own

    def _take_effect(self, task: Task, action: ActionSpec) -> None:
        """What a planned task does to its member: ``apply`` (points, out of the group) when
        it is due — at once if it is due now — and an invite into a group is pending from now on."""
        target = self.run.members.get(task.member) if task.member else None
        if target is None:
            return
        kind = action.kind
        if kind.apply is not None and task.due > self.run.now:
            # Done when it is done: at its due time, if it still holds then (see recheck.py).
            # Until then no second task of the action is planned in that group.
            if kind.scope == SCOPE_GROUP:
                pending = target.marks.get(PENDING)
                if pending is None:
                    pending = target.marks[PENDING] = {}
                pending[pending_key(kind.name, task.group)] = task.due
            self.defer_effect(task, action)
            kind = replace(kind, apply=None)
        if kind.into_group is not None:
            into = self.community.group_id(action.params.get(kind.into_group))
            if into is not None:
                invited = target.marks.get(INVITED)
                if invited is None:
                    invited = target.marks[INVITED] = {}
                invited[into] = task.trigger_at
        if kind.apply is not None and self._has_slot(task, action):
            self._task_effect(task, action, target)

    def defer_effect(self, task: Task, action: ActionSpec) -> None:
        """``task``'s effect happens when it is due (a task an earlier --state run left open,
        reopened, too)."""
        if action.kind.apply is not None and (self._still_pending(task, action) if task.due <= self.run.now else not self._done_before(task, action)):
            self.recheck.effect_at(task, partial(self._effect_due, task, action))
        elif action.kind.keeps_slot and not task.dropped:
            self.planner.slot_for_effect(task)  # done by an earlier run: its slot is taken

    def _done_before(self, task: Task, action: ActionSpec) -> bool:
        """Whether a reopened task listed after now had its effect done by an earlier run: a
        removal is done when due, and pace may list it hours later — past that run's end (its
        member's mark of it is gone, ``_pending``). Done again when listed, she was removed twice
        and her group's tasks due with the second were taken for its own firing's."""
        if action.kind.scope != SCOPE_GROUP or not task.member:
            return False  # (a private action leaves no mark: as planned)
        target = self.run.members.get(task.member)
        pending = target.marks.get(PENDING) if target is not None else None
        return not pending or pending_key(action.kind.name, task.group) not in pending

    def _still_pending(self, task: Task, action: ActionSpec) -> bool:
        """Whether a reopened task due at the very instant the last run's history ended has its
        effect still to come: that run stopped before that instant's effects (the member's mark
        of it is still there). Without a mark (a private action) it is not known: not done twice."""
        if task.due != self.run.now or action.kind.scope != SCOPE_GROUP or not task.member:
            return False
        target = self.run.members.get(task.member)
        pending = target.marks.get(PENDING) if target is not None else None
        return bool(pending) and pending.get(pending_key(action.kind.name, task.group)) == task.due  # type: ignore[union-attr]  # a dict

    def _effect_due(self, task: Task, action: ActionSpec, now: float) -> float | None:
        """``task``'s effect, at ``now``: done if the task is still planned and due, put off to
        its new due time if capacity moved it (returned), forgotten if it was dropped."""
        if not task.dropped and task.due > now:
            self._pending(task, action, task.due)
            return task.due
        self._pending(task, action, None)
        target = self.run.members.get(task.member) if task.member else None
        if not task.dropped and target is not None and self._has_slot(task, action):
            self._task_effect(task, action, target)
        return None

    def _has_slot(self, task: Task, action: ActionSpec) -> bool:
        """Whether ``task``, its effect due now, has its slot on its day (``keeps_slot``); if
        removals due before it took them all, it is dropped here, its effect not done."""
        if not action.kind.keeps_slot:
            return True
        done = self.planner.slot_for_effect(task)
        if done is None:
            return True
        self.planner.drop_for_slots(task, done)
        return False

    def _task_effect(self, task: Task, action: ActionSpec, member: Member) -> None:
        """A planned task's effect on ``member``; a removal's names its firing (``OUT_BY``), so
        that the firing's other tasks (the "先截图" note) are not found stale by it."""
        group = task.group
        by: dict[str, list[Any]] | None = None
        before: list[Any] | None = None
        if group is not None and group in member.groups:
            # Named before it is applied: an `apply` that takes her out of the group tells the
            # re-check at once (``run.remove_from_group`` → ``Recheck.left``), and a removal of
            # another firing that pace lists later must not take this one for its own (she was
            # back in the group since its effect, and is out again by this one).
            by = member.marks.setdefault(OUT_BY, {})
            before = by.get(group)
            by[group] = [f"{task.playbook}/{task.rule}", task.trigger_at]
        applied = self._apply(action, member, group)
        if by is None or group is None:
            return
        out = member.marks.get(OUT_OF)
        # (Taken out by this very effect: not a reward due with the removal, whose effect comes
        # after it at the same instant — the note "先截图" of the removal's firing then found the
        # reward's firing named as the one that removed her, and was dropped as stale.)
        if not (applied and out and out.get(group) == self.run.now):
            if before is not None:  # it did not take her out: named as before
                by[group] = before
            else:
                del by[group]
                if not by:
                    del member.marks[OUT_BY]
            return
        if self.recheck.at_once_t == self.run.now:
            self.recheck.left_at_once(member)  # its tasks due at this instant, kept at once, are not sent

    def _pending(self, task: Task, action: ActionSpec, due: float | None) -> None:
        """The member's mark of ``task``'s effect to come: moved to ``due``, or cleared (None)."""
        if action.kind.scope != SCOPE_GROUP or not task.member:
            return
        target = self.run.members.get(task.member)
        pending = target.marks.get(PENDING) if target is not None else None
        if not pending:
            return
        key = pending_key(action.kind.name, task.group)
        if due is not None:
            pending[key] = due
        else:
            pending.pop(key, None)
            if not pending:
                del target.marks[PENDING]  # type: ignore[union-attr]  # found above

    def _apply(self, action: ActionSpec, member: Member, group: str | None) -> bool:
        """The action's state change on ``member``; False when there is none or nothing changed
        (a tag already held): then no new revision, and nothing to explain."""
        if action.kind.apply is None:
            return False
        if self.recheck.frozen and member.id in self.recheck.frozen:
            self.recheck.before_change(member)  # texts still to be written keep the values before it
        if action.kind.apply(self.run, member, action.params, group) is False:
            return False
        member.revision += 1
        return True

    def _refusal(self, rule: Rule, kind: ActionType, params: dict[str, Any], member: Member, group: str | None) -> tuple[str, Callable[[], str]] | None:
        """Why a task of ``kind`` about ``member`` in ``group`` must not be planned — the
        guardrail and the operator-readable reason — or None. A member not seen in any group
        yet (first seen when mentioned) is taken to be where the task is."""
        scope = kind.scope
        if scope is not None and (rule.key not in self._about_leaving or _reaches_in_group(kind)):
            if scope == SCOPE_GROUP:
                if group is not None and group not in member.groups and (member.groups or member.left):
                    return NOT_IN_GROUP, partial(self._not_in_group, member, group)
            elif member.left:
                return LEFT_COMMUNITY, partial(_left_community, member, self.notes.says)
        if kind.apply is not None and scope == SCOPE_GROUP:
            pending = member.marks.get(PENDING)
            due = pending.get(pending_key(kind.name, group)) if pending else None
            if due is not None and due >= self.run.now:
                return PLANNED_ALREADY, partial(self._planned_already, member, kind.name, group, due)
        if kind.into_group is not None:
            into = self.community.group_id(params.get(kind.into_group))
            if into is None:
                return None
            if into in member.groups:
                return IN_GROUP, partial(self._in_group, member, into)
            out, removed = member.marks.get(OUT_OF), member.marks.get(REMOVED)
            if (out and into in out) or (removed and into in removed):
                # The plan, or the group's admins, removed them from it: not asked back, until they join it again.
                return NOT_IN_GROUP, partial(self._not_in_group, member, into)
            invited = member.marks.get(INVITED)
            if invited and into in invited:
                return INVITED_ALREADY, partial(self._invited, member, into, invited[into])
        return None

    def _twice(self, tasks: list[tuple[Task, ActionSpec]], kind: ActionType, member: Member, group: str | None) -> tuple[str, Callable[[], str]] | None:
        """A second task of this firing with the same effect on ``member`` in ``group`` (a rule
        that says `remove` twice): its effect happens once, with the first — the operator is not
        told to remove her again, and the day's slots are not taken twice."""
        for task, _ in tasks:
            if task.action == kind.name and task.member == member.id and task.group == group:
                return PLANNED_ALREADY, partial(self._planned_twice, member, kind.name, group, task.id)
        return None

    def _planned_twice(self, member: Member, action: str, group: str | None, task_id: str) -> str:
        return self.notes.says.planned_twice.format(action=self.notes.actions.get(action, action), name=_name(member), group=self._group_name(group) if group else self.notes.says.the_group, id=task_id)

    def _group_name(self, group: str) -> str:
        """The name operators know the group by: community.yaml's, else the export's, else its id."""
        return group_name(self.run.groups, self.community.group_names, group)

    def _not_in_group(self, member: Member, group: str) -> str:
        out, removed = member.marks.get(OUT_OF), member.marks.get(REMOVED)
        if out and group in out:
            since = self.notes.says.removed_at.format(at=self.run.local.text(out[group]))
        elif removed and group in removed:
            since = self.notes.says.removed_in_history.format(at=self.run.local.text(removed[group]))
        else:
            since = ""
        return self.notes.says.not_in_group.format(name=_name(member), group=self._group_name(group), since=since)

    def _planned_already(self, member: Member, action: str, group: str | None, due: float) -> str:
        return self.notes.says.planned_already.format(action=self.notes.actions.get(action, action), name=_name(member), group=self._group_name(group) if group else self.notes.says.the_group, due=self.run.local.text(due))

    def _in_group(self, member: Member, group: str) -> str:
        return self.notes.says.in_group.format(name=_name(member), group=self._group_name(group))

    def _invited(self, member: Member, group: str, t: float) -> str:
        return self.notes.says.invited.format(name=_name(member), group=self._group_name(group), at=self.run.local.text(t))

    def _add_tasks(self, tasks: list[tuple[Task, ActionSpec]], rule: Rule, action: ActionSpec, firing: Firing, group: str | None, context: dict[str, Any], held: list[str], check: bool, refused: list[tuple[Task | None, str, str | Callable[[], str]]]) -> None:
        """Add to ``tasks`` the action's task for each member it targets, its text rendered;
        with ``check``, refuse those whose member is not where the action needs them (each added
        to ``refused``: the task, if it was built, the guardrail and the reason)."""
        kind = action.kind
        member = firing.member
        planner = self.planner
        named = _target(action)
        for target in self._targets(action, named, firing) if named else (member,):
            refusal = self._refusal(rule, kind, action.params, target, group) if check and target is not None else None
            if refusal is None and tasks and kind.apply is not None and kind.scope == SCOPE_GROUP and target is not None:
                refusal = self._twice(tasks, kind, target, group)
            if refusal is not None and not planner.keep_suppressed:
                planner.suppress_unmade(refusal[0], 1, rule.playbook, firing.t + rule.delay)  # nobody reads its text: not rendered
                refused.append((None, *refusal))
                continue
            about = firing if target is member else replace(firing, member=target)
            target_context = context if target is member else self.conditions.context(rule, about, group)
            task = self.task(rule, action.index, kind.name, about, self._task_group(rule, kind, target, group), "", action.params)
            # Its text is written when it is kept, with the values of its due time (see recheck.py).
            task.source = Source(rule, about, group, action, target_context)
            task.render = self._render_text
            if held:
                task.because = held
            if refusal is not None:
                planner.refuse(task, *refusal)
                refused.append((task, *refusal))
                continue
            tasks.append((task, action))

    def _render(self, task: Task) -> bool:
        """Write ``task``'s text from the values it keeps (``Task.render``); False if it fails.

        A task written only to be explained (the planner is ``explaining`` why it is dropped)
        changes nothing a plan without --explain would not: its text variant is not recorded,
        no values are kept for it, nothing is said of its text, and it can still be written for
        real if it goes out after all (a part merged into a message)."""
        explaining = self.planner.explaining
        if not explaining:
            task.render = None
        source: Source = task.source
        action, firing = source.action, source.firing
        kind = action.kind
        try:
            template = action.text
            if isinstance(template, Variants):
                template = template.texts[self._variant(task, action, len(template.texts), record=not explaining)]
            context = self.recheck.context_of(source) if not explaining else self.recheck.context_now(source)
            text = template.render(context) if template is not None else kind.describe(action.params, self.community.language)
        except Exception as exc:  # one bad template skips one task, never the run
            if not explaining:
                self.notes.error(source.rule.key, firing, f"text of `{kind.name}` failed: {exc}")
            return False
        task.text = text
        if explaining:
            return True
        self.rendered += 1
        limit = self._max_length(task.channel)
        if len(text) > limit:
            self.notes.too_long(source.rule.key, firing, self.notes.says.too_long.format(action=kind.name, length=len(text), limit=limit, channel=task.channel))
        return True

    def reads_alike(self, part: Task, message: Task) -> bool:
        """Whether ``part``, checked after its member wrote, holds and reads the same with its
        member as they were when ``message`` (due earlier that day) was kept: then it may go in
        that message; else it tells of what came after it."""
        then = self.recheck.member_as_kept(message)
        source: Source | None = part.source
        if then is None or source is None:
            return False
        own = self.recheck.context_of(source)
        context = own | {"member": then}
        if "now" in own:
            context["now"] = datetime.fromtimestamp(message.due, self.community.tz)
        action = source.action
        template = action.text
        try:
            if not all(condition.test(context) for condition in source.rule.conditions):
                return False
            if template is None:
                return True
            if isinstance(template, Variants):
                template = template.texts[self._variant(part, action, len(template.texts), record=False)]
            return bool(template.render(context) == template.render(own))
        except Exception:  # broad: a text or condition that fails with those values is not alike
            return False

    def _variant(self, task: Task, action: ActionSpec, count: int, record: bool = True) -> int:
        """Which of an action's ``count`` texts ``task`` uses: the one after the last its target
        (member, or group for a task about no member) got from it on an earlier day, starting at
        a place the target's id chooses; tasks of one day share one (a task written again, as
        one reopened by a later --state run, keeps its words). Kept in the state (``record``:
        False for a task written only to be explained)."""
        key = f"{task.playbook}/{task.rule}#{action.index}|{task.member or task.group or ''}"
        day = self.run.local.day(task.due)
        turns = self.run.store(VARIANTS)
        last = turns.get(key)
        if record and self._turns_before is not None and key not in self._turns_before:
            self._turns_before[key] = _NOT_HELD if last is None else last
        if last is not None and last[0] == day:
            index = int(last[1]) % count
        elif last is not None:
            index = (int(last[1]) + 1) % count
        else:
            index = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % count
        if record:
            turns[key] = [day, index]
        return index

    def keep_turns(self, payloads: list[dict[str, Any]]) -> None:
        """The tasks an earlier run left open that stay as it printed them (marked, delivered):
        not written again, they still took their text's turn — recorded as when they were
        written (the store is as that run left it), so the next post rotates on."""
        rules = {rule.key: rule for rule in self.config.rules}
        for payload in payloads:
            for item in (payload, *payload.get("parts", ())):
                rule = rules.get(item["rule"])
                action = rule.action_at(item["action"]) if rule is not None else None
                if rule is None or action is None or not isinstance(action.text, Variants):
                    continue
                self._variant(SimpleNamespace(playbook=rule.playbook, rule=rule.id, member=item["member"], group=item["group"], due=payload["due"]), action, len(action.text.texts))  # type: ignore[arg-type]  # what _variant reads of a task

    def history_ended(self) -> None:
        """The history has ended: the variants given from now on are kept only until
        ``forget_open_turns`` (see ``_turns_before``)."""
        self._turns_before = {}

    def forget_open_turns(self) -> None:
        """The variants given to the tasks of the days the history left open, taken out of the
        store the state saves: the next run, settling those days again, gives them again (the
        same, to a task it keeps) — as one run over the whole history gives them once."""
        if not self._turns_before:
            return
        turns = self.run.store(VARIANTS)
        for key, before in self._turns_before.items():
            if before is _NOT_HELD:
                turns.pop(key, None)
            else:
                turns[key] = before
        self._turns_before = None

    def _task_group(self, rule: Rule, kind: ActionType, member: Member | None, group: str | None) -> str | None:
        """The group a task goes to: the firing's — but a private task about a member no longer
        there goes to a group they are in (its operator looks after them now)."""
        if kind.scope == SCOPE_PRIVATE and member is not None and group not in member.groups and member.groups and rule.key not in self._about_leaving:
            return member.group if member.group in member.groups else min(member.groups)
        return group

    def _targets(self, action: ActionSpec, name: str, firing: Firing) -> list[Member]:
        """The members of a target the action declares, other than the firing's member
        (``target: mentioned``: each member the message mentions), staff left out."""
        staff = self.community.staff  # staff are never a task's member, mentioned or not
        return [target for target in action.kind.targets[name](self.run, firing) if target.id not in staff]

    def _max_length(self, channel: str) -> float:
        limit = self._max_lengths.get(channel)
        if limit is None:
            known = self.config.registry.channels.get(channel)
            limit = self._max_lengths[channel] = known.max_length if known is not None else float("inf")
        return limit

    def task(self, rule: Rule, index: int, action: str, firing: Firing, group: str | None, text: str, params: dict[str, Any], member_name: str | None = None) -> Task:
        """The task of ``action`` for ``firing``, its member named as they are now (``member_name``:
        as they were when it was planned, for one a later run makes again)."""
        member = firing.member
        if member is not None:
            subject = member.id
            member_name = member_name or member.name or subject
        else:
            subject, member_name = f"group:{group}", None
        channel = self.conditions.channel_name(rule, group)
        t = firing.t
        seconds = self._deadlines[rule.key]
        deadline = t + seconds if seconds is not None else self._local.midnight(self._local.day(t) + 1)
        # Task's fields in order (positional: a task is built for every tasks' firing, and
        # keyword arguments cost a dataclass twice as much). Its reason and "how" are written
        # when it is planned; until then a partial holds what they need: a long run keeps a
        # busy day's offers until the day is settled, and a closure would be a dozen objects
        # more for the cycle collector to walk each time.
        return Task(
            task_id(rule, index, subject, t, self._cause(firing.event)), t + rule.delay, rule.playbook, rule.id, action, channel, group,
            member.id if member else None, member_name, self.planner.assignee_for(rule, group), rule.priority, text, "", t,
            # Among a fan-out's tasks due together (a festival's greetings, a schedule's), those
            # of members who wrote more come first when capacity is short, not the smaller ids.
            (rule.order, index, -member.messages if member else 0, subject), {key: value for key, value in params.items() if key != "target"} if params else {}, deadline,
            details=partial(self._task_details, channel, action, group, member_name or "", firing.reason),
        )

    def _details(self, channel: str, action: str, group: str | None, member_name: str, reason: str | Callable[[], str], text: str) -> tuple[str, str]:
        """A task's reason and the operator's instruction on its channel."""
        return (reason if isinstance(reason, str) else reason()), self._how(channel, action, group, member_name, text)

    def _how(self, channel: str, action: str, group: str | None, member_name: str, text: str) -> str:
        plugin_channel = self.config.registry.channels.get(channel)
        return plugin_channel.how_to(action, self._group_name(group) if group is not None else None, member_name, text, self.community.language) if plugin_channel else text

    def _instruction(self, task: Task) -> str:
        """The operator's instruction for ``task`` as it is now (a merged message's whole text),
        naming the other actions its parts carry: a reward message that also invites to the
        seed group says so where the operator reads what to do."""
        how = self._how(task.channel, task.action, task.group, task.member_name or "", task.text)
        others = [action for action in dict.fromkeys(part["action"] for part in task.parts) if action != task.action]
        if not others:
            return how
        names = self.community.action_names
        also = self.planner.says.explain.also.format(actions=self.planner.says.plan.list_separator.join(names.get(action, action) for action in others))
        return noted_before_text(how, task.text, also)

    def _cause(self, event: Event | None) -> str:
        """What distinguishes the event behind a firing (see ``cause``), once per event: a
        fan-out gives every member of a group a task from the same event."""
        if event is None:
            return ""
        if event.id:
            return event.id
        known, cause_text = self._last_cause
        if known is not event:
            cause_text = cause(event)
            self._last_cause = (event, cause_text)
        return cause_text


def _changed_fields(actions: list[ActionSpec]) -> frozenset[str] | None:
    """The member fields state-only ``actions`` changed, as each declares it: its `tags` value,
    or the attribute its text writes (`set`); None when one does not say (a plugin's)."""
    fields = set()
    for action in actions:
        if action.kind.value_key == "tags":
            fields.add("tags")
        elif action.kind.text_in_apply:
            fields.add("attributes")
        else:
            return None
    return frozenset(fields)


def _deadline_seconds(rule: Rule) -> int | None:
    """How long after the trigger instant the rule's tasks may be due (None: to the end of that local day)."""
    if rule.deadline is not None:
        return rule.deadline
    default = rule.trigger.default_deadline
    return None if default == "day" else parse_duration(default)


def _name(member: Member) -> str:
    return member.name or member.id


def _left_community(member: Member, says: ExplainWords) -> str:
    return says.left_community.format(name=_name(member))


def _target(action: ActionSpec) -> str | None:
    """The target an action's ``target:`` option names, if other than the firing's member."""
    name = action.params.get("target")
    return None if name in (None, "member") else name


def _describe_change(action: ActionSpec, says: ExplainWords, actions: Mapping[str, str], member: Member) -> str:
    """What a state-only action did, as --explain shows it when it happens: its values; for one
    that writes an attribute from a template (`set`), the value written, not the template."""
    attribute = action.params.get("attribute")
    if action.kind.text_in_apply and isinstance(attribute, str):
        shown = f"{attribute} = {member.attributes.get(attribute)}"
    else:
        shown = ", ".join(", ".join(value) if isinstance(value, list) else str(value) for value in action.params.values())
    return says.changed.format(action=actions.get(action.kind.name, action.kind.name), values=shown).strip()


def cause(event: Event | None) -> str:
    """What distinguishes the event behind a firing: its id, else its content."""
    if event is None:
        return ""
    if event.id:
        return event.id
    return hashlib.sha1(json.dumps(event.raw, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:12]
