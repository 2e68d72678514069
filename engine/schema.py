"""JSON Schemas (draft 2020-12) of playbooks, community settings, events and tasks.

The base schemas of playbooks and community.yaml are data, written by hand in
``schemas/base/`` (installed as ``playbook_engine.schemas``); those of events and tasks are
derived from the records' field declarations (``playbook_engine.contract``). Triggers,
actions and channels registered by plugins add their own parts, so ``playbook schema playbook`` and ``playbook validate`` know plugin
additions too. ``schemas/*.schema.json`` in the repository are these, exported (a test keeps
them in step; regenerate with ``python -m playbook_engine.schema schemas/``).

Every property carries a ``title``, a ``description`` and ``examples``: an editor with a YAML
language server shows them as completion and hover help, which is most of the manual an
operator reads. A plugin's fragment brings its own (the built-in ones do); where it gives none, a title is
made from its name and the examples from its first choices (``enum``).
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

from playbook_engine.contract import (
    ID,
    IDS,
    MOMENT,
    NUMBER,
    OBJECT,
    TASK_RECORD_FIELDS,
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
                community["merge"]["items"]["enum"] = sorted(registry.actions)
            if registry.inboxes:
                community["operators"]["items"]["properties"]["inbox"]["properties"]["type"]["enum"] = sorted(registry.inboxes)
        return schema
    if kind != "playbook":
        raise ValueError(f"unknown schema `{kind}` — one of {', '.join(KINDS)}")
    schema = _base("playbook")
    # A test's expected task names task fields only: `time:` for `due:` would compare nothing.
    test = schema["properties"]["tests"]["items"]["properties"]
    fields = _record_properties(Task)
    for part in ("expect", "absent"):
        test[part]["items"]["properties"] = {key: copy.deepcopy(fields[key]) for key in TASK_RECORD_FIELDS}
        test[part]["items"]["additionalProperties"] = False
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
    """Give every property below ``schema`` a title and a description, and examples from its choices where it has none."""
    if "examples" not in schema:
        examples = _fitting_examples(schema)
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


def _fitting_examples(schema: Mapping[str, Any]) -> list[Any]:
    """Examples an editor can offer for a part that gives none: the first of its choices."""
    return list(schema["enum"])[:3] if "enum" in schema else []


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


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
