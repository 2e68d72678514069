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
    group_age: str  # "{days}", "{since}", "{at}"
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
        group_age="group {days} days old (counted from {since}), {at}",
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
        group_age="群龄 {days} 天（自 {since} 起），{at}",
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


@dataclass(frozen=True)
class SummaryWords:
    """The run's closing summary (standard error): what was read, planned and held back."""

    read: str  # "{read}", "{accepted}", "{rejected}"
    before_watermark: str  # "{count}"
    after_until: str  # "{count}"
    planned: str  # "{count}"
    suppressed: str  # "{count}"
    moved: str
    staff: str  # "{count}"
    orphans: str  # "{count}", "{names}"
    withdrawn: str  # "{count}", "{ids}"
    displaced: str  # "{count}", "{ids}"
    revised: str  # "{count}", "{ids}"
    duplicates: str  # "{count}"
    history_only: str  # "{count}"
    by_stage: str
    by_playbook: str
    by_day: str
    more_days: str  # "{count}"
    errors: str  # "{count}"
    too_long: str  # "{count}"
    separator: str
    brackets: tuple[str, str]
    reasons: Mapping[str, str]  # a guardrail or move, by its id (docs/why-dropped.md), as the summary names it


SUMMARY_WORDS: dict[str, SummaryWords] = {
    "en": SummaryWords(
        read="read {read} events: {accepted} accepted, {rejected} rejected",
        before_watermark=", {count} already processed (--state watermark)",
        after_until=", {count} after --until",
        planned=" · {count} tasks planned",
        suppressed=" · {count} suppressed",
        moved=" · moved: ",
        staff=" · {count} firing(s) about staff skipped",
        orphans=" · {count} timer(s) of rules no longer in the playbooks dropped ({names})",
        withdrawn=" · {count} planned by an earlier run withdrawn as stale ({ids}): do not send them",
        displaced=" · {count} planned by an earlier run displaced by higher-priority tasks ({ids}): do not send them",
        revised=" · {count} planned by an earlier run printed again changed ({ids}): the new version replaces the old",
        duplicates=" · {count} duplicate message{s} (same id) kept once",
        history_only=" · {count} before --from not shown",
        by_stage="  members by stage: ",
        by_playbook="  tasks by playbook: ",
        by_day="  tasks by day: ",
        more_days=", … ({count} more days)",
        errors="  {count} rule evaluation(s) failed and were skipped — run with --explain to see them",
        too_long="  {count} planned task text(s) longer than the channel allows — split them before sending (--explain names them)",
        separator=", ",
        brackets=(" (", ")"),
        reasons={},
    ),
    "zh-CN": SummaryWords(
        read="读取 {read} 条事件：接受 {accepted}，拒绝 {rejected}",
        before_watermark="，{count} 条已处理过（--state 水位线）",
        after_until="，{count} 条在 --until 之后",
        planned=" · 计划任务 {count} 个",
        suppressed=" · 未安排 {count} 个",
        moved=" · 顺延：",
        staff=" · 跳过关于员工的触发 {count} 次",
        orphans=" · 丢弃已删除规则的计时器 {count} 个（{names}）",
        withdrawn=" · 之前的运行列出的 {count} 个任务已不成立、撤回（{ids}）：不要发送",
        displaced=" · 之前的运行列出的 {count} 个任务被更紧急的任务挤出（{ids}）：不要发送",
        revised=" · 之前的运行列出的 {count} 个任务有改动、重新列出（{ids}）：以新版本为准",
        duplicates=" · 重复消息（id 相同）{count} 条，只计一次",
        history_only=" · {count} 个在 --from 之前，未列出",
        by_stage="  各阶段成员：",
        by_playbook="  各剧本任务：",
        by_day="  每天任务：",
        more_days="，…（另有 {count} 天）",
        errors="  {count} 次规则判断出错、已跳过 — 加 --explain 查看",
        too_long="  {count} 个任务的文字超过渠道长度上限 — 发送前请拆开（--explain 会列出）",
        separator="，",
        brackets=("（", "）"),
        reasons={
            "cooldown": "冷却期内", "limit": "频次上限", "capacity": "容量已满", "deadline": "超过截止时间", "stale": "已不成立",
            "merged": "合并为一条", "pace": "节奏间隔", "duplicate": "重复", "not_in_group": "已不在群内", "left_community": "已离开社群",
            "already_planned": "已有同类任务", "already_in_group": "已在群内", "already_invited": "已邀请过", "held_out": "对照组（不发）",
            "quiet hours": "免打扰时段", "displaced": "被挤出",
        },
    ),
}


def summary_words(language: str | None) -> SummaryWords:
    return SUMMARY_WORDS.get(language or "en", SUMMARY_WORDS["en"])
