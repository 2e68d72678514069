"""The benchmark's stream generator: deterministic, in time order, and within the event contract."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.events import Rejected, parse_jsonl, to_event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from generate import Options, write  # noqa: E402

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
