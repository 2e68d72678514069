"""JSON Schemas (draft 2020-12) of playbooks, community settings, events and tasks.

The base schemas live here as data; triggers, actions and channels registered by plugins add
their own parts, so ``playbook schema playbook`` and ``playbook validate`` know plugin
additions too. ``schemas/*.schema.json`` in the repository are these, exported (a test keeps
them in step; regenerate with ``python -m playbook_engine.schema schemas/``).

Every property carries a ``title``, a ``description`` and ``examples``: an editor with a YAML
language server shows them as completion and hover help, which is most of the manual an
operator reads. A plugin's fragment gets a title made from its name and, where it gives no
examples, the matching ones from ``OPTION_EXAMPLES``.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from playbook_engine.contract import (
    ID,
    IDS,
    MOMENT,
    NUMBER,
    OBJECT,
    TEXT,
    TEXT_OR_NULL,
    TEXTS,
    TIME,
    Event,
    Task,
    specs,
)
from playbook_engine.events import CORE_TYPES

if TYPE_CHECKING:
    from playbook_engine.plugins import Registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_URL = "https://playbook-engine.dev/schemas/"
KINDS = ("playbook", "community", "event", "task")
PRIORITIES = ("low", "normal", "high", "urgent")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
DURATION_PATTERN = r"^\s*(?:\d+\s*[smhdw]\s*)+$"
CORE_EVENT_TYPES = sorted(CORE_TYPES)

# Examples for the options of plugin-provided triggers and actions that bring none; for each
# option, the candidates that its schema accepts are used.
OPTION_EXAMPLES: dict[str, list[Any]] = {
    "text": ["{{ member.name }}，欢迎加入！", "本周读书分享会周六 20:00 开始，欢迎来聊～"],
    "points": [10, 50],
    "coupon": ["NEWBIE-10", "VIP-50"],
    "gift": ["定制书签", "周边帆布袋"],
    "group": ["seed-users", "g2"],
    "form": ["https://wj.qq.com/s2/123456", "survey-0308"],
    "to": ["op-lily", "admin"],
    "tags": ["newbie", ["vip", "kol"]],
    "keywords": [["广告", "加微信", "代购"], ["请问", "怎么"]],
    "regex": ["https?://", "(加|\\+)\\s*(微信|vx|v信)"],
    "each": ["member", "group"],
    "country": ["US", "SG"],
    "at": ["09:00", [100, 500, 1000]],
    "metric": ["messages", "replies", "active_days"],
    "window": ["7d", "30d"],
    "top": [3, 10],
    "every": ["0 20 1,16 * *", "0 9 * * 1"],
    "participated": [True, False],
    # whole triggers and actions
    "leaderboard": [{"metric": "messages", "window": "30d", "top": 3, "every": "0 20 1,16 * *"}],
    "milestone": [{"metric": "messages", "at": [100, 500, 1000]}],
    "activity_ended": [{"participated": True}, {"participated": False}],
    "mention": ["{{ member | mention }} 这周的话题你一定有想法～"],
    "dm": ["{{ member.name }} 你好，好久没在群里看到你了，最近群里的内容对你有帮助吗？"],
    "post": ["本周读书分享会周六 20:00 开始，欢迎大家来聊～"],
    "reward": [{"points": 50, "text": "恭喜 {{ member.name }} 获得本月活跃前三！"}, {"gift": "定制书签"}],
    "invite": [{"group": "seed-users", "text": "{{ member.name }}，邀请你加入种子用户群～"}],
    "survey": [{"form": "https://wj.qq.com/s2/123456", "text": "这次活动你觉得哪里可以改进？"}],
    "warn": ["请勿在群里发广告，再发将被移出群聊"],
    "remove": [None, "发广告，已提醒两次"],
    "notify": [{"to": "op-lily", "text": "{{ member.name }} 的问题 30 分钟没人回答"}],
    "tag": ["newbie", ["vip", "kol"]],
    "untag": ["newbie"],
}


def _prop(title: str, description: str, examples: list[Any], **schema: Any) -> dict[str, Any]:
    return {"title": title, "description": description, **schema, "examples": examples}


def _text(title: str, description: str, examples: list[Any], **extra: Any) -> dict[str, Any]:
    return _prop(title, description, examples, type="string", **extra)


def _duration(title: str, description: str, examples: list[str] | None = None) -> dict[str, Any]:
    """A duration property: the pattern lets an editor flag `3 days`; the message comes from validate."""
    return _text(
        title,
        description + " A number and a unit (m minutes, h hours, d days, w weeks), or a sum such as 1d12h.",
        examples or ["30m", "2h", "7d", "2w", "1d12h"],
        pattern=DURATION_PATTERN,
    )


def _string_list(title: str, description: str, examples: list[Any]) -> dict[str, Any]:
    return _prop(title, description, examples, type="array", items={"type": "string"})


def _rule_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Rule 规则",
        "description": "One trigger (`when`), optional conditions (`if`), and the actions (`do`) to plan when it fires.",
        "required": ["id", "when", "do"],
        "additionalProperties": False,
        "properties": {
            "id": _text("Rule id", "Rule id, unique within the playbook; appears in every task it plans. Letters, digits, - and _.", ["nudge", "ask-why"], pattern=ID_PATTERN),
            "title": _text("Title 标题", "A human title for the rule.", ["群内@唤醒", "私信了解原因"]),
            "description": _text("Description 说明", "Why this rule exists; shown by `playbook graph` and in reviews.", ["先在群里 @ 一下，再私信问原因"]),
            "when": {"$ref": "#/$defs/when", "title": "Trigger 触发", "description": "When the rule fires: exactly one trigger, e.g. `{silence: 3d}` or `{event: member_joined}`.", "examples": [{"silence": "3d"}, {"event": "message", "keywords": ["广告", "加微信"]}]},
            "if": _prop(
                "Condition 条件",
                "A condition (Jinja2 expression over member, group, event, now, community), or a list that must all hold. A comparison with an unknown value is false.",
                ["member.messages > 0", ["'vip' in member.tags", "member.days_silent >= 3"]],
                oneOf=[{"type": "string"}, {"type": "boolean"}, {"type": "array", "items": {"type": ["string", "boolean"]}, "minItems": 1}],
            ),
            "do": _prop(
                "Actions 动作",
                "Actions, in order. Each item has exactly one key naming the action; a text value is the message.",
                [[{"mention": "{{ member.name }}，这周的话题你一定有想法～"}, {"tag": "nudged"}]],
                type="array",
                minItems=1,
                items={"$ref": "#/$defs/action"},
            ),
            "cooldown": _duration("Cooldown 冷却", "After this rule planned a task for a member, plan no other for the same member for this long.", ["14d", "30d"]),
            "once": _prop("Once 只一次", "Fire at most once per member, ever.", [True], type="boolean", default=False),
            "priority": _prop("Priority 优先级", "Task priority; decides which tasks win when limits or operator capacity allow only some.", ["high", "low"], enum=list(PRIORITIES), default="normal"),
            "delay": _duration("Delay 延迟", "Plan the tasks this long after the trigger fired.", ["10m", "1h"]),
            "assignee": _text("Assignee 负责人", "Operator id (from community.yaml `operators`) to assign the tasks to, instead of the operator of the member's group.", ["op-lily"]),
            "channel": _text("Channel 渠道", "Channel to use instead of the playbook's, group's or community's channel.", ["wechat"]),
            "stages": _string_list("Stages 阶段", "Only for members in these lifecycle stages (overrides the playbook's `stages`).", [["growth", "mature"], ["decline"]]),
            "groups": _string_list("Groups 群", "Only for members of these groups (overrides the playbook's `groups`).", [["g1", "g2"]]),
        },
    }


def _test_schema() -> dict[str, Any]:
    task_fields = _prop("Task fields", "Task fields to compare, e.g. rule, action, member, due, text.", [{"rule": "nudge", "member": "m1"}], type="object")
    return {
        "type": "object",
        "title": "Test 测试",
        "description": "One example: events in, tasks expected (or not expected) out.",
        "required": ["name", "events"],
        "additionalProperties": False,
        "properties": {
            "name": _text("Name 名称", "What the test shows.", ["a member silent for three days is nudged once"]),
            "events": _prop("Events 事件", "Events in the native format (ts, type, member, …), in time order.", [[{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "早上好"}]], type="array", items={"type": "object"}),
            "until": _text("Until 截止", "Run the clock to this time after the last event (RFC 3339).", ["2026-03-09T00:00:00+08:00"]),
            "expect": _prop("Expect 期望", "Tasks that must be planned; each lists the task fields to compare.", [[{"rule": "nudge", "action": "mention", "member": "m1"}]], type="array", items=task_fields),
            "absent": _prop("Absent 不应出现", "Tasks that must not be planned; each lists task fields.", [[{"rule": "first-words"}]], type="array", items=task_fields),
        },
    }


def _playbook_base() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "playbook.schema.json",
        "title": "Playbook 运营剧本",
        "description": "A community-operations playbook: rules that turn member events into planned operator tasks.",
        "type": "object",
        "required": ["playbook", "rules"],
        "additionalProperties": False,
        "properties": {
            "playbook": _text("Playbook id", "Playbook id, unique among the playbooks of a directory; appears in every task. Letters, digits, - and _.", ["silent-member-care", "new-member-welcome"], pattern=ID_PATTERN),
            "title": _text("Title 标题", "A human title.", ["沉默成员关怀", "新人破冰"]),
            "description": _text("Description 说明", "What the playbook does and why; shown in reviews and `playbook graph`.", ["对沉默一段时间的成员先在群里@，再私信了解原因"]),
            "stages": _string_list("Stages 阶段", "Only members in these lifecycle stages (stage ids from community.yaml `lifecycle`).", [["growth", "mature"], ["newbie"]]),
            "groups": _string_list("Groups 群", "Only members of these groups (group ids as in the events).", [["g1", "g2"]]),
            "channel": _text("Channel 渠道", "Channel for all rules of this playbook, unless a rule says otherwise.", ["wechat"]),
            "rules": _prop("Rules 规则", "The rules, evaluated in order when several fire at once.", [[{"id": "nudge", "when": {"silence": "3d"}, "do": [{"mention": "{{ member.name }} 好久不见"}]}]], type="array", minItems=1, items={"$ref": "#/$defs/rule"}),
            "tests": _prop("Tests 测试", "Examples run by `playbook test`: events in, tasks expected out.", [[{"name": "a joining member is welcomed", "events": [{"ts": "2026-03-02T10:00:00+08:00", "type": "member_joined", "group": "g1", "member": "m1"}], "expect": [{"rule": "welcome"}]}]], type="array", items=_test_schema()),
        },
        "$defs": {"rule": _rule_schema(), "when": {}, "action": {}},
    }


def _community_base() -> dict[str, Any]:
    operator = {
        "type": "object",
        "title": "Operator 运营",
        "description": "A person who carries out tasks.",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {
            "id": _text("Operator id", "Operator id, used in a rule's `assignee`.", ["op-lily"], pattern=ID_PATTERN),
            "name": _text("Name 名称", "Display name.", ["Lily", "小林"]),
            "groups": _string_list("Groups 群", "Groups this operator looks after; tasks in them are assigned to this operator.", [["g1", "g2"]]),
            "capacity": _prop("Capacity 每日任务量", "Tasks per day this operator can do; the rest move to the next day, highest priority first.", [40], type="integer", minimum=1),
        },
    }
    group = {
        "type": "object",
        "title": "Group 群",
        "description": "A known group: display name and channel.",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {
            "id": _text("Group id", "Group id as in the events.", ["g1"]),
            "name": _text("Name 名称", "Display name.", ["读书会1群"]),
            "channel": _text("Channel 渠道", "Channel of this group, if not the community's.", ["wechat"]),
        },
    }
    limit = {
        "type": "object",
        "title": "Limit 频率上限",
        "description": "At most `max` tasks of the kinds in `actions` per member within `per`, across all playbooks.",
        "required": ["actions", "max", "per"],
        "additionalProperties": False,
        "properties": {
            "actions": _prop("Actions 动作", "Action kinds counted, or `any` for all tasks.", [["dm"], "any"], oneOf=[{"const": "any"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]),
            "max": _prop("Max 最多", "Most tasks of these kinds per member within `per`.", [2, 4], type="integer", minimum=0),
            "per": _duration("Per 时间窗", "The sliding window.", ["7d", "30d"]),
        },
    }
    stage = {
        "type": "object",
        "title": "Stage 阶段",
        "description": "A lifecycle stage: a member is in the first stage whose `if` holds.",
        "required": ["stage", "if"],
        "additionalProperties": False,
        "properties": {
            "stage": _text("Stage id", "Stage id used in `stages:` and `when: {stage: …}`.", ["newbie", "growth", "mature", "decline", "churn"], pattern=ID_PATTERN),
            "label": _text("Label 名称", "Display label.", ["新手期", "成长期", "成熟期", "衰退期", "流失期"]),
            "if": _prop("Condition 条件", "Condition over `member`, `now` and `community`; `true` for the last, catch-all stage.", ["member.days_silent >= 14", "member.days_since_join < 7", True], type=["string", "boolean"]),
        },
    }
    community = {
        "type": "object",
        "title": "Community 社群",
        "description": "The community the playbooks serve.",
        "examples": [{"name": "读书会", "timezone": "Asia/Shanghai", "channel": "wechat"}],
        "required": ["name", "timezone"],
        "additionalProperties": False,
        "properties": {
            "name": _text("Name 名称", "Name of the community.", ["读书会"]),
            "timezone": _text("Time zone 时区", "IANA time zone in which naive times, cron schedules, days and quiet hours are read.", ["Asia/Shanghai", "Asia/Singapore"]),
            "channel": _text("Channel 渠道", "Default channel (chat platform) of the groups.", ["wechat"]),
            "channel_options": _prop("Channel options 渠道选项", "Options of the default channel, per the channel's own schema.", [{}], type="object"),
            "groups": _prop("Groups 群", "Known groups: display names and per-group channel.", [[{"id": "g1", "name": "读书会1群"}]], type="array", items=group),
            "operators": _prop("Operators 运营", "The people who carry out the tasks.", [[{"id": "op-lily", "name": "Lily", "groups": ["g1", "g2"], "capacity": 40}]], type="array", items=operator),
            "quiet_hours": _text("Quiet hours 免打扰时段", "No task is due inside this local time window; due times move to its end.", ["22:00-08:00"], pattern=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"),
            "max_delay": _duration("Max delay 最长推迟", "A task that operator capacity would move later than this is dropped instead.", ["3d"]),
            "limits": _prop("Limits 频率上限", "Per-member frequency caps across all playbooks.", [[{"actions": ["dm"], "max": 2, "per": "7d"}, {"actions": "any", "max": 4, "per": "7d"}]], type="array", items=limit),
            "question": _prop(
                "Question 提问识别",
                "How a question is recognised (for the `unanswered` trigger).",
                [{"patterns": ["[?？]\\s*$", "请问", "怎么"]}],
                type="object",
                additionalProperties=False,
                properties={"patterns": _string_list("Patterns 规则", "Regular expressions; a message matching any of them is a question.", [["[?？]\\s*$", "请问", "怎么", "如何"]])},
            ),
            "lifecycle": _prop(
                "Lifecycle 生命周期",
                "Lifecycle stages, first match wins; evaluated on events and as time passes.",
                [[{"stage": "churn", "label": "流失期", "if": "member.left or member.days_silent >= 30"}, {"stage": "growth", "label": "成长期", "if": "true"}]],
                type="array",
                minItems=1,
                items=stage,
            ),
        },
    }
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "community.schema.json",
        "title": "Community settings 社群设置",
        "description": "community.yaml: time zone, channel, operators, guardrails and lifecycle stages shared by all playbooks in a directory.",
        "type": "object",
        "required": ["community"],
        "additionalProperties": False,
        "properties": {"community": community},
    }


# The JSON Schema of each kind of value (contract.py): what the reader accepts of an event
# line, what a task record holds. A field's own ``schema`` adds to it, or replaces it with an enum.
KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    TIME: {"type": ["string", "number"]},
    MOMENT: {"type": "string", "format": "date-time"},
    TEXT: {"type": "string"},
    TEXT_OR_NULL: {"type": ["string", "null"]},
    ID: {"type": ["string", "integer"]},
    IDS: {"type": "array", "items": {"type": ["string", "integer"]}},
    TEXTS: {"type": "array", "items": {"type": "string"}},
    OBJECT: {"type": "object"},
    NUMBER: {"type": "number"},
}


def _record_properties(record: type[Any]) -> dict[str, Any]:
    """The ``properties`` of a record's JSON Schema, from the fields its dataclass declares."""
    properties = {}
    for _, key, field_spec in specs(record):
        value = {} if "enum" in field_spec.schema else KIND_SCHEMAS[field_spec.kind]
        properties[key] = _prop(field_spec.title, field_spec.description, copy.deepcopy(list(field_spec.examples)), **copy.deepcopy({**value, **field_spec.schema}))
    return properties


