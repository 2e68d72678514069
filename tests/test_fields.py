"""The fields of events and tasks, declared once on the contract's records: the reader, the
schemas, the task record and the template's ``event`` follow the declarations, and the lists
that make choices of their own name only declared fields."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from playbook_engine.contract import ID, IDS, NUMBER, OBJECT, SPEC, TEXT, TEXTS, Event, Task, specs
from playbook_engine.events import EventError, event_from_record, parse_jsonl, to_event
from playbook_engine.schema import build_schema
from playbook_plugins.source_csv import FIELDS as CSV_SOURCE_FIELDS

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
BARE = {"ts": "2026-03-01T09:15:02+08:00", "type": "custom"}  # a type that needs no member or group
OPTIONAL_EVENT_FIELDS = [(attribute, key, field_spec) for attribute, key, field_spec in specs(Event) if not field_spec.required]


@pytest.mark.parametrize(
    ("record", "internal"),
    [
        pytest.param(Event, {"raw", "line"}, id="event"),
        pytest.param(Task, {"trigger_at", "order", "deadline", "how", "moved", "because", "details", "moves", "render", "source", "dropped", "merged", "seen_message"}, id="task"),
    ],
)
def test_a_new_field_is_declared_or_kept_inside_on_purpose(record: type, internal: set[str]) -> None:
    """A field added without a declaration is in no schema, record or template: say which it is."""
    assert {item.name for item in fields(record) if SPEC not in item.metadata} == internal


# -- what conditions and texts read as `event` --------------------------------------------------


def hand_written_event(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    """``event`` as Evaluation.context() built it by hand before it was derived (engine/evaluate.py)."""
    return {
        "ts": datetime.fromtimestamp(event.t, tz), "type": event.type, "member": event.member,
        "group": event.group, "name": event.name, "id": event.id, "text": event.text,
        "mentions": list(event.mentions), "reply_to": event.reply_to, "activity": event.activity,
        "participants": list(event.participants), "tags": list(event.tags),
        "attributes": dict(event.attributes), "channel": event.channel, "amount": event.amount,
        "inviter": event.inviter, "reason": event.reason, "group_name": event.group_name, "raw": dict(event.raw),
    }


def example_events() -> list[Event]:
    with open(ROOT / "examples" / "events.jsonl", "rb") as lines:
        events = [to_event(item, SHANGHAI) for item in parse_jsonl(lines)]
    every_field = {
        **BARE, "member": "m1", "group": "g1", "name": "小王", "id": "msg-1", "text": "你好", "mentions": ["m2"], "reply_to": "msg-0",
        "activity": "a1", "participants": ["m1", "m3"], "tags": ["vip"], "attributes": {"city": "上海"}, "channel": "wechat",
        "amount": 99, "inviter": "m4", "reason": "left", "title": "not a field of the contract",
    }
    return [*events, event_from_record(every_field, SHANGHAI, 3), Event(t=1772327702.5, type="stage_entered", member="m1", raw={"stage": "churn"})]


@pytest.mark.parametrize("tz", [SHANGHAI, ZoneInfo("America/New_York")], ids=str)
def test_template_values_are_what_the_hand_written_context_gave(tz: ZoneInfo) -> None:
    events = example_events()
    assert all(isinstance(event, Event) for event in events)
    for event in events:
        derived, expected = event.template_values(tz), hand_written_event(event, tz)
        assert list(derived.items()) == list(expected.items())  # the same keys in the same order
        assert derived["ts"].tzinfo is tz
        assert [type(value) for value in derived.values()] == [type(value) for value in expected.values()]


def test_a_template_changes_copies_not_the_event() -> None:
    event = example_events()[-2]
    values = event.template_values(SHANGHAI)
    values["mentions"].append("m9")
    values["attributes"]["city"] = "杭州"
    values["raw"]["text"] = "改了"
    assert (event.mentions, event.attributes, event.raw["text"]) == (("m2",), {"city": "上海"}, "你好")


# -- the event reader ---------------------------------------------------------------------------


def test_only_the_time_has_a_key_other_than_its_attribute() -> None:
    """The reader passes the other fields to Event by their keys."""
    assert [(attribute, key) for attribute, key, _ in specs(Event) + specs(Task) if attribute != key] == [("t", "ts")]


WRONG = {TEXT: ["x"], ID: ["x"], IDS: "m1", TEXTS: "vip", OBJECT: ["x"], NUMBER: "9.9"}
MESSAGE = {TEXT: "must be text", ID: "must be text", IDS: "must be a list of ids", TEXTS: "must be a list of ids", OBJECT: "must be an object of key/value pairs", NUMBER: "must be a number"}


@pytest.mark.parametrize(("attribute", "key", "field_spec"), OPTIONAL_EVENT_FIELDS, ids=[key for _, key, _ in OPTIONAL_EVENT_FIELDS])
def test_each_optional_field_is_read_by_its_kind(attribute: str, key: str, field_spec: Any) -> None:
    """Its schema examples are read into the Event; a value of another kind is rejected, naming it."""
    for example in field_spec.examples:
        event = event_from_record({**BARE, key: example}, SHANGHAI)
        expected = tuple(example) if field_spec.kind in (IDS, TEXTS) else float(example) if field_spec.kind == NUMBER else example
        assert getattr(event, attribute) == expected
    with pytest.raises(EventError, match=f"^`{key}` {MESSAGE[field_spec.kind]}$"):
        event_from_record({**BARE, key: WRONG[field_spec.kind]}, SHANGHAI)


@pytest.mark.parametrize("kind", [ID, IDS])
def test_ids_may_be_written_as_numbers(kind: str) -> None:
    for attribute, key, field_spec in specs(Event):
        if field_spec.kind == kind:
            event = event_from_record({**BARE, key: [7] if kind == IDS else 7}, SHANGHAI)
            assert getattr(event, attribute) == (("7",) if kind == IDS else "7"), key


@pytest.mark.parametrize("key", [key for _, key, field_spec in specs(Event) if field_spec.required])
def test_a_line_without_a_required_field_is_rejected(key: str) -> None:
    with pytest.raises(EventError, match=f"missing `{key}`"):
        event_from_record({name: value for name, value in BARE.items() if name != key}, SHANGHAI)


# -- the schemas --------------------------------------------------------------------------------


def test_every_example_event_is_valid_under_the_event_schema() -> None:
    validator = jsonschema.Draft202012Validator(build_schema("event"))
    lines = (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert [error.message for line in lines for error in validator.iter_errors(json.loads(line))] == []


def test_the_task_records_are_what_the_task_schema_describes() -> None:
    """Every required field in every golden record, and no field the schema does not know
    (`params` and `parts` appear only when a task has them)."""
    schema = build_schema("task")
    validator = jsonschema.Draft202012Validator(schema)
    records = json.loads((ROOT / "tests" / "golden" / "example.json").read_text(encoding="utf-8"))
    assert records and [error.message for record in records for error in validator.iter_errors(record)] == []
    assert set(schema["required"]) <= {key for record in records for key in record} <= set(schema["properties"])


# -- lists that make choices of their own -----------------------------------------------------


def test_the_csv_source_maps_only_event_fields() -> None:
    """Its own choice of fields (the ones a cell can hold), in its own order — but each an event field."""
    assert set(CSV_SOURCE_FIELDS) <= {key for _, key, _ in specs(Event)}
