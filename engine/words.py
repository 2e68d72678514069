"""Every word the engine itself writes, in each language of ``community.language``: one table per language.

The plan's texts are the playbooks' own; what frames them — titles, counts, weekday names,
priorities, column names, each task's reason, the run's summary, ``--explain``, the report, the
forecast, the daily list sent to an operator's work chat — is written here, so that an operator
who reads Chinese reads Chinese from the first line to the last. JSON records keep their field
names (programs read them), and errors that stop a command (about playbooks, options, a file that
cannot be read at all) stay English. The lines a run could not read say why in the community's
language (``Reason``).

A language is one ``Language`` value (``ZH_CN``, ``EN``), holding one dataclass of words per
part of the engine; ``LANGUAGES`` lists them, and ``community.language`` accepts exactly its
keys. Adding a language is writing one more ``Language``: every word is a required field, and
``tests/test_words.py`` checks that each language fills each mapping with the same keys and each
template with the same ``{placeholders}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from playbook_engine.durations import format_duration

WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNITS_EN = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
# The member's numbers as an operator calls them, for a `becomes` reason (``ReasonWords.fields``).
_FIELDS_ZH = {
    "days_since_join": "入群天数", "days_silent": "沉默天数", "messages": "累计发言数", "messages_7d": "近 7 天发言数",
    "messages_30d": "近 30 天发言数", "active_days_30d": "近 30 天有发言的天数", "questions": "提问数", "replies": "回复数",
    "mentions_received": "被 @ 次数", "activities": "参加活动次数", "points": "积分", "purchases": "付费次数", "spent": "消费金额",
    "open_tasks": "待办任务数", "tasks_30d": "近 30 天的任务数",
}
_FIELDS_EN = {
    "days_since_join": "days since joining", "days_silent": "days silent", "messages": "messages", "messages_7d": "messages in 7 days",
    "messages_30d": "messages in 30 days", "active_days_30d": "active days in 30 days", "questions": "questions", "replies": "replies",
    "mentions_received": "mentions received", "activities": "activities", "points": "points", "purchases": "purchases", "spent": "spent",
    "open_tasks": "open tasks", "tasks_30d": "tasks in 30 days",
}


# -- the plan (formats: table, md) -----------------------------------------------------------------


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
    option: str  # "{name}", "{value}": an action's option beside its text (the points, the form)

    def count(self, count: int, priorities: Mapping[str, int]) -> str:
        """'7 tasks (1 urgent, 2 high)' / '7 个任务（紧急 1，高 2）': how many, and how many cannot wait."""
        text = (self.one_task if count == 1 else self.tasks).format(count=count)
        pressing = self.list_separator.join(self.pressing.format(count=priorities[name], priority=self.priorities[name]) for name in ("urgent", "high") if priorities.get(name))
        return text + (f"{self.brackets[0]}{pressing}{self.brackets[1]}" if pressing else "")


# -- each task's reason, as the built-in triggers write it -----------------------------------------


@dataclass(frozen=True)
class ReasonWords:
    """A task's reason as the built-in triggers write it (``why``): what happened, and when."""

    silent: str  # "{duration}", "{since}", "{spoke}"
    spoke: Mapping[str, str]  # "last message" / "join": what the silence counts from
    not_counted: str  # "{duration}", "{days}": a silence that does not count days off (`not_counting:`)
    off_kinds: Mapping[str, str]  # "holidays" / "weekends"; "and": how two are joined
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
    rank_tied: str  # the same, for a place shared with others (并列)
    window: str  # "{metric}", "{days}"
    milestone: str  # "{metric}", "{threshold}"
    schedule: str  # "{cron}", "{at}"
    holiday: str  # "{name}", "{date}"
    group_age: str  # "{days}", "{since}", "{at}"
    unanswered: str  # "{duration}", "{snippet}", "{at}"
    became: str  # "{condition}", "{shown}"
    shown: str  # "{shown}"
    # A `becomes` condition of plain comparisons (`member.active_days_30d < 3 and …`) in words:
    # each "{field}", "{value}", "{op}", "{bound}", joined by ``facts_joined``.
    fact: str
    facts_joined: str
    fields: Mapping[str, str]  # member field → its name
    comparisons: Mapping[str, str]  # "<", ">=" … → in words
    events: Mapping[str, str]  # event type → its name
    metrics: Mapping[str, str]  # leaderboard metric → its name
    units: tuple[tuple[int, str], ...]  # (seconds, unit) largest first, for durations


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


# -- the run's summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryWords:
    """The run's closing summary (standard error): what was read, planned and held back."""

    read: str  # "{read}", "{accepted}", "{rejected}"
    imported: str  # `playbook import`: "{read}", "{written}", "{types}" (by event type, in brackets, or empty), "{rejected}"
    before_watermark: str  # "{count}"
    after_until: str  # "{count}"
    unconfirmed: str  # "{count}", "{lines}": events past --max-future kept for the next --state run to confirm
    planned: str  # "{count}"
    suppressed: str  # "{count}"
    moved: str
    staff: str  # "{count}"
    orphans: str  # "{count}", "{names}"
    withdrawn: str  # "{count}", "{ids}"
    displaced: str  # "{count}", "{ids}"
    merged_away: str  # "{count}", "{ids}"
    revised: str  # "{count}", "{ids}"
    ahead_gone: str  # "{count}", "{ids}": tasks the last run planned ahead that the history showed no longer needed
    ahead: str  # "{count}", "{day}": tasks planned ahead (--ahead), through that day
    ahead_no_room: str  # "{count}", "{day}", "{listed}": what the clock brings that day and finds no room, by playbook
    duplicates: str  # "{count}"
    exporter: str  # a warning: "{name}", "{id}" of the account that made the export, "{file}" (community.yaml)
    # Warnings about groups, each followed by a list of "{id} 「{name}」 (count)"
    undeclared_groups: str  # "{count}", "{s}", "{file}", "{listed}": groups community.yaml does not list
    unread_groups: str  # "{events}", "{s}", "{which}", "{listed}", "{watermark}": groups no earlier --state run read
    unassigned_groups: str  # "{tasks}", "{s}", "{file}", "{which}", "{listed}": groups no operator takes
    one_or_more_groups: tuple[str, str, str, str]  # unread_groups' "{which}" for one group and more; unassigned_groups' likewise
    group_count: Mapping[str, str]  # "{count}", "{s}" of a group's messages, events or tasks, by noun
    more_groups: str  # "{count}": the groups not listed
    not_events: str  # "{file}", "{source}": most lines of --events were no event, and the file looks like that source's input
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
    deadline_full: str  # "{count}": after the `deadline` count, those a full day moved past their deadline


# -- the report (engine/report.py) -----------------------------------------------------------------


@dataclass(frozen=True)
class ReportWords:
    """The report's words in one language."""

    title: str
    generated: str  # "{since}", "{watermark}", "{given}"
    workload: str
    workload_note: str
    no_capacity: str
    by_rule: str
    by_rule_note: str  # rules that planned nothing are listed, at 0, when the playbooks are named
    rates: str
    rates_note: str
    taken_back: str
    taken_back_note: str
    by_playbook: str  # each playbook's done and replied rates: which ones work
    by_playbook_note: str
    by_operator: str
    by_operator_note: str
    columns: Mapping[str, str]
    measures: Mapping[str, str]
    statuses: Mapping[str, str]
    total: str
    yes: str
    no: str
    written: str  # "{out}", "{given}": said once the report is written


@dataclass(frozen=True)
class HistoryWords:
    """The words of the charts drawn from the run's history (stage moves, counts, questions)."""

    funnel: str
    funnel_note: str
    moves: str
    moves_note: str
    first_seen: str
    guardrails: str
    guardrails_note: str
    answer_times: str
    answer_times_note: str  # "{open}"
    answer_weeks: str
    answer_weeks_note: str
    no_history: str
    no_runs: str  # a state no run has written to yet: what to do first
    total: str
    columns: Mapping[str, str]
    kinds: Mapping[str, str]
    reasons: Mapping[str, str]
    buckets: Sequence[str]


@dataclass(frozen=True)
class HoldoutWords:
    title: str
    note: str
    columns: Sequence[str]
    arms: Mapping[str, str]
    too_few: str
    difference: str  # "{estimate}", "{low}", "{high}"


# -- the forecast (engine/forecast.py) -------------------------------------------------------------


@dataclass(frozen=True)
class StateWords:
    """What ``playbook state show`` says of a state file, in one language."""

    summary: str  # "{path}", "{watermark}", "{members}", "{groups}", "{timers}", "{tasks}", "{messages}", "{moves}", "{questions}", "{answered}", "{days}"
    none_yet: str  # the watermark of a state no run has read events into


@dataclass(frozen=True)
class ForecastWords:
    """The forecast's words in one language."""

    title: Callable[[str, int, str], str]  # community, days, watermark → the heading
    day: Callable[[date], str]  # 12月8日 周二 / Tue Dec 8
    headers: Mapping[str, str]
    unassigned: str
    over_heading: str
    over_line: Callable[[str, str, int, int, int, str], str]  # day, operator, tasks, capacity, over, playbooks
    playbook_list: Callable[[list[tuple[str, int]], int], str]  # the first playbooks, and how many tasks the others hold
    none_over: Callable[[int], str]
    no_capacity: str
    summary: Callable[[int, int, int], str]  # tasks, days, days over


def _zh_playbooks(first: list[tuple[str, int]], others: int) -> str:
    return "、".join(f"{name} {count}" for name, count in first) + (f"、其他 {others}" if others else "")


