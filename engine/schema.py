"""JSON Schemas (draft 2020-12) of playbooks, community settings, events and tasks.

The base schemas of playbooks and community.yaml are data, written by hand in
``schemas/base/`` (installed as ``playbook_engine.schemas``); those of events and tasks are
derived from the records' field declarations (``playbook_engine.contract``). Triggers,
actions and channels registered by plugins add their own parts, so ``playbook schema playbook`` and ``playbook validate`` know plugin
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
from functools import cache
from importlib import resources
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


@cache
def _base_text(kind: str) -> str:
    return resources.files("playbook_engine.schemas").joinpath(f"{kind}.json").read_text(encoding="utf-8")


def _base(kind: str) -> dict[str, Any]:
    """The hand-written base schema of ``kind`` (``schemas/base/KIND.json``), a fresh copy to complete."""
    schema: dict[str, Any] = json.loads(_base_text(kind))
    return schema


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
        schema = _base("community")
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
    schema = _base("playbook")
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
