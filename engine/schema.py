"""JSON Schemas (draft 2020-12) of playbooks, community settings, events and tasks.

The base schemas live here as data; triggers, actions and channels registered by plugins add
their own parts, so ``playbook schema playbook`` and ``playbook validate`` know plugin
additions too. ``schemas/*.schema.json`` in the repository are these, exported (a test keeps
them in step; regenerate with ``python -m engine.schema schemas/``).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.events import CORE_TYPES
from engine.members import MEMBER_FIELDS

if TYPE_CHECKING:
    from engine.plugins import Registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_URL = "https://playbook-engine.dev/schemas/"
KINDS = ("playbook", "community", "event", "task")
PRIORITIES = ("low", "normal", "high", "urgent")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


DURATION = _text(
    "A duration: a number and a unit (m minutes, h hours, d days, w weeks), or a sum such as 1d12h.",
    examples=["30m", "2h", "7d", "2w", "1d12h"],
)
STRING_LIST = {"type": "array", "items": {"type": "string"}}


def _rule_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Rule",
        "description": "One trigger, optional conditions, and the actions to plan when it fires.",
        "required": ["id", "when", "do"],
        "additionalProperties": False,
        "properties": {
            "id": _text("Rule id, unique within the playbook; appears in every task it plans.", pattern=ID_PATTERN, examples=["nudge", "ask-why"]),
            "title": _text("A human title for the rule."),
            "description": _text("Why this rule exists; shown by `playbook graph` and in reviews."),
            "when": {"$ref": "#/$defs/when"},
            "if": {
                "description": "A condition (Jinja2 expression over member, group, event, now, community), or a list that must all hold. A comparison with an unknown value is false.",
                "examples": ["member.messages > 0", ["'vip' in member.tags", "member.days_silent >= 3"]],
                "oneOf": [{"type": "string"}, {"type": "boolean"}, {"type": "array", "items": {"type": ["string", "boolean"]}, "minItems": 1}],
            },
            "do": {
                "type": "array",
                "description": "Actions, in order. Each item has exactly one key naming the action; a string value is the text.",
                "minItems": 1,
                "items": {"$ref": "#/$defs/action"},
            },
            "cooldown": {**DURATION, "description": "After this rule planned a task for a member, do not plan another for the same member for this long."},
            "once": {"type": "boolean", "description": "Fire at most once per member, ever.", "default": False},
            "priority": {"enum": list(PRIORITIES), "description": "Task priority; decides who wins when limits or capacity allow only some tasks.", "default": "normal"},
            "delay": {**DURATION, "description": "Plan the tasks this long after the trigger fired."},
            "assignee": _text("Operator id to assign the tasks to, instead of the operator of the member's group."),
            "channel": _text("Channel to use instead of the group's or community's channel."),
            "stages": {**STRING_LIST, "description": "Only for members in these lifecycle stages (overrides the playbook's `stages`)."},
            "groups": {**STRING_LIST, "description": "Only for members of these groups (overrides the playbook's `groups`)."},
        },
    }


def _playbook_base() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "playbook.schema.json",
        "title": "Playbook",
        "description": "A community-operations playbook: rules that turn member events into planned operator tasks.",
        "type": "object",
        "required": ["playbook", "rules"],
        "additionalProperties": False,
        "properties": {
            "playbook": _text("Playbook id, unique among the playbooks of a directory; appears in every task.", pattern=ID_PATTERN, examples=["silent-member-care"]),
            "title": _text("A human title, e.g. 沉默成员关怀."),
            "description": _text("What the playbook does and why; shown in reviews and `playbook graph`."),
            "stages": {**STRING_LIST, "description": "Only members in these lifecycle stages (ids from community.yaml `lifecycle`)."},
            "groups": {**STRING_LIST, "description": "Only members of these groups."},
            "channel": _text("Channel for all rules of this playbook, unless a rule says otherwise."),
            "rules": {"type": "array", "description": "The rules, evaluated in order when several fire at once.", "minItems": 1, "items": {"$ref": "#/$defs/rule"}},
            "tests": {
                "type": "array",
                "description": "Examples run by `playbook test`: events in, tasks expected out.",
                "items": {
                    "type": "object",
                    "required": ["name", "events"],
                    "additionalProperties": False,
                    "properties": {
                        "name": _text("What the test shows."),
                        "events": {"type": "array", "description": "Events in the native format (ts, type, member, …).", "items": {"type": "object"}},
                        "until": _text("Run the clock to this time after the last event (RFC 3339)."),
                        "expect": {"type": "array", "description": "Tasks that must be planned; each lists the task fields to compare.", "items": {"type": "object"}},
                        "absent": {"type": "array", "description": "Tasks that must not be planned; each lists task fields.", "items": {"type": "object"}},
                    },
                },
            },
        },
        "$defs": {"rule": _rule_schema(), "when": {}, "action": {}},
    }


def _community_base() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "community.schema.json",
        "title": "Community settings",
        "description": "community.yaml: time zone, channel, operators, guardrails and lifecycle stages shared by all playbooks in a directory.",
        "type": "object",
        "required": ["community"],
        "additionalProperties": False,
        "properties": {
            "community": {
                "type": "object",
                "description": "The community the playbooks serve.",
                "required": ["name", "timezone"],
                "additionalProperties": False,
                "properties": {
                    "name": _text("Name of the community, e.g. 读书会."),
                    "timezone": _text("IANA time zone in which naive times, cron schedules, days and quiet hours are read.", examples=["Asia/Shanghai"]),
                    "channel": _text("Default channel (chat platform) of the groups.", examples=["wechat"]),
                    "channel_options": {"type": "object", "description": "Options of the default channel, per the channel's own schema."},
                    "groups": {
                        "type": "array",
                        "description": "Known groups: display names and per-group channel.",
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "additionalProperties": False,
                            "properties": {"id": _text("Group id as in the events."), "name": _text("Display name, e.g. 读书会2群."), "channel": _text("Channel of this group.")},
                        },
                    },
                    "operators": {
                        "type": "array",
                        "description": "The people who carry out the tasks.",
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "additionalProperties": False,
                            "properties": {
                                "id": _text("Operator id, used in `assignee`.", pattern=ID_PATTERN),
                                "name": _text("Display name."),
                                "groups": {**STRING_LIST, "description": "Groups this operator looks after; tasks in them are assigned to this operator."},
                                "capacity": {"type": "integer", "minimum": 1, "description": "Tasks per day this operator can do."},
                            },
                        },
                    },
                    "quiet_hours": _text("No task is due inside this local time window; due times move to its end.", pattern=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$", examples=["22:00-08:00"]),
                    "max_delay": {**DURATION, "description": "A task that capacity would move later than this is dropped instead."},
                    "limits": {
                        "type": "array",
                        "description": "Per-member frequency caps across all playbooks.",
                        "items": {
                            "type": "object",
                            "required": ["actions", "max", "per"],
                            "additionalProperties": False,
                            "properties": {
                                "actions": {"description": "Action kinds counted (`any` for all tasks).", "oneOf": [{"const": "any"}, STRING_LIST]},
                                "max": {"type": "integer", "minimum": 0, "description": "Most tasks of these kinds per member within `per`."},
                                "per": {**DURATION, "description": "The sliding window."},
                            },
                        },
                    },
                    "question": {
                        "type": "object",
                        "description": "How a question is recognised (for `unanswered`).",
                        "additionalProperties": False,
                        "properties": {"patterns": {**STRING_LIST, "description": "Regular expressions; a message matching any is a question."}},
                    },
                    "lifecycle": {
                        "type": "array",
                        "description": "Lifecycle stages; a member is in the first stage whose `if` holds. Evaluated on events and as time passes.",
                        "items": {
                            "type": "object",
                            "required": ["stage", "if"],
                            "additionalProperties": False,
                            "properties": {
                                "stage": _text("Stage id used in `stages:` and `when: {stage: …}`.", pattern=ID_PATTERN, examples=["newbie", "growth", "mature", "decline", "churn"]),
                                "label": _text("Display label, e.g. 新手期."),
                                "if": {"description": "Condition over `member` and `now`.", "type": ["string", "boolean"]},
                            },
                        },
                    },
                },
            },
        },
    }


def event_schema() -> dict[str, Any]:
    ids = {"type": "array", "items": {"type": ["string", "integer"]}}
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "event.schema.json",
        "title": "Event",
        "description": "One line of the native JSON Lines event format.",
        "type": "object",
        "required": ["ts", "type"],
        "properties": {
            "ts": {"description": "RFC 3339 time with offset (a naive time is read in the community time zone), or epoch seconds/milliseconds.", "type": ["string", "number"], "examples": ["2026-03-01T09:15:02+08:00"]},
            "type": {"type": "string", "description": "Event type; unknown types are kept and can trigger rules.", "examples": sorted(CORE_TYPES)},
            "member": {"type": ["string", "integer"], "description": "Stable member id (member events)."},
            "group": {"type": ["string", "integer"], "description": "Group id (group events)."},
            "name": _text("Display name of the member; the latest wins."),
            "id": {"type": ["string", "integer"], "description": "Message id."},
            "text": _text("Message text."),
            "mentions": {**ids, "description": "Ids of the members mentioned."},
            "reply_to": {"type": ["string", "integer"], "description": "Id of the message replied to."},
            "activity": {"type": ["string", "integer"], "description": "Activity id (activity events)."},
            "participants": {**ids, "description": "Member ids taking part (activity events)."},
            "tags": {**STRING_LIST, "description": "Tags to add to the member (profile)."},
            "attributes": {"type": "object", "description": "Key/value attributes of the member (profile)."},
            "channel": _text("Channel plugin the group lives on."),
            "inviter": {"type": ["string", "integer"], "description": "Who invited the member (member_joined)."},
            "reason": {"enum": ["left", "removed"], "description": "Why the member left (member_left)."},
            "amount": {"type": "number", "description": "Purchase amount (purchase)."},
        },
    }


def task_schema() -> dict[str, Any]:
    nullable = {"type": ["string", "null"]}
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "task.schema.json",
        "title": "Planned task",
        "description": "One operator task planned by a dry run: who to contact, where, when, with what text, and why.",
        "type": "object",
        "required": ["id", "due", "playbook", "rule", "action", "channel", "group", "member", "member_name", "assignee", "priority", "text", "reason"],
        "properties": {
            "id": _text("Stable id: the same inputs give the same id.", pattern=r"^t-[0-9a-f]{10}$"),
            "due": _text("When to do it, RFC 3339 in the community time zone.", format="date-time"),
            "playbook": _text("Playbook id."),
            "rule": _text("Rule id."),
            "action": _text("Action kind: mention, dm, post, reward, invite, survey, warn, remove, notify …"),
            "channel": _text("Channel (chat platform)."),
            "group": {**nullable, "description": "Group id."},
            "member": {**nullable, "description": "Member id (null for group-wide tasks)."},
            "member_name": {**nullable, "description": "Member display name."},
            "assignee": {**nullable, "description": "Operator id."},
            "priority": {"enum": list(PRIORITIES), "description": "Task priority."},
            "text": _text("The message to send, or what to do."),
            "reason": _text("Why the task was planned: the trigger and its values."),
            "params": {"type": "object", "description": "Action options such as points, coupon, invite group or survey form."},
        },
    }


def build_schema(kind: str, registry: Registry | None = None) -> dict[str, Any]:
    """The schema of ``kind`` (one of KINDS) with the parts that ``registry``'s plugins add."""
    if kind == "event":
        return event_schema()
    if kind == "task":
        return task_schema()
    if kind == "community":
        schema = _community_base()
        if registry is not None and registry.channels:
            community = schema["properties"]["community"]["properties"]
            names = sorted(registry.channels)
            community["channel"]["enum"] = names
            community["groups"]["items"]["properties"]["channel"]["enum"] = names
        return schema
    if kind != "playbook":
        raise ValueError(f"unknown schema `{kind}` — one of {', '.join(KINDS)}")
    schema = _playbook_base()
    triggers = dict(sorted(registry.triggers.items())) if registry else {}
    actions = dict(sorted(registry.actions.items())) if registry else {}
    when_properties: dict[str, Any] = {}
    for name, trigger in triggers.items():
        when_properties[name] = {**copy.deepcopy(trigger.schema), "description": trigger.description}
        for option, option_schema in trigger.options.items():
            when_properties.setdefault(option, copy.deepcopy(option_schema))
    schema["$defs"]["when"] = {
        "type": "object",
        "title": "Trigger",
        "description": "When the rule fires: exactly one trigger key, plus that trigger's options.",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": when_properties,
    }
    schema["$defs"]["action"] = {
        "type": "object",
        "title": "Action",
        "description": "One action: a single key naming it. A string value is the message text.",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {name: {**copy.deepcopy(action.schema), "description": action.description} for name, action in actions.items()},
    }
    if registry is not None and registry.channels:
        names = sorted(registry.channels)
        for where in (schema["properties"]["channel"], schema["$defs"]["rule"]["properties"]["channel"]):
            where["enum"] = names
    return schema


def member_field_names() -> tuple[str, ...]:
    return MEMBER_FIELDS


def export(directory: str) -> None:
    """Write every schema, with the built-in plugins' additions, into ``directory``."""
    from engine.plugins import load_registry

    registry = load_registry(entrypoints=False)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        text = json.dumps(build_schema(kind, registry), ensure_ascii=False, indent=2) + "\n"
        (target / f"{kind}.schema.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    export(sys.argv[1] if len(sys.argv) > 1 else "schemas")