def _en_playbooks(first: list[tuple[str, int]], others: int) -> str:
    return ", ".join(f"{name} {count}" for name, count in first) + (f", others {others}" if others else "")


# -- the daily list an operator is sent (engine/delivery.py) ---------------------------------------


@dataclass(frozen=True)
class DeliveryWords:
    """The few words a delivered list is made of, in one language."""

    title: Callable[[date, int], str]  # the day and the number of tasks
    earlier_day: Callable[[date, str], str]  # (its day, "09:12") → when a task of an earlier day, still to do, was due
    part: str  # the part among parts, appended to the title when a day needs several
    earlier: str  # said when some of the day's tasks went out in an earlier delivery
    urgent: str
    high: str
    carried: str  # how many of the list's tasks were due on an earlier day (yesterday's evening welcomes …)
    counts: str  # "{count} {label}"
    group: str  # who a group-wide task is for
    member: str  # "{name}", "{member}": who a task is for
    why: str  # before the reason
    ahead: str  # after the reason of a task planned ahead (`run --ahead`), from the history of the night before
    same_member: str  # "{id}": after the reason of a second private message to one member in one list
    ahead_head: str  # "{count}": in the list's head, what those marks mean, once
    option: str  # "{name}", "{value}": an action's option beside its text (the points, the form)
    action: Callable[[str, str], str]  # (action, text) → what to do, when the channel says nothing
    preview: str  # "{operator}", "{name}", "{inbox}", "{part}", "{parts}", "{tasks}", "{size}": a --dry-run message's heading
    accepted: str  # "{operator}", "{part}", "{parts}", "{inbox}", "{tasks}": progress, as each message is accepted
    delivered: str  # "{operator}", "{name}", "{tasks}", "{inbox}", "{messages}"
    nothing_new: str  # "{operator}", "{count}", "{day}"
    no_inbox: str  # "{operator}", "{file}", "{count}": an operator with tasks and no inbox
    unassigned: str  # "{count}", "{day}", "{file}": tasks of the day no operator looks after
    unrecorded: str  # "{count}", "{day}": tasks planned before the state kept their texts
    overtaken: str  # "{count}", "{listed}": tasks of an earlier day the last run found no longer needed (not sent)
    missed: str  # "{count}", "{listed}": tasks of the day before that no list sent and whose deadline passed before this day
    missed_item: str  # "{id}", "{who}", "{what}", "{deadline}"
    missed_note: str  # "{count}": the head of the lines under an operator's list that name their missed tasks
    missed_more: str  # "{count}": missed tasks past the ones the message names
    no_room_note: str  # "{count}", "{listed}": the tasks of the day the night's look-ahead found no room for, by playbook
    note: str  # "{note}": each line --dry-run (or a delivery) says besides the messages
    would_stop: str  # "{what}": --dry-run, when an inbox's address cannot be read


# -- `playbook tasks mark` and `import`: what they changed ----------------------------------------


@dataclass(frozen=True)
class MarkWords:
    """The line ``playbook tasks mark`` and ``import`` end with, in one language."""

    changed: str  # "{count}", "{statuses}": how many tasks changed, then by what they became (bracketed, or empty)
    status: str  # "{count}", "{status}": one part of the brackets
    statuses: Mapping[str, str]  # done, skipped, failed, replied, and note (only the note changed)
    already: str  # "{count}": tasks that already were as the file or the command says
    without_status: str  # "{count}": lines of an imported file with no status
    reported: str  # "{count}": lines reported above, which changed nothing
    separator: str
    brackets: tuple[str, str]


# -- --explain, the guardrails' reasons, the re-check, the CSV's columns -----------------------------


@dataclass(frozen=True)
class ExplainWords:
    """What ``--explain`` says of each decision, and the reasons a guardrail or the re-check gives
    for a task not planned (also in the report's and the summary's ``--explain`` hints)."""

    labels: Mapping[str, str]  # the timeline's kinds: planned, because, not, stage, …
    group: str  # "{group}": the subject of a task about no member
    no_member: str  # a note about no member
    note: str  # "{rule}", "{who}", "{reason}": a rule's decision about a member
    stage_note: str  # "{who}", "{change}": a member's move between stages
    due: str  # "{at}": when a planned task is due, if not when it fired
    printed_earlier: str  # "{id}": a suppressed task an earlier --state run printed
    planned_earlier: str  # "{id}", "{who}": a task an earlier run printed, taken back
    repeats: str  # "{count}", "{until}": the same "not" said again, counted
    staff: str
    condition_false: str  # "{source}", "{shown}"
    condition_failed: str  # "{source}", "{error}"
    shown: str  # "{values}": what a condition read
    no_value: str  # a value a condition read that is not there (None): "空"
    not_in_groups: str  # "{group}", "{groups}": a rule's `groups:`
    not_in_stages: str  # "{stage}", "{stages}": a rule's `stages:`
    once: str
    changed: str  # "{action}", "{values}": a tag or untag done
    tag_lapsed: str  # "{tag}": a tag given `for:` a while, taken off when it is over
    tag_expiry: str  # what the timeline names in place of a rule for that
    # the enforcer: where the member must be for the action
    not_in_group: str  # "{name}", "{group}", "{since}"
    removed_at: str  # "{at}"
    removed_in_history: str  # "{at}": a member_left with reason `removed`
    left_after_removal: str  # "{at}": a member_left of their own after the plan's removal was done
    out_until: str  # "{left}", "{back}": out of the group from one to the other (pace put the task in between)
    planned_already: str  # "{action}", "{name}", "{group}", "{due}"
    planned_twice: str  # "{action}", "{name}", "{group}", "{id}": a rule's second action with the same effect
    the_group: str
    in_group: str  # "{name}", "{group}"
    invited: str  # "{name}", "{group}", "{at}"
    left_community: str  # "{name}"
    back_in_group: str  # "{name}", "{group}": a task about leaving it, once they rejoined
    too_long: str  # "{action}", "{length}", "{limit}", "{channel}"
    # the planner's guardrails
    cooldown: str  # "{duration}", "{rule}", "{name}", "{at}", "{until}"
    duplicate: str
    limit: str  # "{max}", "{kinds}", "{per}", "{name}", "{at}"
    any_tasks: str  # the kinds of a limit on every action
    deadline: str  # "{due}", "{deadline}"
    full_past_deadline: str  # "{assignee}", "{day}", "{capacity}", "{due}", "{deadline}": capacity moved it past its deadline
    capacity: str  # "{assignee}", "{day}", "{delay}"
    merged: str  # "{id}", "{due}"
    with_message: str  # "{id}", "{why}": a part of a merged message capacity dropped, dropped with it
    superseded: str  # "{id}", "{at}" (when the newer task was triggered), "{day}"
    one_a_day: str  # why a member's second message of a day waits for the next
    also: str  # "{actions}": after a merged message's instruction, the other parts' actions it carries
    displaced: str  # "{why}"
    held_out: str  # "{who}", "{share}", "{playbook}"
    moved: str  # "{why}", "{before}", "{after}"
    quiet_hours: str
    off_day: str  # "{name}": a holiday break or weekend a rule's `not_on:` keeps its tasks off
    off_day_skipped: str  # "{name}": such a day, for a task worth nothing after its day
    pace_of: str  # "{assignee}"
    capacity_of: str  # "{assignee}"
    slots_taken: str  # "{assignee}", "{day}", "{given}" (tasks planned for them before this run), "{count}" (removals due before it)
    with_removal: str  # "{removal}": a note that goes with the removal of its firing, which found no slot
    with_task: str  # "{task}", "{why}": a note that goes with its firing's task to the member, no longer needed
    with_stopped: str  # "{task}", "{why}": a note that goes with its firing's task to the member, not planned
    # the re-check when a task is due
    stale: str  # "{why}"
    wrote: str  # "{name}", "{at}"
    replied: str  # "{name}", "{playbook}", "{at}"
    failed_now: str  # "{source}", "{error}"
    false_now: str  # "{source}"
    wrote_and: str  # "{wrote}", "{false}"
    no_longer_in_stage: str  # "{name}", "{stage}", "{now}"
    no_longer_holds: str  # "{condition}", "{name}"
    answered_since: str  # "{who}", "{at}"
    solved_since: str  # "{who}", "{at}": the asker said she solved it herself
    # questions answered in time (the `unanswered` trigger)
    answered: str  # "{who}", "{how}", "{kind}"
    answered_of: str  # "{at}", "{who}", "{how}", "{later}", "{kind}"
    later: str  # "{duration}"
    answered_by: Mapping[str, str]  # reply, mention, next_message, solved
    times: str  # "{timezone}", "{file}": the line before the summary
    columns: Mapping[str, str]  # the CSV's columns, by the task record's field names
    priorities: Mapping[str, str]  # the CSV's priority cells (a spreadsheet has no colours to say "normal" by)


# -- one table per language ------------------------------------------------------------------------


@dataclass(frozen=True)
class InputWords:
    """What a run says of what it read: a line it could not use and why (``Reason``'s
    templates), a warning. Errors that stop the run, about playbooks or options, stay English."""

    rejected: str  # "{where}", "{reason}": a line not read, as the terminal shows it
    strict: str  # "{where}", "{reason}": the line that stops a --strict run
    warning: str  # "{warning}"
    reasons: Mapping[str, str]  # a Reason's key → its template


@dataclass(frozen=True)
class Language:
    """Every word the engine writes, in one language."""

    plan: PlanWords
    reasons: ReasonWords
    summary: SummaryWords
    report: ReportWords
    history: HistoryWords
    holdout: HoldoutWords
    forecast: ForecastWords
    delivery: DeliveryWords
    marks: MarkWords
    explain: ExplainWords
    inputs: InputWords
    state: StateWords

    def duration(self, seconds: float) -> str:
        """``14d`` in English (as playbooks write it); ``14 天`` in Chinese."""
        return duration_text(int(seconds), self.reasons)


