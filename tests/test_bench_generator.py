"""The benchmark's stream generator: deterministic, in time order, and within the event contract."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from playbook_engine.contract import Event, Rejected, specs
from playbook_engine.events import parse_jsonl, to_event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from generate import _FIELD_ORDER, Options, write

TZ = ZoneInfo("Asia/Shanghai")
QUESTION_MARKERS = ("?", "？", "请问", "怎么", "如何")


def generated(**overrides: int) -> str:
    stream = io.StringIO()
    write(Options(**{"events": 2_000, "members": 300, "groups": 3, "days": 20, "seed": 7, **overrides}), stream)
    return stream.getvalue()


@pytest.fixture(scope="module")
def text() -> str:
    return generated()


def test_same_seed_same_bytes(text: str) -> None:
    assert generated() == text


def test_another_seed_another_stream(text: str) -> None:
    assert generated(seed=8) != text


def test_exactly_the_requested_number_of_events(text: str) -> None:
    assert len(text.splitlines()) == 2_000


def test_every_event_passes_the_contract_in_time_order(text: str) -> None:
    events = [to_event(item, TZ) for item in parse_jsonl(text.splitlines())]
    rejected = [item for item in events if isinstance(item, Rejected)]
    assert rejected == []
    times = [event.t for event in events]
    assert times == sorted(times)
    assert all(line.startswith('{"ts": "') and '+08:00", "type": ' in line for line in text.splitlines())


def test_the_key_order_names_only_event_fields() -> None:
    """The generator writes the keys its order names: an event field renamed in the contract
    would otherwise go on being written under its old name, which the reader ignores."""
    assert set(_FIELD_ORDER) <= {key for _, key, _ in specs(Event)}


def test_the_stream_looks_like_a_community(text: str) -> None:
    """Joins, leaves, questions, replies to earlier ids, activities, and members seen first by a message."""
    records = [json.loads(line) for line in text.splitlines()]
    types = Counter(record["type"] for record in records)
    assert {"member_joined", "member_left", "message", "reaction", "activity_started", "activity_joined", "activity_ended"} <= set(types)
    messages = [record for record in records if record["type"] == "message"]
    assert any(any(marker in record["text"] for marker in QUESTION_MARKERS) for record in messages)
    assert any(record.get("mentions") for record in messages)
    seen_ids: set[str] = set()
    for record in records:
        if "reply_to" in record:
            assert record["reply_to"] in seen_ids
        if record["type"] == "message":
            seen_ids.add(record["id"])
    first_seen: dict[str, str] = {}
    for record in records:
        if "member" in record:
            first_seen.setdefault(record["member"], record["type"])
    assert Counter(first_seen.values())["member_joined"] < len(first_seen) / 2  # most were there before the history
    per_member = Counter(record["member"] for record in messages)
    top = sum(count for _, count in per_member.most_common(len(per_member) // 10 or 1))
    assert top > len(messages) / 3  # heavy-tailed: the top tenth write over a third


def test_the_stream_for_existing_options_is_pinned(text: str) -> None:
    """Cached streams are named by GENERATOR_VERSION: the bytes change only together with it."""
    import hashlib

    from generate import GENERATOR_VERSION

    assert (GENERATOR_VERSION, hashlib.sha256(text.encode("utf-8")).hexdigest()) == (1, "62eaec64e30b241add70aa2ad9ab1dfe3b4af45daf5c15ed65fd0b628f20f7d3")


def test_the_next_day_continues_the_same_community(text: str) -> None:
    """--next-day: the day after the history, same members and groups, ids and replies continuing."""
    next_day = generated(next_day=500)
    assert generated(next_day=500) == next_day
    history = [json.loads(line) for line in text.splitlines()]
    day = [json.loads(line) for line in next_day.splitlines()]
    assert len(day) == 500
    events = [to_event(item, TZ) for item in parse_jsonl(next_day.splitlines())]
    assert not [item for item in events if isinstance(item, Rejected)]
    times = [event.t for event in events]
    last = to_event(next(iter(parse_jsonl(text.splitlines()[-1:]))), TZ).t
    assert times == sorted(times) and times[0] > last
    assert {record["ts"][:10] for record in day} == {"2026-03-21"}  # 20 days from 2026-03-01, then the next
    known = {record["member"] for record in history if "member" in record}
    speakers = {record["member"] for record in day if record["type"] == "message"}
    assert len(speakers & known) > len(speakers) * 0.9
    joined = {record["member"] for record in day if record["type"] == "member_joined"}
    assert joined and all(int(member[1:]) > 300 for member in joined)  # newcomers beyond the history's population
    assert {record["group"] for record in day if "group" in record} <= {"g1", "g2", "g3"}
    message_ids = [record["id"] for record in history + day if record["type"] == "message"]
    assert len(set(message_ids)) == len(message_ids)
    earlier = {record["id"] for record in history if record["type"] == "message"}
    for record in day:
        if "reply_to" in record:
            assert record["reply_to"] in earlier
        if record["type"] == "message":
            earlier.add(record["id"])
