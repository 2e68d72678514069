"""Events and state go through orjson for speed; what they decode to must not change."""

from __future__ import annotations

import json

import pytest

from playbook_engine import jsontext
from playbook_engine.contract import Rejected, SourceRecord
from playbook_engine.events import parse_jsonl

LINES = [
    b'{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "member": "m1", "text": "\xe4\xbd\xa0\xe5\xa5\xbd"}\n',
    b'{"ts": 1772326800, "type": "message", "member": 12345678901234567890123, "amount": 0.1}\n',
    b'{"ts": 1772326800123, "type": "profile", "member": "m2", "attributes": {"a": {"b": [1, 2.5, null, true]}}, "x": 1, "x": 2}\n',
    b'{"ts": 1.5e9, "type": "message", "member": "m3", "amount": 18446744073709551615}\n',
    "  {\"ts\": 1772326800, \"type\": \"message\", \"member\": \"m4\"}\u3000\n".encode(),
]


def records(lines):
    return [(item.number, item.data) if isinstance(item, SourceRecord) else (item.line, item.reason) for item in parse_jsonl(lines)]


def test_lines_decode_to_what_the_json_module_reads():
    expected = [(number, json.loads(line.decode().strip())) for number, line in enumerate(LINES, 1)]
    assert records(LINES) == expected
    assert records([line.decode() for line in LINES]) == expected


def test_a_numeric_id_longer_than_64_bits_keeps_every_digit():
    [(_, record)] = records([LINES[1]])
    assert record["member"] == 12345678901234567890123 and isinstance(record["member"], int)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"ts": 1, "type": "message",}\n', "not valid JSON (Expecting property name enclosed in double quotes at column 29)"),
        (b'{"ts": NaN, "type": "message", "member": "m1"}\n', "not valid JSON (NaN is not a number JSON allows)"),
        (b'{"ts": 1, "type": "message", "amount": -Infinity}\n', "not valid JSON (-Infinity is not a number JSON allows)"),
        (b'{"ts": 1, "type": "message", "text": "\xff"}\n', "not UTF-8 text"),
        (b'[1, 2]\n', "an event must be a JSON object"),
    ],
)
def test_lines_orjson_refuses_are_rejected_with_the_json_module_s_reason(line, reason):
    [item] = parse_jsonl([b"\n", line])
    assert isinstance(item, Rejected) and (item.line, item.reason) == (2, reason)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": ["中文", 1.5, None, True, {"z": 0, "y": 1780065588.0}]},
        {"id": 2**70, "nested": {"n": -(2**64)}},
        {"3": 1, "10": 2},
    ],
)
def test_dumps_writes_the_json_module_s_text_and_loads_reads_it_back(value):
    text = jsontext.dumps(value)
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert jsontext.loads(text) == value


def test_loads_reads_state_written_by_the_json_module_with_nan():
    assert str(jsontext.loads('{"points":NaN}')["points"]) == "nan"