def _required_keys(record: type[Any]) -> list[str]:
    return [key for _, key, field_spec in specs(record) if field_spec.required]


def event_schema() -> dict[str, Any]:
    properties = _record_properties(Event)
    properties["type"]["examples"] = list(CORE_EVENT_TYPES)  # the reader, not the contract, knows the core types
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "event.schema.json",
        "title": "Event 事件",
        "description": "One line of the native JSON Lines event format.",
        "type": "object",
        "required": _required_keys(Event),
        "properties": properties,
    }


def task_schema() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "task.schema.json",
        "title": "Planned task 运营任务",
        "description": "One operator task planned by a dry run: who to contact, where, when, with what text, and why.",
        "type": "object",
        "required": _required_keys(Task),
        "properties": _record_properties(Task),
    }


def build_schema(kind: str, registry: Registry | None = None) -> dict[str, Any]:
    """The schema of ``kind`` (one of KINDS) with the parts that ``registry``'s plugins add."""
    if kind == "event":
        return event_schema()
    if kind == "task":
        return task_schema()
    if kind == "community":
        schema = _community_base()
        if registry is not None:
            community = schema["properties"]["community"]["properties"]
            if registry.channels:
                names = sorted(registry.channels)
                community["channel"]["enum"] = names
                community["groups"]["items"]["properties"]["channel"]["enum"] = names
            if registry.actions:
                community["limits"]["items"]["properties"]["actions"]["oneOf"][1]["items"]["enum"] = sorted(registry.actions)
        return schema
    if kind != "playbook":
        raise ValueError(f"unknown schema `{kind}` — one of {', '.join(KINDS)}")
    schema = _playbook_base()
    schema["$defs"]["when"] = _when_schema(registry)
    schema["$defs"]["action"] = _action_schema(registry)
    if registry is not None and registry.channels:
        names = sorted(registry.channels)
        for where in (schema["properties"]["channel"], schema["$defs"]["rule"]["properties"]["channel"]):
            where["enum"] = names
    return schema


