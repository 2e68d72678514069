"""The words the engine itself writes in a plan, in each language of ``community.language``.

The plan's texts are the playbooks' own; what frames them — titles, counts, weekday names,
priorities, column names — is written here, so that an operator who reads Chinese reads Chinese
from the first line to the last. JSON records keep their field names (programs read them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class PlanWords:
    """The words of a plan written for people (``table``, ``md``)."""

    title: str  # "{community}"
    no_tasks: str
    one_task: str  # "{count}"
    tasks: str  # "{count}"
    pressing: str  # "{count}", "{priority}": one part of "(1 urgent, 2 high)"
    list_separator: str
    brackets: tuple[str, str]
    priorities: Mapping[str, str]  # as the table's priority column and md's mark show them
    weekdays: tuple[str, ...]
    why: str  # before the rule and its reason, in a Markdown item
    group: str  # "{group}": the subject of a task about no member
    everyone: str
    unassigned: str
    columns: Mapping[str, str]  # time, priority, member, what to do, why

    def count(self, count: int, priorities: Mapping[str, int]) -> str:
        """'7 tasks (1 urgent, 2 high)' / '7 个任务（紧急 1，高 2）': how many, and how many cannot wait."""
        text = (self.one_task if count == 1 else self.tasks).format(count=count)
        pressing = self.list_separator.join(self.pressing.format(count=priorities[name], priority=self.priorities[name]) for name in ("urgent", "high") if priorities.get(name))
        return text + (f"{self.brackets[0]}{pressing}{self.brackets[1]}" if pressing else "")


PLAN_WORDS: dict[str, PlanWords] = {
    "zh-CN": PlanWords(
        title="{community}：待办任务",
        no_tasks="没有安排任务。",
        one_task="{count} 个任务",
        tasks="{count} 个任务",
        pressing="{priority} {count}",
        list_separator="，",
        brackets=("（", "）"),
        priorities={"urgent": "紧急", "high": "高", "normal": "", "low": "低"},
        weekdays=WEEKDAYS_ZH,
        why="原因：",
        group="群 {group}",
        everyone="全体",
        unassigned="未分配",
        columns={"time": "时间", "priority": "优先级", "member": "成员", "what to do": "做什么", "why": "原因"},
    ),
    "en": PlanWords(
        title="{community}: planned tasks",
        no_tasks="No tasks planned.",
        one_task="{count} task",
        tasks="{count} tasks",
        pressing="{count} {priority}",
        list_separator=", ",
        brackets=(" (", ")"),
        priorities={"urgent": "urgent", "high": "high", "normal": "", "low": "low"},
        weekdays=WEEKDAYS_EN,
        why="why: ",
        group="group {group}",
        everyone="everyone",
        unassigned="unassigned",
        columns={"time": "time", "priority": "priority", "member": "member", "what to do": "what to do", "why": "why"},
    ),
}


def plan_words(language: str | None) -> PlanWords:
    return PLAN_WORDS.get(language or "en", PLAN_WORDS["en"])
