"""The words the engine itself writes in a plan, in each language of ``community.language``.

The plan's texts are the playbooks' own; what frames them — titles, counts, weekday names,
priorities, column names — is written here, so that an operator who reads Chinese reads Chinese
from the first line to the last. JSON records keep their field names (programs read them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from playbook_engine.durations import format_duration

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


@dataclass(frozen=True)
class ReasonWords:
    """A task's reason as the built-in triggers write it (``why``): what happened, and when."""

    silent: str  # "{duration}", "{since}", "{spoke}"
    spoke: Mapping[str, str]  # "last message" / "join": what the silence counts from
    joined: str  # "{duration}", "{at}"
    stage: str  # "{stage}", "{previous}", "{at}"
    previous: str  # "{previous}"
    event: str  # "{type}", "{at}"
    keyword: str  # "{keyword}"
    match: str  # "{match}"
    activity: str  # "{how}", "{activity}", "{at}"
    took_part: Mapping[bool, str]
    top: str  # "{count}", "{window}", "{group}", "{names}"
    rank: str  # "{rank}", "{window}", "{group}", "{value}"
    window: str  # "{metric}", "{days}"
    milestone: str  # "{metric}", "{threshold}"
    schedule: str  # "{cron}", "{at}"
    holiday: str  # "{name}", "{date}"
    unanswered: str  # "{duration}", "{snippet}", "{at}"
    became: str  # "{condition}", "{shown}"
    shown: str  # "{shown}"
    events: Mapping[str, str]  # event type → its name
    metrics: Mapping[str, str]  # leaderboard metric → its name
    units: tuple[tuple[int, str], ...]  # (seconds, unit) largest first, for durations


_UNITS_EN = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))

REASON_WORDS: dict[str, ReasonWords] = {
    "en": ReasonWords(
        silent="silent {duration} since {since} ({spoke})",
        spoke={"last message": "last message", "join": "join"},
        joined="joined {duration} ago ({at})",
        stage="entered stage {stage}{previous} at {at}",
        previous=" from {previous}",
        event="{type} at {at}",
        keyword=" containing “{keyword}”",
        match=" matching “{match}”",
        activity="{how} activity {activity} (ended {at})",
        took_part={True: "took part in", False: "did not take part in"},
        top="top {count} by {window} in {group}: {names}",
        rank="#{rank} by {window} in {group} ({value})",
        window="{metric} over {days}d",
        milestone="{metric} reached {threshold}",
        schedule="schedule `{cron}` at {at}",
        holiday="holiday {name} ({date})",
        unanswered="question unanswered for {duration}: “{snippet}” ({at})",
        became="`{condition}` became true{shown}",
        shown=" ({shown})",
        events={},
        metrics={},
        units=_UNITS_EN,
    ),
    "zh-CN": ReasonWords(
        silent="已沉默 {duration}，自 {since}（{spoke}）起",
        spoke={"last message": "最后一次发言", "join": "入群"},
        joined="入群 {duration}（{at}）",
        stage="{at} 进入{stage}{previous}",
        previous="（此前：{previous}）",
        event="{at} {type}",
        keyword="，含“{keyword}”",
        match="，符合“{match}”",
        activity="{how}活动 {activity}（{at} 结束）",
        took_part={True: "参加了", False: "没有参加"},
        top="{group} {window}前 {count} 名：{names}",
        rank="{group} {window}第 {rank} 名（{value}）",
        window="近 {days} 天{metric}",
        milestone="{metric}达到 {threshold}",
        schedule="定时 `{cron}`，{at}",
        holiday="节日：{name}（{date}）",
        unanswered="提问 {duration}没人回复：“{snippet}”（{at}）",
        became="`{condition}` 成立{shown}",
        shown="（{shown}）",
        events={
            "message": "发言", "member_joined": "入群", "member_left": "退群", "reaction": "表情回应", "profile": "资料更新",
            "purchase": "购买", "activity_joined": "报名活动", "activity_started": "活动开始", "activity_ended": "活动结束",
        },
        metrics={"messages": "发言数", "active_days": "活跃天数", "reactions": "表情回应数", "points": "积分", "replies": "回复数", "mentions": "被@次数"},
        units=((86400, " 天"), (3600, " 小时"), (60, " 分钟"), (1, " 秒")),
    ),
}


def reason_words(language: str | None) -> ReasonWords:
    return REASON_WORDS.get(language or "en", REASON_WORDS["en"])


def duration_text(seconds: int, words: ReasonWords) -> str:
    """``3d``, ``1d12h`` in English (as playbooks write them); ``3 天``, ``1 天 12 小时`` in Chinese."""
    if words.units is _UNITS_EN:
        return format_duration(seconds)
    parts = []
    left = int(seconds)
    for size, unit in words.units:
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if not parts:
        return f"0{words.units[-1][1]}"
    return ("" if words.units is _UNITS_EN else " ").join(parts)