def _when_schema(registry: Registry | None) -> dict[str, Any]:
    triggers = dict(sorted(registry.triggers.items())) if registry else {}
    properties: dict[str, Any] = {}
    owners: dict[str, list[str]] = {}
    for name, trigger in triggers.items():
        properties[name] = _plugin_part(trigger.schema, name, trigger.description)
    for name, trigger in triggers.items():
        for option, option_schema in trigger.options.items():
            owners.setdefault(option, []).append(name)
            if option not in properties:
                properties[option] = _plugin_part(option_schema, option, str(option_schema.get("description", "")))
    schema: dict[str, Any] = {
        "type": "object",
        "title": "Trigger 触发",
        "description": "When the rule fires: exactly one trigger key, plus that trigger's options.",
        "examples": [{"silence": "3d"}, {"event": "member_joined"}],
        "minProperties": 1,
        "additionalProperties": False,
        "properties": properties,
    }
    # An option without its trigger does nothing; say so in the editor already.
    single = {option: names for option, names in owners.items() if len(names) == 1 and option not in triggers}
    shared = {option: names for option, names in owners.items() if len(names) > 1 and option not in triggers}
    if single:
        schema["dependentRequired"] = single
    if shared:
        schema["dependentSchemas"] = {option: {"anyOf": [{"required": [name]} for name in names]} for option, names in shared.items()}
    return schema


