"""Planning: turning proposed actions into operator tasks, under the guardrails.

The evaluation offers each proposed task as it happens, in event-time order; the planner
accepts it or records why not. ``finish()`` returns the plan in output order. Nothing is sent
anywhere: a dry run is simply printing the plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.model import PRIORITY_RANK, Community, Rule

TASK_FIELDS = ("id", "due", "playbook", "rule", "action", "channel", "group", "member", "member_name", "assignee", "priority", "text", "reason")


@dataclass
class Task:
    """One planned operator task. ``due`` and ``trigger_at`` are epoch seconds."""

    id: str
    due: float
    playbook: str
    rule: str
    action: str
    channel: str
    group: str | None
    member: str | None
    member_name: str | None
    assignee: str | None
    priority: str
    text: str
    reason: str
    trigger_at: float
    order: tuple[Any, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    how: str = ""  # what the operator does by hand on this channel

    def record(self, tz: ZoneInfo) -> dict[str, Any]:
        """The task as the spec's output record (plus ``params`` when the action has any)."""
        values = {name: getattr(self, name) for name in TASK_FIELDS}
        values["due"] = datetime.fromtimestamp(self.due, tz).isoformat(timespec="seconds")
        if self.params:
            values["params"] = self.params
        return values


@dataclass
class Suppressed:
    task: Task
    guardrail: str
    reason: str


def task_id(rule: Rule, action_index: int, subject: str, trigger_at: float) -> str:
    """Stable across runs: the same rule, action, member/group and trigger instant give the same id."""
    key = f"{rule.playbook}\x1f{rule.id}\x1f{action_index}\x1f{subject}\x1f{trigger_at:.3f}"
    return "t-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


class Planner:
    def __init__(self, community: Community, *, start: float | None = None):
        self.community = community
        self.start = start
        self.tasks: list[Task] = []
        self.suppressed: list[Suppressed] = []
        self._group_operator: dict[str, str] = {}
        for operator in community.operators:
            for group in operator.groups:
                self._group_operator.setdefault(group, operator.id)
        catch_all = [operator.id for operator in community.operators if not operator.groups]
        self._default_operator = catch_all[0] if catch_all else (community.operators[0].id if community.operators else None)

    def assignee_for(self, rule: Rule, group: str | None) -> str | None:
        if rule.assignee:
            return rule.assignee
        if group is not None and group in self._group_operator:
            return self._group_operator[group]
        return self._default_operator

    def offer(self, task: Task, rule: Rule) -> Suppressed | None:
        """Accept ``task`` into the plan, or return why it is suppressed."""
        if self.start is not None and task.trigger_at < self.start:
            return self._suppress(task, "window", "triggered before --from (history used for state only)")
        self.tasks.append(task)
        return None

    def _suppress(self, task: Task, guardrail: str, reason: str) -> Suppressed:
        item = Suppressed(task, guardrail, reason)
        self.suppressed.append(item)
        return item

    def finish(self) -> list[Task]:
        """The plan in output order: by due time, then priority, then playbook and rule order."""
        return sorted(self.tasks, key=lambda task: (task.due, -PRIORITY_RANK[task.priority], task.order, task.id))