ZH_CN = Language(
    plan=PlanWords(
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
        option="{name}：{value}",
        group="群 {group}",
        everyone="全体",
        unassigned="未分配",
        columns={"time": "时间", "priority": "优先级", "member": "成员", "what to do": "做什么", "why": "原因"},
    ),
    reasons=ReasonWords(
        silent="已沉默 {duration}，自 {since}（{spoke}）起",
        spoke={"last message": "最后一次发言", "join": "入群"},
        not_counted="{duration}（不算{days}）",
        off_kinds={"holidays": "节假日", "weekends": "周末", "and": "和"},
        joined="入群 {duration}（{at}）",
        stage="{at} 进入{stage}{previous}",
        previous="（此前：{previous}）",
        event="{at} {type}",
        keyword="，含“{keyword}”",
        match="，符合“{match}”",
        activity="{how}活动「{activity}」（{at} 结束）",
        took_part={True: "参加了", False: "没有参加"},
        top="{group} {window}前 {count} 名：{names}",
        rank="{group} {window}第 {rank} 名（{value}）",
        rank_tied="{group} {window}并列第 {rank} 名（{value}）",
        window="近 {days} 天{metric}",
        milestone="{metric}达到 {threshold}",
        schedule="定时 `{cron}`，{at}",
        holiday="节日：{name}（{date}）",
        group_age="群龄 {days} 天（自 {since} 起），{at}",
        unanswered="提问 {duration}没人接：“{snippet}”（{at}）",
        became="`{condition}` 成立{shown}",
        shown="（{shown}）",
        fact="{field}为 {value}（{op} {bound}）",
        facts_joined="，",
        fields=_FIELDS_ZH,
        comparisons={"<": "少于", "<=": "不超过", ">": "超过", ">=": "达到", "==": "等于", "!=": "不等于"},
        events={
            "message": "发言", "member_joined": "入群", "member_left": "退群", "reaction": "表情回应", "profile": "资料更新",
            "purchase": "购买", "activity_joined": "报名活动", "activity_started": "活动开始", "activity_ended": "活动结束",
        },
        metrics={"messages": "发言数", "active_days": "活跃天数", "reactions": "表情回应数", "points": "积分", "replies": "回复数", "mentions": "被@次数"},
        units=((86400, " 天"), (3600, " 小时"), (60, " 分钟"), (1, " 秒")),
    ),
    summary=SummaryWords(
        read="读取 {read} 条事件：接受 {accepted}，拒绝 {rejected}",
        imported="读取 {read} 条事件：写出 {written}{types}，拒绝 {rejected}",
        before_watermark="，{count} 条已处理过（`--state` 水位线）",
        after_until="，{count} 条在 `--until` 之后（没有读：下次运行的导出里也有它们才会读到）",
        unconfirmed="，{count} 条比上一条晚了 `--max-future` 以上、没有后一条确认日期，留到下次运行再读（第 {lines} 行）",
        planned=" · 计划任务 {count} 个",
        suppressed=" · 未安排 {count} 个",
        moved=" · 顺延：",
        staff=" · 跳过关于员工的触发 {count} 次",
        orphans=" · 丢弃已删除规则的计时器 {count} 个（{names}）",
        withdrawn=" · 之前的运行列出的 {count} 个任务已不成立、撤回（{ids}）：还没发的就不要发了",
        displaced=" · 之前的运行列出的 {count} 个任务被更紧急的任务挤出（{ids}）：不要发送",
        merged_away=" · 之前的运行列出的 {count} 个任务并进了同一天给同一个人的另一条消息（{ids}）：随那条消息一起发，不要单独发送",
        revised=" · 之前的运行列出的 {count} 个任务有改动、重新列出（{ids}）：以新版本为准",
        ahead_gone=" · 上次预排的 {count} 个任务按今天的记录已不需要（{ids}）：没发的就不要发了",
        ahead="另外预排了到 {day} 为止的 {count} 个任务（定时的帖子、节日问候、榜单、沉默提醒……）：按目前的记录排，下次运行按那时的记录再核对",
        ahead_no_room="注意：到 {day} 为止，还有 {count} 个到点就该做的任务（节日问候、定时帖子、榜单……）排不下：运营那天的容量已满，顺延就过了截止时间——{listed}。要发，就提高那天的容量（community.yaml 里运营的 capacity）或放宽这些规则的 deadline 再跑一次，或者自己补发",
        duplicates=" · 重复消息（id 相同）{count} 条，只计一次",
        exporter="导出这份聊天记录的账号 {name}（{id}）不在 {file} 的 `staff:` 里，也不是哪位运营的 `member:`：计划会把它当成普通群成员（欢迎、私信、上排行榜）。这是导出人自己的账号——在那位运营的条目里写上 `member: {id}`，或加进 `staff: [{id}]`",
        undeclared_groups="{file} 的 `groups:` 里没有这 {count} 个群：{listed}——在那里写上它们（id、name），群才有名字、有运营负责",
        unread_groups="之前的 `--state` 运行都没读过{which}的 {events} 条事件：{listed}——它们早于状态的水位线（{watermark}），没有计划；"
        "`--state` 运行要在一个文件里读到每个群截至当晚的事件：用 `playbook import` 分别转换每个群的导出，按时间合并"
        "（`sort -m -s -t, -k1,1 a.jsonl b.jsonl > night.jsonl`），再对合并后的文件运行",
        unassigned_groups="{tasks} 个任务没有运营负责：{file} 里没有哪位运营的 `groups:` 列了{which}：{listed}——把它们分别加进某位运营的 `groups:`，或者让一位运营不写 `groups:`，由 TA 接下其他人没列的所有群",
        one_or_more_groups=("这个群", "这些群", "这个群", "这些群"),
        group_count={"message": "{count} 条消息", "event": "{count} 条事件", "task": "{count} 个任务"},
        more_groups="，……另有 {count} 个",
        not_events="{file} 的大多数行不是 JSON Lines 事件：它像是 `--source {source}` 读的导出——用 `--source {source}` 直接读它，或者先转换：`playbook import --source {source} {file} > events.jsonl`（见 docs/sources.md）",
        history_only=" · {count} 个在 `--from` 之前，未列出",
        by_stage="  各阶段成员：",
        by_playbook="  各剧本任务：",
        by_day="  每天任务：",
        more_days="，…（另有 {count} 天）",
        errors="  {count} 次规则判断出错、已跳过 — 加 --explain 查看",
        too_long="  {count} 个任务的文字超过渠道长度上限 — 发送前请拆开（--explain 会列出）",
        separator="，",
        brackets=("（", "）"),
        deadline_full="（其中 {count} 个是那天容量已满、顺延就过了截止时间）",
        reasons={
            "cooldown": "冷却期内", "limit": "频次上限", "capacity": "容量已满", "deadline": "超过截止时间", "stale": "已不成立",
            "merged": "合并为一条", "pace": "节奏间隔", "duplicate": "重复", "not_in_group": "已不在群内", "left_community": "已离开社群",
            "already_planned": "已有同类任务", "already_in_group": "已在群内", "already_invited": "已邀请过", "held_out": "对照组（不发）",
            "quiet hours": "免打扰时段", "not_on": "遇节假日顺延", "off_day": "节假日不发", "superseded": "被新的一条取代", "one_a_day": "一人一天一条", "displaced": "被挤出",
        },
    ),
    report=ReportWords(
        title="社群运营报告",
        generated="数据从 {since} 起，截至 {watermark}（最后一次运行读到的记录）· 共派发任务 {given} 个",
        workload="每位运营每天的任务数与容量",
        workload_note="柱：当天到期、派发给该运营的任务数；横线：该运营每天的容量上限；点：当天早上推送给该运营的任务数（包括前几天留下的，比如前一晚入群的人的欢迎）。",
        no_capacity="状态库不保存容量：运行 `playbook report 剧本目录 --state …` 时给出剧本目录，即可画出容量线。",
        by_rule="按剧本和规则统计的任务数",
        by_rule_note="写了剧本目录时，一个任务也没排出来的规则也列在这里（0）：可能只是还没遇到它的条件，也可能条件永远不成立、或总被别的规则抢先——用 `playbook run … --explain` 看它每次为什么没排。",
        rates="完成率、按时率、回复率",
        rates_note="只计截至数据时间已到期的任务；引擎说过“已经不用做了”、没有推送的任务（{not_needed} 个）不算，哪天早上的推送都没带上的任务（{not_delivered} 个：排出来时已经过了时间）也不算。完成率＝已完成÷已派发；按时率＝截止时间前标记完成÷已完成；回复率＝已完成的私信、@、问卷、奖励中，成员在回复期限（community.yaml 的 reply_window）内发了言的÷这些已完成的任务（通知运营、群发不算；发给已经退出所有群的人的 {unseen} 个也不算：TA 在群里的回复看不到，私下回了请标记为“已回复”）。",
        taken_back="被撤回和被挤出的任务",
        taken_back_note="已撤回：到期前复查时条件已不成立；被挤出：后来的运行按容量把它挤出了当天。按到期日统计。",
        by_playbook="各剧本的完成率和回复率：哪个剧本有用",
        by_playbook_note="只计截至数据时间已到期的任务（引擎说过不用做、没有推送的不算）。回复率的基数是已完成的私信、@、问卷、奖励；看比率之前先看基数，几个任务的比率说明不了什么。最后一列是剧本触发了、却因为运营当天容量已满或过了截止时间没排上的任务：数字大，说明该调的是容量、节奏或截止时间，而不是剧本本身（比如节日问候那天）。",
        by_operator="各运营的完成情况",
        by_operator_note="只计截至数据时间已到期的任务（引擎说过不用做、没有推送的不算）。跳过：运营标了“跳过”的任务。写了剧本目录时，还数每人当天到期的任务排满容量的天数，和早上推送（连同前一晚留下的）超过容量的天数：这两个数常年不为 0 的人，容量该调了，或者剧本排得太多。",
        columns={"operator": "运营", "day": "日期", "tasks": "任务数", "capacity": "容量", "over": "超出容量", "playbook": "剧本", "rule": "规则", "measure": "指标", "count": "数量", "of": "基数", "rate": "比率", "status": "状态", "delivered": "早上推送", "due": "已到期", "done": "已完成", "skipped": "跳过", "done_rate": "完成率", "can_reply": "可回复的已完成", "replied": "已回复", "replied_rate": "回复率", "lost": "没排上（容量满、过了截止时间）", "full_days": "排满容量的天数", "over_mornings": "早上推送超过容量的天数"},
        measures={"done": "完成率", "on_time": "按时率", "replied": "回复率"},
        statuses={"stale": "已撤回", "displaced": "被挤出"},
        total="合计",
        yes="是",
        no="否",
        written="{out}：报告已写好，共 {given} 个任务",
    ),
    history=HistoryWords(
        funnel="生命周期漏斗（按周）",
        funnel_note="每周结束时各阶段的成员数（最后一周：截至数据时间）。不含员工。",
        moves="阶段之间的流动（按周）",
        moves_note="每周从一个阶段进入另一个阶段的次数；“首次出现”是成员第一次被划入阶段。",
        first_seen="首次出现",
        guardrails="被拦下、顺延和丢弃的任务及原因",
        guardrails_note="按任务当时的到期日统计，与每次运行摘要中的“未安排”“顺延”数一致；日常多次运行时，重新结算的日子只计最后一次。“未安排”是丢掉的，“顺延”是挪了时间、照样做的；关于员工账号的触发（员工不算成员，不是损失）只在合计里。",
        answer_times="提问多久得到回答",
        answer_times_note="群里的提问到第一次回答（回复、@提问人、或窗口内他人的下一条消息）的时间。不含员工的提问；另有 {open} 个两小时内的提问尚未回答，未计入。",
        answer_weeks="每周回答时间的中位数",
        answer_weeks_note="按提问所在的周统计；中位数只计已回答的提问。",
        no_history="状态库还没有这部分记录：从第 8 版引擎的第一次 `playbook run --state` 起开始记录。",
        no_runs="还没有记录：先用 `playbook run … --state` 跑一晚的聊天记录，再看报告。",
        total="合计",
        columns={"week": "周（起始日）", "stage": "阶段", "members": "成员数", "from": "从", "to": "到", "moves": "次数", "day": "日期", "kind": "类别", "reason": "原因", "playbook": "剧本", "count": "数量", "bucket": "回答用时", "questions": "提问数", "answered": "已回答", "median": "中位数（分钟）", "share": "占比"},
        kinds={"suppressed": "未安排", "moved": "顺延", "skipped": "跳过"},
        reasons={
            "cooldown": "冷却期内", "limit": "频次上限", "capacity": "容量已满", "deadline": "超过截止时间", "stale": "已不成立",
            "merged": "合并为一条", "pace": "节奏间隔", "duplicate": "重复", "not_in_group": "已不在群内", "left_community": "已离开社群",
            "already_planned": "已有同类任务", "already_in_group": "已在群内", "already_invited": "已邀请过", "quiet hours": "免打扰时段", "not_on": "遇节假日顺延", "off_day": "节假日不发", "superseded": "被新的一条取代", "one_a_day": "一人一天一条", "staff": "员工", "held_out": "对照组（不发）",
        },
        buckets=("5 分钟内", "5–30 分钟", "30 分钟–2 小时", "2 小时以上", "未回答"),
    ),
    holdout=HoldoutWords(
        title="对照组：任务有没有用",
        note="每个设了 holdout 的剧本：成员第一次收到（或本应收到）该剧本任务后 7 天内是否再次发言。收到任务的成员与被留作对照、不发任务的成员相比；只计 7 天已过完的成员。差值后是 95% 区间：整个区间大于 0 才说明任务有效。",
        columns=("剧本", "收到任务的成员", "7 天内再发言", "比率", "对照组成员", "7 天内再发言", "比率", "差（收到 − 对照）"),
        arms={"treated": "收到任务", "held_out": "对照组"},
        too_few="样本太少，无法判断（每组至少 30 人）",
        difference="{estimate} 个百分点（95% 区间 {low} ~ {high}）",
    ),
    forecast=ForecastWords(
        title=lambda community, days, watermark: f"{community}：未来 {days} 天每位运营的任务量（从状态库水位线 {watermark} 起，只算已设定的定时器，没有新事件）",
        day=lambda day: f"{day.month}月{day.day}日 {WEEKDAYS_ZH[day.weekday()]}",
        headers={"day": "日期", "operator": "运营", "tasks": "任务数", "capacity": "容量", "over": "超出", "playbooks": "来自剧本"},
        unassigned="（未分配）",
        over_heading="超出容量的日子：",
        over_line=lambda day, operator, tasks, capacity, over, playbooks: f"{day}：{operator} {tasks}/{capacity}，超出 {over}；主要来自 {playbooks}",
        playbook_list=_zh_playbooks,
        none_over=lambda days: f"未来 {days} 天没有哪天超出容量。",
        no_capacity="community.yaml 没有给任何运营设容量（capacity），无从比较。",
        summary=lambda tasks, days, over: f"预测：{days} 天共 {tasks} 个任务，{over} 个运营日超出容量；状态库没有改动",
    ),
    delivery=DeliveryWords(
        title=lambda day, count: f"{day.month}月{day.day}日 待办 {count} 条",
        earlier_day=lambda day, time: f"{day.month}月{day.day}日 {time}",
        part="（{part}/{parts}）",
        earlier="（另有 {count} 条已发过）",
        urgent="‼ 紧急",
        high="! 重要",
        carried="前几天留下的",
        counts="{label} {count}",
        group="全群",
        member="{name}（{member}）",
        why="原因：",
        ahead=" · 预排",
        same_member=" · 这份清单里还有给 TA 的 {id}：可以合成一条私信发",
        ahead_head="预排 {count} 个：按前一晚为止的记录排的，发之前看一眼，情况变了（TA 已经说过话……）就不用发",
        option="{name}：{value}",
        action=lambda action, text: f"{action}：{text}",
        preview="# {operator}（{name}）→ {inbox} · 第 {part}/{parts} 条消息 · {tasks} 个任务 · {size} 字节",
        accepted="{operator}：第 {part}/{parts} 条消息已被 {inbox} 接收（{tasks} 个任务）",
        delivered="{operator}（{name}）：{tasks} 个任务已分 {messages} 条消息推送到 {inbox}",
        nothing_new="{operator}：没有新任务 — {day} 的 {count} 个任务已经推送过",
        no_inbox="{operator}：{file} 里没有写 `inbox:`，{count} 个任务没有推送；给这位运营加上 `inbox:`（见 `docs/delivery.md`）",
        unassigned="{day} 有 {count} 个任务没有负责的运营（{file} 里没有哪位运营管它们的群），没有推送",
        unrecorded="{day} 有 {count} 个任务是状态库还不保存任务内容时（第 6 版之前）安排的，没有推送 — 用 `playbook run … --format md` 查看",
        overtaken="之前到期的 {count} 个任务按上次运行为止的记录已经不用做了，没有推送：{listed}",
        missed="{count} 个任务没赶上推送：排出来时已经过了该做的时间，截止时间在今天开始前也过了（推送之后才发生、当晚就截止的事，比如晚上的排行榜、导出记录之后才入群的人；或者前一晚预排时那天的容量已经排满），要不要补做自己看：{listed}",
        missed_item="{id} {who}：{what}（截止 {deadline}）",
        missed_note="另有 {count} 个任务没赶上推送（排出来时已过了截止时间：推送之后才发生、当晚就截止的事，或者前一晚预排时那天的容量已经排满），要不要补做自己看：",
        missed_more="……另有 {count} 个，见 `playbook tasks list`",
        no_room_note="今天还有 {count} 个到点就该做的任务没排进来（今天的容量已满）：{listed}——要发就自己补上，或者提高容量",
        note="提示：{note}",
        would_stop="{what}：真正推送时会在这里停下",
    ),
    marks=MarkWords(
        changed="更新了 {count} 个任务{statuses}",
        status="{status} {count}",
        statuses={"done": "完成", "skipped": "跳过", "failed": "失败", "replied": "已回复", "note": "只改备注"},
        already="{count} 个原本就是这样",
        without_status="{count} 行没有写状态",
        reported="上面报告的 {count} 行什么也没改——改好后把文件再导入一次",
        separator="，",
        brackets=("（", "）"),
    ),
    explain=ExplainWords(
        labels={
            "planned": "计划", "suppressed": "未安排", "withdrawn": "撤回", "displaced": "被挤出", "stage": "阶段", "not": "不适用",
            "changed": "变更", "error": "出错", "too long": "太长", "answered": "已答复", "because": "原因", "and": "并且", "moved": "顺延", "but": "但是",
        },
        group="群 {group}",
        no_member="（群）",
        note="{rule} → {who}：{reason}",
        stage_note="{who}：{change}",
        due="，{at} 到期",
        printed_earlier="  [{id}] 之前的运行已列出：不要发送",
        planned_earlier="[{id}] 之前的运行列出的任务 → {who}",
        repeats="  （此后又 {count} 次，直到 {until}）",
        staff="员工（community.yaml 的 `staff:` 或运营的 `member:`）：不做任务的对象",
        condition_false="条件 `{source}` 不成立{shown}",
        condition_failed="条件 `{source}` 出错：{error}",
        shown="（{values}）",
        no_value="空",
        not_in_groups="群 {group} 不在 {groups} 之列",
        not_in_stages="阶段 {stage} 不在 {stages} 之列",
        once="`once`：对这位成员已经触发过",
        changed="{action} {values}",
        tag_lapsed="去掉标签 {tag}：`for:` 的期限到了",
        tag_expiry="标签到期",
        not_in_group="{name} 已不在{group}{since}",
        removed_at="：{at} 按计划移出",
        removed_in_history="：{at} 被移出群",
        left_after_removal="：{at} 自己退群了",
        out_until="：{left} 退群，{back} 才回来",
        planned_already="{name} 在{group}的「{action}」已经安排了，{due} 到期",
        planned_twice="同一次触发已经安排了 {name} 在{group}的「{action}」（{id}），只做一次",
        the_group="群里",
        in_group="{name} 已经在{group}",
        invited="{name} 已有进{group}的邀请（{at} 安排），之后还没有入群",
        left_community="{name} 已不在社群的任何群里",
        back_in_group="{name} 已经重新加入{group}",
        too_long="「{action}」的文字有 {length} 字，超过 {channel} 上限 {limit}：照样安排，发送前请拆开",
        cooldown="冷却期 {duration}：{rule} 已在 {at} 为 {name} 安排过，{until} 之后才能再安排",
        duplicate="同一个任务（规则、成员、时刻、起因相同）已经安排了",
        limit="{name} 每 {per}最多 {max} 个{kinds}，已达上限（另一个 {at} 到期）",
        any_tasks="任务",
        deadline="过了截止时间：会在 {due} 到期，晚于截止时间 {deadline}",
        full_past_deadline="过了截止时间：{assignee} {day} 的容量已满（每天 {capacity} 个），顺延到 {due} 就晚于截止时间 {deadline}",
        capacity="{assignee} {day} 的容量已满，顺延会超过 `max_delay` {delay}",
        merged="已合并到 {id}（{due} 到期）",
        with_message="随它合并进的消息 {id} 一起去掉：{why}",
        superseded="已有更新的一条：同一规则 {at} 的 {id} 也在 {day} 发，只发新的那条",
        one_a_day="一人一天一条（当天已有给 TA 的一条）",
        also="（同一条消息还包括：{actions}）",
        displaced="被挤出：更优先的任务占了它的位置 — {why}",
        held_out="对照组：{who} 属于 `{playbook}` 留作对照的 {share} 成员，用来衡量剧本有没有用：这个任务不发",
        moved="{why}：从 {before} 顺延到 {after}",
        quiet_hours="免打扰时段",
        off_day="{name}不发",
        off_day_skipped="{name}不发：这条只在当天有用，跳过（要顺延到节后，给规则写 deadline:）",
        pace_of="{assignee} 的节奏",
        capacity_of="{assignee} 的容量已满",
        slots_taken="{assignee} {day} 的容量已满：之前已排给运营的 {given} 个任务，当天先到时的 {count} 个移出群任务（移出群到时就要做，不能顺延）",
        with_removal="它说的移出群任务 {removal} 因为容量已满没有安排，这条通知也一起撤下（成员还在群里）",
        with_task="它说的 {task} 已经不用做了，这条通知也不用了：{why}",
        with_stopped="它说的 {task} 没有安排（{why}），这条通知也一起撤下",
        stale="已不成立：{why}",
        wrote="{name} 在 {at} 发过言",
        replied="`until: replied`：{name} 已在 {at} 回复过 {playbook}",
        failed_now="`{source}` 出错：{error}",
        false_now="`{source}` 现在不成立",
        wrote_and="{wrote}，而且{false}",
        no_longer_in_stage="{name} 已不在阶段 {stage}（现在：{now}）",
        no_longer_holds="`{condition}` 对 {name} 已不成立",
        answered_since="这个问题 {at} 已由 {who} 答复",
        solved_since="{who} {at} 说问题已经自己解决了",
        answered="提问已由 {who} 答复：{how}（{kind}）",
        answered_of="{at} 的提问已由 {who} 答复：{how}{later}（{kind}）",
        later="，{duration}后",
        answered_by={"reply": "回复了这条提问", "mention": "发消息@了提问人", "next_message": "在群里接着发了消息", "solved": "提问人自己说已经解决了"},
        times="时间按 {timezone}（取自 {file}）",
        columns={
            "id": "编号", "due": "时间", "playbook": "剧本", "rule": "规则", "action": "动作", "channel": "渠道", "group": "群", "member": "成员",
            "member_name": "昵称", "assignee": "负责人", "priority": "优先级", "text": "内容", "reason": "原因", "params": "参数", "parts": "合并的任务",
            "how": "怎么做", "status": "状态",
        },
        priorities={"urgent": "紧急", "high": "高", "normal": "普通", "low": "低"},
    ),
    state=StateWords(
        summary="状态库：  {path}\n水位线：  {watermark}\n成员：    {members}\n群：      {groups}\n定时器：  {timers} 个待触发\n任务：    至今计划了 {tasks} 个\n"
        "已推送：  {messages} 条消息到运营的工作群\n报告用：  {moves} 次阶段变化，{questions} 个提问（{answered} 个有人回答），{days} 天的计数",
        none_yet="还没有",
    ),
    inputs=InputWords(
        rejected="{where}：已拒绝：{reason}",
        strict="{where}：已拒绝：{reason}（--strict：到此为止）",
        warning="注意：{warning}",
        reasons={
            "not_utf8": "不是 UTF-8 文本",
            "bad_json": "不是有效的 JSON（{detail}）",
            "json_at": "{message}，第 {column} 列",
            "json_line": "{message}，第 {line} 行",
            "not_object": "一条事件须是一个 JSON 对象",
            "lone_surrogate": "含有孤立的代理字符（如 \\ud800 这样半个字符的转义）：不是文本 —— 请重新导出为 UTF-8",
            "no_ts": "缺少 `ts`（时间）",
            "ts_bool": "`ts` 是 true/false —— 请写 RFC 3339 时间，如 2026-03-01T09:15:02+08:00",
            "ts_kind": "`ts` 须是 RFC 3339 时间或 Unix 秒数",
            "ts_not_time": "`ts` {value} 不是 RFC 3339 时间（如 2026-03-01T09:15:02+08:00）",
            "no_type": "缺少 `type`（事件类型）",
            "type_text": "`type` 须是文字",
            "must_be_text": "`{name}` 须是文字",
            "must_be_ids": "`{name}` 须是 id 的列表",
            "needs_member": "`{kind}` 事件缺少 `member`（成员）",
            "needs_group": "`{kind}` 事件缺少 `group`（群）",
            "needs_activity": "`{kind}` 事件缺少 `activity`（活动）",
            "must_be_object": "`{name}` 须是键值对象",
            "must_be_number": "`{name}` 须是数字",
            "older": "早于已读到的时间（{when}）：事件须按时间先后排列",
            "same_message": "与第 {line} 行是同一条消息（id {id}）：一条消息只算一次",
            "too_far": "时间是 {at}，比目前最晚的事件（{latest}）晚了 {horizon}以上，而且{why}：日期写错了？—— 如果历史真的中断了这么久，请用更长的 --max-future 运行（{longer}）",
            "next_earlier": "下一条事件（第 {line} 行）更早",
            "no_later": "没有更晚的事件证实它的日期",
            "max_future_days": "如 --max-future {days}d",
            "max_future_off": "--max-future off",
            "export_order": "早于它前面的事件：导出文件没有按时间排序",
            "csv_width": "有 {cells} 格，但表头有 {width} 列（有没加引号的逗号或换行？）",
            "csv_time": "{value} 不是时间（请写成如 2026-03-01 09:15:02、2026-03-01T09:15:02+08:00 或 Unix 秒数）",
            "empty_time": "`{column}` 列的时间是空的",
            "not_a_number": "`{column}` {value} 不是数字",
            "rounded_id": "`{column}` {value} 是被 Excel 改成科学计数法的编号，认不出是谁 — 在 Excel/WPS 里把这一列设成“文本”格式后再保存，或重新导出",
            "no_sender": "没有发送者（`{column}` 是空的）",
            "in_file": "{file}：{reason}",
            "day_file_skipped": "{file}：{reason} —— 这一天的整个文件都未读入",
            "not_a_list": "不是消息的列表",
            "message_not_object": "一条消息须是一个 JSON 对象",
            "no_author": "消息 {id} 没有 `author` id（发送者）",
            "no_timestamp": "消息 {id} 没有 `timestamp`（时间）",
            "field_not_time": "消息 {id}：`{field}` {value} 不是时间",
            "field_not_number": "消息 {id}：`{field}` {value} 不是数字",
            "no_usable_ts": "没有可用的 `ts`（{value}）",
            "no_user": "消息没有 `user`（发送者）",
            "no_comment_user": "文件评论没有 `comment.user`（发送者）",
            "unknown_message_type": "未知的消息类型 {type}（应是 message 或 service）",
            "no_from_id": "消息 {id} 没有 `from_id`（发送者）—— 请用 Telegram Desktop 以 JSON 格式重新导出这个聊天",
            "no_date": "消息 {id} 没有 `date_unixtime` 或 `date`",
            "service_no_actor": "服务消息 {id}（{action}）没有 `actor_id`",
            "service_no_action": "服务消息 {id} 没有 `action`",
            "dms_left_out": "{count} 个私聊会话（dms.json、mpims.json）未读入 —— 剧本安排的是群里的工作；私聊也要安排时，请加 --private-chats",
            "private_left_out": "{file}：{kind}（{channel}）未读入 —— 私聊也要安排时，请加 --private-chats",
            "direct_message": "私聊",
            "env_unset": "环境变量 {name}（{operator} 推送用的{key}）没有设置",
            "env_no_address": "环境变量 {name}（{operator} 推送用的{key}）不是网址（https://…）",
            "url": "地址",
            "secret": "密钥",
            "group_dm": "多人私聊",
        },
    ),
)