def _action_schema(registry: Registry | None) -> dict[str, Any]:
    actions = dict(sorted(registry.actions.items())) if registry else {}
    return {
        "type": "object",
        "title": "Action 动作",
        "description": "One action: a single key naming it. A text value is the message, e.g. `- dm: \"你好\"`.",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {name: _plugin_part(action.schema, name, action.description) for name, action in actions.items()},
    }


def _plugin_part(fragment: Mapping[str, Any], name: str, description: str) -> dict[str, Any]:
    """A plugin's schema fragment with a title, its description, and examples wherever it lacks them."""
    part = copy.deepcopy(dict(fragment))
    part = {"title": _title(name), "description": description or part.get("description", ""), **{k: v for k, v in part.items() if k not in ("title", "description")}}
    if "title" in fragment:
        part["title"] = fragment["title"]
    _complete(part, name)
    return part


def _complete(schema: dict[str, Any], name: str) -> None:
    """Give every property below ``schema`` a title, and examples from OPTION_EXAMPLES that fit."""
    if "examples" not in schema:
        examples = _fitting_examples(schema, name)
        if examples:
            schema["examples"] = examples
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, ()):
            if isinstance(branch, dict):
                _complete_branch(branch, name)
    if isinstance(schema.get("items"), dict):
        _complete_branch(schema["items"], name)
    for option, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict):
            sub.setdefault("title", _title(option))
            sub.setdefault("description", _title(option) + ".")
            _complete(sub, option)


