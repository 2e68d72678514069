"""Reading events: the one-pass reading of plain records gives exactly what the field-by-field
checks give — the same Event, or the same reason for rejecting the record."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from playbook_engine.contract import Event, SourceRecord, specs
from playbook_engine.events import EventError, _checked_event, _common_rfc3339, event_from_record, parse_time, to_event

SHANGHAI = ZoneInfo("Asia/Shanghai")


def outcome(read: Any, record: Any) -> Any:
    try:
        return read(record, SHANGHAI, 7)
    except EventError as exc:
        return f"rejected: {exc}"


def both(record: Any) -> tuple[Any, Any]:
    return outcome(event_from_record, record), outcome(_checked_event, record)


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T09:15:02+08:00", "2026-03-01T09:15:02Z", "2026-03-01T09:15:02-05:30", "1969-12-31T23:59:59+00:00",
        "2024-02-29T00:00:00+08:00", "2026-11-01T01:30:00-04:00",
    ],
)
def test_the_common_form_is_read_as_fromisoformat_reads_it(stamp: str) -> None:
    assert _common_rfc3339(stamp) == datetime.fromisoformat(stamp).timestamp()
    assert parse_time(stamp, SHANGHAI) == datetime.fromisoformat(stamp).timestamp()


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-01T09:15:02.500+08:00",  # a fraction: the general path
        "2026-03-01 09:15:02+08:00",  # another separator
        "2026-03-01T09:15:02",  # naive: the community's time zone
        "2026-02-29T09:15:02+08:00", "2026-13-01T09:15:02+08:00", "2026-03-01T24:00:00+08:00", "2026-03-01T09:60:00+08:00",
        "2026-03-01T09:15:02+24:00", "２026-03-01T09:15:02+08:00", "2026-03-01T09:15:0２+08:00", "2026-03-01T+9:15:02+08:00",
        "2026-03-01T09:15:02+0800x", "2026-03-01T09:15:02 08:00",
    ],
)
def test_anything_else_is_left_to_the_general_path(stamp: str) -> None:
    assert _common_rfc3339(stamp) is None


@settings(max_examples=400, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from(["Z", "+08:00", "-05:30", "+00:00", "-00:00", "+14:00", "-12:45"]),
)
def test_any_whole_second_in_the_common_form(moment: datetime, zone: str) -> None:
    stamp = moment.replace(microsecond=0).isoformat() + zone
    assert _common_rfc3339(stamp) == datetime.fromisoformat(stamp).timestamp()


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789-:T+Z ", min_size=18, max_size=26))
def test_text_that_looks_like_a_time(stamp: str) -> None:
    try:
        expected: Any = datetime.fromisoformat(stamp)
    except ValueError:
        expected = None
    seconds = _common_rfc3339(stamp)
    if seconds is not None:
        assert expected is not None and expected.tzinfo is not None
        assert seconds == expected.timestamp()


PLAIN = {"ts": "2026-03-01T09:15:02+08:00", "type": "message", "group": "g17", "member": "m123", "name": "小王", "id": "msg-882", "text": "请问周末活动在哪？", "mentions": ["m42"], "reply_to": "msg-870"}
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=3), st.lists(st.one_of(st.text(max_size=2), st.integers(0, 9), st.booleans()), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
KEYS = st.sampled_from([*(key for _, key, _ in specs(Event)), "title"])  # every field of an event line, and a key that is none


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6), st.sampled_from(["message", "profile", "activity_ended", "purchase", "member_left", "custom", 5, ""]), st.booleans())
@example({}, "message", True)
@example({"mentions": [1, "m2"]}, "message", True)
@example({"amount": True}, "purchase", True)
@example({"group": 17}, "message", True)
def test_every_record_reads_the_same_either_way(changes: dict[str, Any], kind: Any, plain_time: bool) -> None:
    record = {**PLAIN, "type": kind, **changes}
    if plain_time and "ts" not in changes:
        record["ts"] = PLAIN["ts"]
    fast, checked = both(record)
    assert fast == checked


@pytest.mark.parametrize(
    "record, reason",
    [
        ({**PLAIN, "member": None}, "rejected: `message` event without `member`"),
        ({**PLAIN, "mentions": "m42"}, "rejected: `mentions` must be a list of ids"),
        ({**PLAIN, "text": 5, "name": 7}, "rejected: `name` must be text"),
        ({**PLAIN, "ts": "yesterday"}, "rejected: `ts` 'yesterday' is not an RFC 3339 time (e.g. 2026-03-01T09:15:02+08:00)"),
    ],
)
def test_rejections_keep_their_reasons(record: dict[str, Any], reason: str) -> None:
    assert both(record) == (reason, reason)


def test_ids_written_as_numbers_become_text() -> None:
    event = event_from_record({**PLAIN, "member": 123, "mentions": [42, "m7"]}, SHANGHAI)
    assert (event.member, event.mentions) == ("123", ("42", "m7"))


def test_a_byte_order_mark_before_the_first_event_is_not_part_of_it() -> None:
    """Notepad and Excel save UTF-8 with a BOM: the first event is read, not rejected."""
    from playbook_engine.events import parse_jsonl

    line = '{"ts":"2026-03-01T09:00:00+08:00","type":"message","group":"g1","member":"m1","text":"hi"}\n'
    for lines in ([("\ufeff" + line).encode("utf-8"), line.encode("utf-8")], ["\ufeff" + line, line]):
        records = list(parse_jsonl(lines))
        assert [type(record).__name__ for record in records] == ["SourceRecord", "SourceRecord"]
        assert records[0].data == records[1].data


def test_a_lone_surrogate_rejects_its_event_not_the_run() -> None:
    from playbook_engine.events import parse_jsonl

    lines = [b'{"ts":"2026-03-01T09:00:00+08:00","type":"message","group":"g1","member":"m1","name":"\\ud800x","text":"hi"}\n',
             b'{"ts":"2026-03-01T09:01:00+08:00","type":"message","group":"g1","member":"m2","text":"hi"}\n']
    records = list(parse_jsonl(lines))
    assert [type(record).__name__ for record in records] == ["Rejected", "SourceRecord"]
    assert "lone surrogate" in records[0].reason


def test_a_record_that_brings_its_event_is_not_checked_again():
    """A source that built the Event itself (the WeChat CSV, tested against the check) hands it
    over as it is; without one, the record's dict is checked."""
    tz = ZoneInfo("Asia/Shanghai")
    data = {"ts": "2026-03-01T09:00:00+08:00", "type": "message", "member": "m1", "group": "g1"}
    built = Event(t=1772326800.0, type="message", member="m1", group="g1", raw=data, line=3)
    assert to_event(SourceRecord(3, data, built), tz) is built
    assert to_event(SourceRecord(3, data), tz) == built
    assert SourceRecord(3, data, built) == SourceRecord(3, data)