EN = Language(
    plan=PlanWords(
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
        option="{name}: {value}",
        group="group {group}",
        everyone="everyone",
        unassigned="unassigned",
        columns={"time": "time", "priority": "priority", "member": "member", "what to do": "what to do", "why": "why"},
    ),
    reasons=ReasonWords(
        silent="silent {duration} since {since} ({spoke})",
        spoke={"last message": "last message", "join": "join"},
        not_counted="{duration} ({days} not counted)",
        off_kinds={"holidays": "holidays", "weekends": "weekends", "and": " and "},
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
        rank_tied="#{rank} (tied) by {window} in {group} ({value})",
        window="{metric} over {days}d",
        milestone="{metric} reached {threshold}",
        schedule="schedule `{cron}` at {at}",
        holiday="holiday {name} ({date})",
        group_age="group {days} days old (counted from {since}), {at}",
        unanswered="question unanswered for {duration}: “{snippet}” ({at})",
        became="`{condition}` became true{shown}",
        shown=" ({shown})",
        fact="{field} is {value} ({op} {bound})",
        facts_joined=", ",
        fields=_FIELDS_EN,
        comparisons={"<": "below", "<=": "at most", ">": "above", ">=": "at least", "==": "equal to", "!=": "not"},
        events={
            "message": "message", "member_joined": "member_joined", "member_left": "member_left", "reaction": "reaction", "profile": "profile",
            "purchase": "purchase", "activity_joined": "activity_joined", "activity_started": "activity_started", "activity_ended": "activity_ended",
        },
        metrics={"messages": "messages", "active_days": "active_days", "reactions": "reactions", "points": "points", "replies": "replies", "mentions": "mentions"},
        units=_UNITS_EN,
    ),
    summary=SummaryWords(
        read="read {read} events: {accepted} accepted, {rejected} rejected",
        imported="read {read} events: {written} written{types}, {rejected} rejected",
        before_watermark=", {count} already processed (--state watermark)",
        after_until=", {count} after --until (not read: the next run reads them only if its export holds them too)",
        unconfirmed=", {count} dated more than --max-future after the one before with no later line to confirm it, kept for the next run (line {lines})",
        planned=" · {count} tasks planned",
        suppressed=" · {count} suppressed",
        moved=" · moved: ",
        staff=" · {count} firing(s) about staff skipped",
        orphans=" · {count} timer(s) of rules no longer in the playbooks dropped ({names})",
        withdrawn=" · {count} planned by an earlier run withdrawn as stale ({ids}): do not send those not sent yet",
        displaced=" · {count} planned by an earlier run displaced by higher-priority tasks ({ids}): do not send them",
        merged_away=" · {count} planned by an earlier run merged into another message to the same member that day ({ids}): they go out with it, do not send them on their own",
        revised=" · {count} planned by an earlier run printed again changed ({ids}): the new version replaces the old",
        ahead_gone=" · {count} planned ahead by the last run no longer needed, as the history turned out ({ids}): do not send them if not sent yet",
        ahead="also planned ahead through {day}: {count} task(s) the clock brings (scheduled posts, festival greetings, leaderboards, silence nudges …), from the history so far; the next run checks them against the history of then",
        ahead_no_room="note: through {day}, {count} task(s) the clock brings (festival greetings, scheduled posts, leaderboards …) find no room: the operator's day is full, and moved they would be past their deadline — {listed}. To send them, raise that day's capacity (the operator's `capacity` in community.yaml) or these rules' `deadline` and run again, or do them by hand",
        duplicates=" · {count} duplicate message{s} (same id) kept once",
        exporter="the account that made this export, {name} ({id}), is neither in {file} `staff:` nor any operator's `member:`, so the plan treats it as a member (welcomed, messaged, ranked) — it is the exporter's own account: write `member: {id}` on that operator, or add it to `staff: [{id}]`",
        undeclared_groups="{count} group{s} not in {file} `groups:`: {listed} — list them there (id, name) to name them and give them operators",
        unread_groups="{events} event{s} of {which} no earlier --state run read: {listed} — older than the state's watermark ({watermark}), they were not planned;"
        " a --state run must read every group's events up to its night in one file: convert each group's export with `playbook import`,"
        " merge them by time (`sort -m -s -t, -k1,1 a.jsonl b.jsonl > night.jsonl`) and run over that",
        unassigned_groups="{tasks} task{s} with no operator: no operator in {file} lists {which} under `groups:`: {listed} — add each to an operator's `groups:`, or give one operator no `groups:` to take every group the others do not",
        one_or_more_groups=("a group", "groups", "this group", "these groups"),
        group_count={"message": "{count} message{s}", "event": "{count} event{s}", "task": "{count} task{s}"},
        more_groups=", … and {count} more",
        not_events="most lines of {file} are no JSON Lines event: it looks like what `--source {source}` reads — read it with `--source {source}`, or convert it first: `playbook import --source {source} {file} > events.jsonl` (docs/sources.md)",
        history_only=" · {count} before --from not shown",
        by_stage="  members by stage: ",
        by_playbook="  tasks by playbook: ",
        by_day="  tasks by day: ",
        more_days=", … ({count} more days)",
        errors="  {count} rule evaluation(s) failed and were skipped — run with --explain to see them",
        too_long="  {count} planned task text(s) longer than the channel allows — split them before sending (--explain names them)",
        separator=", ",
        brackets=(" (", ")"),
        deadline_full=" ({count} of them: their day was full, and the next was past their deadline)",
        reasons={
            "cooldown": "cooldown", "limit": "limit", "capacity": "capacity", "deadline": "deadline", "stale": "stale",
            "merged": "merged", "pace": "pace", "duplicate": "duplicate", "not_in_group": "not_in_group", "left_community": "left_community",
            "already_planned": "already_planned", "already_in_group": "already_in_group", "already_invited": "already_invited", "held_out": "held_out",
            "quiet hours": "quiet hours", "not_on": "not on holidays/weekends", "off_day": "not sent on days off", "superseded": "superseded", "one_a_day": "one message a day", "displaced": "displaced",
        },
    ),
    report=ReportWords(
        title="Community operations report",
        generated="Data from {since} up to {watermark} (the last run's records) · {given} tasks given",
        workload="Tasks per operator per day, against capacity",
        workload_note="Bars: the tasks due that day given to the operator; ticks: the operator's daily capacity; dots: the tasks that morning's messages carried to them (earlier days' included, such as the welcomes of the evening before).",
        no_capacity="The state does not keep capacities: name the playbooks folder (`playbook report PATHS --state …`) to draw them.",
        by_rule="Tasks by playbook and rule",
        by_rule_note="With the playbooks folder named, the rules that planned no task are listed too (0): their conditions may just not have come up yet, or never hold, or another rule always comes first — `playbook run … --explain` says why each firing planned nothing.",
        rates="Done, on-time and replied rates",
        rates_note="Only the tasks due by the data's end; not those the engine said were no longer needed and no list carried ({not_needed}), nor those no morning's list carried ({not_delivered}: planned past their time). Done = done ÷ given; on time = marked done by the deadline ÷ done; replied = of the DMs, mentions, surveys and rewards done, those whose member wrote within the reply window (community.yaml `reply_window`) (notes to operators and group posts are not counted, nor the {unseen} to members who have left every group since: their reply cannot show in the history — mark it `replied` if they answered privately).",
        taken_back="Tasks taken back: stale and displaced",
        taken_back_note="Stale: no longer held when checked again before it was due; displaced: pushed out of its day by a later run's capacity. By due day.",
        by_playbook="Done and replied rates by playbook: which ones work",
        by_playbook_note="Only the tasks due by the data's end (not those the engine said were no longer needed). The replied rate is of the DMs, mentions, surveys and rewards done; look at the counts before the rates — a rate of a few tasks tells nothing. The last column counts what the playbook triggered that found no room: the operator's day was full, or its deadline passed — a large number says to change capacity, pace or the deadline, not the playbook (a festival's greetings).",
        by_operator="Done by operator",
        by_operator_note="Only the tasks due by the data's end (not those the engine said were no longer needed). Skipped: marked skipped by the operator. With the playbooks folder named, also the days whose due tasks filled the operator's capacity, and the mornings whose list (the evening before's tasks included) went over it: an operator for whom these are seldom 0 needs more capacity, or fewer tasks from the playbooks.",
        columns={"operator": "operator", "day": "day", "tasks": "tasks", "capacity": "capacity", "over": "over capacity", "playbook": "playbook", "rule": "rule", "measure": "measure", "count": "count", "of": "of", "rate": "rate", "status": "status", "delivered": "delivered that morning", "due": "due", "done": "done", "skipped": "skipped", "done_rate": "done rate", "can_reply": "done, can be replied", "replied": "replied", "replied_rate": "replied rate", "lost": "not planned (capacity, deadline)", "full_days": "days at capacity", "over_mornings": "mornings over capacity"},
        measures={"done": "done", "on_time": "on time", "replied": "replied"},
        statuses={"stale": "stale", "displaced": "displaced"},
        total="total",
        yes="yes",
        no="no",
        written="{out}: report of {given} task(s) written",
    ),
    history=HistoryWords(
        funnel="Lifecycle funnel, week by week",
        funnel_note="Members in each stage at the end of each week (the last week: at the watermark). Staff not counted.",
        moves="Moves between stages, week by week",
        moves_note="How many times members moved from one stage to another in each week; “first seen”: a member's first stage.",
        first_seen="first seen",
        guardrails="What was suppressed, moved and dropped, and why",
        guardrails_note="By the local day the task was due when the guardrail met it; the same counts as each run's summary (suppressed, moved); with daily runs, a day settled again counts as its last run settled it. Suppressed is dropped, moved is done at another time; firings about staff accounts (staff are no members: nothing lost) are in the totals only.",
        answer_times="Question answer times",
        answer_times_note="From a question in a group to its first answer (a reply, a mention of the asker, or someone else's next message within the window). Staff's questions not counted; {open} questions of the last two hours still unanswered are left out.",
        answer_weeks="Median answer time per week",
        answer_weeks_note="By the week the question was asked; the median counts answered questions only.",
        no_history="The state has no record of this yet: it is kept from the first `playbook run --state` of engine version 8 on.",
        no_runs="Nothing recorded yet: run `playbook run … --state` over a night's export first, then look at the report.",
        total="total",
        columns={"week": "week (from)", "stage": "stage", "members": "members", "from": "from", "to": "to", "moves": "moves", "day": "day", "kind": "kind", "reason": "reason", "playbook": "playbook", "count": "count", "bucket": "answered within", "questions": "questions", "answered": "answered", "median": "median (minutes)", "share": "share"},
        kinds={"suppressed": "suppressed", "moved": "moved", "skipped": "skipped"},
        reasons={
            "cooldown": "cooldown", "limit": "limit", "capacity": "capacity", "deadline": "deadline", "stale": "stale",
            "merged": "merged", "pace": "pace", "duplicate": "duplicate", "not_in_group": "not in group", "left_community": "left the community",
            "already_planned": "already planned", "already_in_group": "already in group", "already_invited": "already invited", "quiet hours": "quiet hours", "not_on": "not on holidays/weekends", "off_day": "not sent on days off", "superseded": "superseded", "one_a_day": "one message a day", "staff": "staff", "held_out": "held out",
        },
        buckets=("under 5 min", "5–30 min", "30 min–2 h", "over 2 h", "not answered"),
    ),
    holdout=HoldoutWords(
        title="Holdouts: do the tasks make a difference?",
        note="For each playbook with a holdout: whether members wrote again within 7 days after their first task of it (given, or withheld). Members who got it against those held out; only members whose 7 days are over. The difference has its 95 % interval: only an interval above 0 says the tasks work.",
        columns=("Playbook", "Treated members", "Wrote within 7 days", "Rate", "Held-out members", "Wrote within 7 days", "Rate", "Difference (treated − held out)"),
        arms={"treated": "treated", "held_out": "held out"},
        too_few="too few to tell (at least 30 members in each arm)",
        difference="{estimate} points (95 % interval {low} to {high})",
    ),
    forecast=ForecastWords(
        title=lambda community, days, watermark: f"{community}: each operator's tasks in the next {days} days (from the state's watermark {watermark}, the timers already set, no new events)",
        day=lambda day: f"{WEEKDAYS_EN[day.weekday()]} {MONTHS_EN[day.month - 1]} {day.day}",
        headers={"day": "day", "operator": "operator", "tasks": "tasks", "capacity": "capacity", "over": "over", "playbooks": "from playbooks"},
        unassigned="(unassigned)",
        over_heading="Days over capacity:",
        over_line=lambda day, operator, tasks, capacity, over, playbooks: f"{day}: {operator} {tasks}/{capacity}, {over} over; mostly from {playbooks}",
        playbook_list=_en_playbooks,
        none_over=lambda days: f"No day of the next {days} is over capacity.",
        no_capacity="community.yaml gives no operator a capacity: nothing to compare with.",
        summary=lambda tasks, days, over: f"forecast: {tasks} task(s) in {days} day(s), {over} operator-day(s) over capacity; the state was not changed",
    ),
    delivery=DeliveryWords(
        title=lambda day, count: f"{WEEKDAYS_EN[day.weekday()]} {MONTHS_EN[day.month - 1]} {day.day}: {count} task{'s' if count != 1 else ''}",
        earlier_day=lambda day, time: f"{MONTHS_EN[day.month - 1]} {day.day} {time}",
        part=" ({part}/{parts})",
        earlier=" ({count} sent earlier)",
        urgent="!! urgent",
        high="! high",
        carried="from earlier days",
        counts="{count} {label}",
        group="whole group",
        member="{name} ({member})",
        why="why: ",
        ahead=" · planned ahead",
        same_member=" · this list also has {id} for them: one private message can carry both",
        ahead_head="{count} planned ahead, from the history up to the night before: look first, and skip one if things changed (they wrote …)",
        option="{name}: {value}",
        action=lambda action, text: f"{action}: {text}",
        preview="# {operator} ({name}) → {inbox} · message {part}/{parts} · {tasks} tasks · {size} bytes",
        accepted="{operator}: message {part}/{parts} accepted by {inbox} ({tasks} tasks)",
        delivered="{operator} ({name}): {tasks} task(s) delivered to {inbox} in {messages} message(s)",
        nothing_new="{operator}: nothing new — the {count} task(s) of {day} were delivered already",
        no_inbox="{operator}: no inbox in {file} — {count} task(s) not delivered; add `inbox:` to the operator (docs/delivery.md)",
        unassigned="{count} task(s) of {day} have no operator in {file}: not delivered",
        unrecorded="{count} task(s) of {day} were planned before this state kept task texts (state version 6): not delivered — see them with `playbook run … --format md`",
        overtaken="{count} task(s) due earlier are no longer needed by the history up to the last run: not delivered:{listed}",
        missed="{count} task(s) reached no list: planned after their time, and their deadline passed before today began (what happened after the list was sent and was due the same evening — an evening leaderboard, someone who joined after the night's export was cut — or the look-ahead found that day full) — do them late if you see fit:{listed}",
        missed_item="{id} {who}: {what} (deadline {deadline})",
        missed_note="{count} more task(s) reached no list in time (planned after their deadline: what happened after the list was sent and was due the same evening, or the look-ahead found that day full) — do them late if you see fit:",
        missed_more="… {count} more: see `playbook tasks list`",
        no_room_note="{count} more task(s) the clock brings today found no room (today's capacity is full): {listed} — send them by hand if you want them, or raise the capacity",
        note="note: {note}",
        would_stop="{what}: the real delivery would stop here",
    ),
    marks=MarkWords(
        changed="{count} task(s) changed{statuses}",
        status="{count} {status}",
        statuses={"done": "done", "skipped": "skipped", "failed": "failed", "replied": "replied", "note": "note"},
        already="{count} already so",
        without_status="{count} without a status",
        reported="{count} line(s) reported above changed nothing — fix them and import the file again",
        separator=", ",
        brackets=(" (", ")"),
    ),
    explain=ExplainWords(
        labels={
            "planned": "planned", "suppressed": "suppressed", "withdrawn": "withdrawn", "displaced": "displaced", "stage": "stage", "not": "not",
            "changed": "changed", "error": "error", "too long": "too long", "answered": "answered", "because": "because", "and": "and", "moved": "moved", "but": "but",
        },
        group="group {group}",
        no_member="(group)",
        note="{rule} → {who}: {reason}",
        stage_note="{who}: {change}",
        due=", due {at}",
        printed_earlier="  [{id}] printed by an earlier run: do not send it",
        planned_earlier="[{id}] planned by an earlier run → {who}",
        repeats="  (and {count} more time{s} until {until})",
        staff="staff (community.yaml `staff:` or an operator's `member:`): never the member of a task",
        condition_false="condition `{source}` is false{shown}",
        condition_failed="condition `{source}` failed: {error}",
        shown=" ({values})",
        no_value="None",
        not_in_groups="group {group} is not one of {groups}",
        not_in_stages="stage {stage} is not one of {stages}",
        once="once: already fired for this member",
        changed="{action} {values}",
        tag_lapsed="{tag} taken off: its `for:` is over",
        tag_expiry="tag-expiry",
        not_in_group="{name} is no longer in {group}{since}",
        removed_at=": removed by the plan at {at}",
        removed_in_history=": removed from it at {at}",
        left_after_removal=": left it at {at}",
        out_until=": left it at {left}, back only at {back}",
        planned_already="a `{action}` of {name} in {group} is already planned, due {due}",
        planned_twice="the same firing already plans a `{action}` of {name} in {group} ({id}): it is done once",
        the_group="the group",
        in_group="{name} is already in {group}",
        invited="{name} already has an invite to {group}, planned at {at}, and has not joined it since",
        left_community="{name} is no longer in any group of the community",
        back_in_group="{name} is back in {group}",
        too_long="text of `{action}` is {length} characters, more than the {limit} `{channel}` allows: planned anyway, split it before sending",
        cooldown="cooldown {duration}: {rule} planned for {name} at {at}, next possible after {until}",
        duplicate="the same task (rule, member, instant, cause) is already planned",
        limit="limit {max} {kinds} per {per} reached for {name} (another due {at})",
        any_tasks="tasks",
        deadline="deadline: it would be due {due}, after its deadline {deadline}",
        full_past_deadline="deadline: capacity of {assignee} on {day} full ({capacity} a day); moved to {due}, it would be after its deadline {deadline}",
        capacity="capacity of {assignee} full on {day} and moving it would delay it more than max_delay {delay}",
        merged="merged into {id}, due {due}",
        with_message="dropped with the message it was merged into ({id}): {why}",
        superseded="superseded: the same rule's newer task {id} (of {at}) is due on {day} too; only the newer one is sent",
        one_a_day="one message a day (one to them that day already)",
        also=" (the same message also: {actions})",
        displaced="displaced: a task that comes first took its place — {why}",
        held_out="held_out: {who} is among the {share} of members held out of `{playbook}` to measure whether it works: the task is not given",
        moved="{why}: moved from {before} to {after}",
        quiet_hours="quiet hours",
        off_day="not sent on {name}",
        off_day_skipped="not sent on {name}: worth nothing after its day, skipped (give the rule a deadline: to move it instead)",
        pace_of="pace of {assignee}",
        capacity_of="capacity of {assignee} full",
        slots_taken="capacity of {assignee} on {day} is taken: {given} task(s) planned for them before, {count} removal(s) due before it (a removal is done when it is due: it cannot move)",
        with_removal="goes with removal {removal}, which found no slot: the member stays in the group",
        with_task="goes with {task}, no longer needed: {why}",
        with_stopped="goes with {task}, not planned: {why}",
        stale="stale: {why}",
        wrote="{name} wrote at {at}",
        replied="until replied: {name} replied to {playbook} at {at}",
        failed_now="`{source}` failed: {error}",
        false_now="`{source}` is false now",
        wrote_and="{wrote}, and {false}",
        no_longer_in_stage="{name} is no longer in stage {stage} (now {now})",
        no_longer_holds="`{condition}` no longer holds for {name}",
        answered_since="the question was answered by {who} at {at}",
        solved_since="{who} said at {at} the question was solved",
        answered="question answered by {who}: {how} ({kind})",
        answered_of="question of {at} answered by {who}: {how}{later} ({kind})",
        later=" {duration} later",
        answered_by={"reply": "a reply to it", "mention": "a message mentioning the asker", "next_message": "a message in the group", "solved": "the asker said it is solved"},
        times="times in {timezone} (from {file})",
        columns={
            "id": "id", "due": "due", "playbook": "playbook", "rule": "rule", "action": "action", "channel": "channel", "group": "group", "member": "member",
            "member_name": "member_name", "assignee": "assignee", "priority": "priority", "text": "text", "reason": "reason", "params": "params", "parts": "parts",
            "how": "how", "status": "status",
        },
        priorities={"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"},
    ),
    state=StateWords(
        summary="state:      {path}\nwatermark:  {watermark}\nmembers:    {members}\ngroups:     {groups}\ntimers:     {timers} pending\ntasks:      {tasks} planned so far\n"
        "delivered:  {messages} message(s) to operators' inboxes\nfor the report: {moves} stage move(s), {questions} question(s) ({answered} answered), counts of {days} day(s)",
        none_yet="none yet",
    ),
    inputs=InputWords(
        rejected="{where}: rejected: {reason}",
        strict="{where}: rejected: {reason} (--strict stops here)",
        warning="warning: {warning}",
        reasons={
            "not_utf8": "not UTF-8 text",
            "bad_json": "not valid JSON ({detail})",
            "json_at": "{message} at column {column}",
            "json_line": "{message}, line {line}",
            "not_object": "an event must be a JSON object",
            "lone_surrogate": "contains a lone surrogate (an escape such as \\ud800 that is half a character): not text — export the file again as UTF-8",
            "no_ts": "missing `ts`",
            "ts_bool": "`ts` is true/false — write an RFC 3339 time such as 2026-03-01T09:15:02+08:00",
            "ts_kind": "`ts` must be an RFC 3339 time or epoch seconds",
            "ts_not_time": "`ts` {value} is not an RFC 3339 time (e.g. 2026-03-01T09:15:02+08:00)",
            "no_type": "missing `type`",
            "type_text": "`type` must be text",
            "must_be_text": "`{name}` must be text",
            "must_be_ids": "`{name}` must be a list of ids",
            "needs_member": "`{kind}` event without `member`",
            "needs_group": "`{kind}` event without `group`",
            "needs_activity": "`{kind}` event without `activity`",
            "must_be_object": "`{name}` must be an object of key/value pairs",
            "must_be_number": "`{name}` must be a number",
            "older": "older than the engine's clock ({when}): events must be in time order",
            "same_message": "the same message (id {id}) as line {line}: a message is counted once",
            "too_far": "dated {at}, more than {horizon} after the latest event so far ({latest}), and {why}: a wrong date? — if the history really skips that long, run with a longer --max-future ({longer})",
            "next_earlier": "the next event (line {line}) is earlier",
            "no_later": "no later event confirms its date",
            "max_future_days": "e.g. --max-future {days}d",
            "max_future_off": "--max-future off",
            "export_order": "older than the event before it: the export is not in time order",
            "csv_width": "{cells} cells, but the header has {width} columns (an unquoted comma or line break?)",
            "csv_time": "{value} is not a time (write e.g. 2026-03-01 09:15:02, 2026-03-01T09:15:02+08:00 or epoch seconds)",
            "empty_time": "empty time in column `{column}`",
            "not_a_number": "`{column}` {value} is not a number",
            "rounded_id": "`{column}` {value} is an id Excel turned into scientific notation: nobody can tell whose it is — format the column as Text in Excel/WPS before saving, or export again",
            "no_sender": "no sender (empty `{column}`)",
            "in_file": "{file}: {reason}",
            "day_file_skipped": "{file}: {reason} — the whole day file is skipped",
            "not_a_list": "not a list of messages",
            "message_not_object": "a message must be a JSON object",
            "no_author": "message {id} has no `author` id",
            "no_timestamp": "message {id} has no `timestamp`",
            "field_not_time": "message {id}: `{field}` {value} is not a time",
            "field_not_number": "message {id}: `{field}` {value} is not a number",
            "no_usable_ts": "no usable `ts` ({value})",
            "no_user": "message without `user`",
            "no_comment_user": "file comment without `comment.user`",
            "unknown_message_type": "unknown message type {type} (expected message or service)",
            "no_from_id": "message {id} has no `from_id` (sender) — export the chat again with Telegram Desktop, format JSON",
            "no_date": "message {id} has no `date_unixtime` or `date`",
            "service_no_actor": "service message {id} ({action}) has no `actor_id`",
            "service_no_action": "service message {id} has no `action`",
            "dms_left_out": "{count} direct message conversation{s} (dms.json, mpims.json) left out — playbooks plan group work; pass --private-chats to plan for them too",
            "private_left_out": "{file}: {kind} ({channel}), left out — pass --private-chats to plan for private conversations too",
            "direct_message": "a direct message",
            "env_unset": "the environment variable {name} ({operator}'s inbox {key}) is not set",
            "env_no_address": "the environment variable {name} ({operator}'s inbox {key}) holds no web address (https://…)",
            "url": "url",
            "secret": "secret",
            "group_dm": "a group DM",
        },
    ),
)