def _complete_branch(branch: dict[str, Any], name: str) -> None:
    for option, sub in branch.get("properties", {}).items():
        if isinstance(sub, dict):
            sub.setdefault("title", _title(option))
            sub.setdefault("description", _title(option) + ".")
            _complete(sub, option)


def _fitting_examples(schema: Mapping[str, Any], name: str) -> list[Any]:
    if "enum" in schema:
        return list(schema["enum"])[:3]
    candidates = OPTION_EXAMPLES.get(name, [])
    validator = jsonschema.Draft202012Validator(schema)
    return [candidate for candidate in candidates if validator.is_valid(candidate)]


NAME_TITLES = {
    "event": "Event 事件", "silence": "Silence 沉默", "after_join": "After join 入群后", "stage": "Stage entered 进入阶段",
    "unanswered": "Unanswered 无人回答", "schedule": "Schedule 定时", "holiday": "Holiday 节日", "leaderboard": "Leaderboard 排行榜",
    "milestone": "Milestone 里程碑", "activity_ended": "Activity ended 活动结束", "keywords": "Keywords 关键词", "regex": "Regex 正则",
    "mention": "Mention @提及", "dm": "DM 私信", "post": "Post 群发", "reward": "Reward 奖励", "invite": "Invite 邀请进群",
    "survey": "Survey 问卷", "warn": "Warn 警告", "remove": "Remove 移出群", "notify": "Notify 通知运营",
    "tag": "Tag 打标签", "untag": "Untag 去标签", "text": "Text 内容",
}


def _title(name: str) -> str:
    return NAME_TITLES.get(name) or name.replace("_", " ").capitalize()


def export(directory: str) -> None:
    """Write every schema, with the built-in plugins' additions, into ``directory``."""
    from playbook_engine.plugins import load_registry

    registry = load_registry(entrypoints=False)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        (target / f"{kind}.schema.json").write_text(schema_text(build_schema(kind, registry)), encoding="utf-8")


def schema_text(schema: Mapping[str, Any]) -> str:
    """The exported form of a schema, byte for byte what ``schemas/*.schema.json`` hold."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    export(sys.argv[1] if len(sys.argv) > 1 else "schemas")
