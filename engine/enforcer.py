"""Stage 3 of a rule's evaluation — enforce: a matched rule's actions become tasks, offered to the
planner's guardrails, and the effects of the tasks it keeps happen.

The key is the task's member: its texts are rendered from that member's view, the planner
checks that member's cooldowns and limits (and the assignee's capacity: the operator's key),
and an accepted action changes that member only (``reward`` adds points, ``remove`` takes
them out of the group, ``tag`` tags them). Whom an action's task is about is the firing's
member unless the action names another target it declares (``target: mentioned``): the
enforcer knows actions only through what ``ActionType`` declares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from playbook_engine.conditions import Conditions
from playbook_engine.contract import Event, Firing, Member, Run, Task
from playbook_engine.model import ActionSpec, Config, Rule
from playbook_engine.notes import Notes
from playbook_engine.planner import Planner, task_id


class Enforcer:
    """Turns matched rules into tasks for the planner and applies what the planner keeps."""

    def __init__(self, config: Config, run: Run, planner: Planner, conditions: Conditions, notes: Notes):
        self.config = config
        self.community = config.community
        self.run = run
        self.planner = planner
        self.conditions = conditions
        self.notes = notes
        # Rules whose tasks are all about the firing's member: a cooldown the planner would
        # apply to every one of them is known before any text is rendered.
        self._to_member = {rule.key for rule in config.rules if all(not _target(action) for action in rule.actions)}
        self._max_lengths: dict[str, float] = {}
        self._last_cause: tuple[Event | None, str] = (None, "")
        self._task_details = self._details  # one bound method for every task's partial

    def enforce(self, rule: Rule, firing: Firing, group: str | None, context: dict[str, Any], held: list[str]) -> None:
        """Plan the tasks of a rule whose conditions held, and apply the effects of those kept."""
        member = firing.member
        if rule.once and member is not None:
            member.marks[rule.once_key] = firing.t
        self.notes.counts["matched"] += 1
        if member is not None and rule.key in self._to_member and not self.planner.keep_suppressed and self.planner.cooling(rule, member.id, firing.t):
            # The planner will refuse every task of this firing: do not render texts nobody reads.
            unmade = sum(1 for action in rule.actions if action.kind.makes_task)
            if unmade:
                self.planner.suppress_unmade("cooldown", unmade)
                return
        tasks: list[tuple[Task, ActionSpec]] = []
        changes = []
        for action in rule.actions:
            if action.kind.makes_task:
                self._add_tasks(tasks, rule, action, firing, group, context, held)
            else:
                changes.append(action)
        accepted = self.planner.offer([task for task, _ in tasks], rule) if tasks else []
        if accepted:  # the effects of the planned tasks' actions, each on the task's member
            planned = set(map(id, accepted))
            for task, action in tasks:
                if action.kind.apply is not None and id(task) in planned:
                    target = self.run.members.get(task.member) if task.member else None
                    if target is not None:
                        action.kind.apply(self.run, target, action.params, group)
                        target.revision += 1
        # State changes (tags) go with the rule's tasks: a warning that was suppressed did not
        # happen, so the member is not tagged as warned.
        if member is not None and (accepted or not tasks):
            for action in changes:
                if action.kind.apply is not None:
                    action.kind.apply(self.run, member, action.params, group)
                    member.revision += 1
                    self.notes.changed(rule.key, firing, partial(_describe_change, action))

    def _add_tasks(self, tasks: list[tuple[Task, ActionSpec]], rule: Rule, action: ActionSpec, firing: Firing, group: str | None, context: dict[str, Any], held: list[str]) -> None:
        """Add to ``tasks`` the action's task for each member it targets, its text rendered."""
        kind = action.kind
        member = firing.member
        name = action.params.get("target")
        for target in (member,) if name is None or name == "member" else self.targets(action, firing):
            about = firing if target is member else replace(firing, member=target)
            target_context = context if target is member else self.conditions.context(rule, about, group)
            try:
                text = action.text.render(target_context) if action.text is not None else (kind.summary(action.params) if kind.summary else kind.name)
            except Exception as exc:  # one bad template skips one action, never the run
                self.notes.error(rule.key, firing, f"text of `{kind.name}` failed: {exc}")
                continue
            task = self.task(rule, action.index, kind.name, about, group, text, action.params)
            if held:
                task.because = held
            limit = self._max_length(task.channel)
            if len(text) > limit:
                self.notes.error(rule.key, firing, f"text of `{kind.name}` is {len(text)} characters, more than the {limit} `{task.channel}` allows: planned anyway, split it before sending")
            tasks.append((task, action))

    def targets(self, action: ActionSpec, firing: Firing) -> list[Member | None]:
        """Whom an action's task is about: the firing's member, or the members of a target the
        action declares (``target: mentioned``: each member the message mentions), staff left out."""
        name = _target(action)
        if not name:
            return [firing.member]
        staff = self.community.staff  # staff are never a task's member, mentioned or not
        return [target for target in action.kind.targets[name](self.run, firing) if target is None or target.id not in staff]

    def _max_length(self, channel: str) -> float:
        limit = self._max_lengths.get(channel)
        if limit is None:
            known = self.config.registry.channels.get(channel)
            limit = self._max_lengths[channel] = known.max_length if known is not None else float("inf")
        return limit

    def task(self, rule: Rule, index: int, action: str, firing: Firing, group: str | None, text: str, params: dict[str, Any]) -> Task:
        member = firing.member
        if member is not None:
            subject = member.id
            member_name: str | None = member.name or subject
        else:
            subject, member_name = f"group:{group}", None
        channel = self.conditions.channel_name(rule, group)
        t = firing.t
        # Task's fields in order (positional: a task is built for every tasks' firing, and
        # keyword arguments cost a dataclass twice as much). Its reason and "how" are written
        # when it is planned; until then a partial holds what they need: a long run keeps a
        # busy day's offers until the day is settled, and a closure would be a dozen objects
        # more for the cycle collector to walk each time.
        return Task(
            task_id(rule, index, subject, t, self._cause(firing.event)), t + rule.delay, rule.playbook, rule.id, action, channel, group,
            member.id if member else None, member_name, self.planner.assignee_for(rule, group), rule.priority, text, "", t,
            (rule.order, index, subject), {key: value for key, value in params.items() if key != "target"} if params else {},
            details=partial(self._task_details, channel, action, group, member_name or "", text, firing.reason),
        )

    def _details(self, channel: str, action: str, group: str | None, member_name: str, text: str, reason: str | Callable[[], str]) -> tuple[str, str]:
        """A task's reason and the operator's instruction on its channel."""
        plugin_channel = self.config.registry.channels.get(channel)
        how = plugin_channel.how_to(action, self.community.group_names.get(group or "", group), member_name, text) if plugin_channel else text
        return (reason if isinstance(reason, str) else reason()), how

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


def _target(action: ActionSpec) -> str | None:
    """The target an action's ``target:`` option names, if other than the firing's member."""
    name = action.params.get("target")
    return None if name in (None, "member") else name


def _describe_change(action: ActionSpec) -> str:
    shown = ", ".join(", ".join(value) if isinstance(value, list) else str(value) for value in action.params.values())
    return f"{action.kind.name} {shown}".strip()


def cause(event: Event | None) -> str:
    """What distinguishes the event behind a firing: its id, else its content."""
    if event is None:
        return ""
    if event.id:
        return event.id
    return hashlib.sha1(json.dumps(event.raw, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:12]