LANGUAGES: dict[str, Language] = {"zh-CN": ZH_CN, "en": EN}


def words_for(language: str | None) -> Language:
    """The words of ``language`` (``community.language``); English for None or a language not known."""
    return LANGUAGES.get(language or "en", EN)


def plan_words(language: str | None) -> PlanWords:
    return words_for(language).plan


class Reason(str):
    """Why an input record was not used (or what a source warns of), said in the community's
    language when the run prints it: the text is English (what ``str`` gives, and what a test
    or a program reading ``--rejects`` compares); ``key`` names its template among the engine's
    words (``InputWords.reasons``) and ``values`` fill it, a value maybe a Reason too. A
    plugin's own reasons are plain strings, shown as they are."""

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, /, **values: Any) -> Reason:
        reason = super().__new__(cls, reason_text(key, values, EN))
        reason.key, reason.values = key, values
        return reason

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (Beam) as what makes it
        return (_reason, (self.key, self.values))


def _reason(key: str, values: dict[str, Any]) -> Reason:
    return Reason(key, **values)


def reason_of(error: Exception) -> str:
    """What ``error`` says: its Reason when it was raised with one, else its text."""
    given = error.args[0] if len(error.args) == 1 else None
    return given if isinstance(given, Reason) else str(error)


def say(text: str, words: Language) -> str:
    """``text`` in ``words``' language, when it is a Reason; any other text as it is."""
    return reason_text(text.key, text.values, words) if isinstance(text, Reason) else str(text)


def reason_text(key: str, values: Mapping[str, object], words: Language) -> str:
    """The template ``key`` of ``words``' reasons, filled with ``values``: a Reason among them said
    in the same language, a ``timedelta`` as the language writes a duration."""
    said = {name: say(value, words) if isinstance(value, str) else words.duration(value.total_seconds()) if isinstance(value, timedelta) else value for name, value in values.items()}
    return words.inputs.reasons[key].format(**said)


def reason_words(language: str | None) -> ReasonWords:
    return words_for(language).reasons


def summary_words(language: str | None) -> SummaryWords:
    return words_for(language).summary


def noted_before_text(how: str, text: str, note: str) -> str:
    """``how`` (an instruction that ends with ``text``: ``给 大鹏 发放奖励：…``) with ``note`` said
    before the text (``给 大鹏 发放奖励（同一条消息还包括：邀请进群）：…``); after it otherwise."""
    if text and how.endswith(text):
        step = how[: len(how) - len(text)]
        bare = step.rstrip("：: ")
        return bare + note + step[len(bare):] + text
    return how + note
