"""The fast paths of `playbook import` of a WeChat CSV, each against the slow, obvious one it stands for."""

from __future__ import annotations

import copy
import csv
import enum
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from playbook_engine.contract import SourceRecord
from playbook_engine.events import parse_time, to_event
from playbook_plugins.importer import LEADING_FIELDS, _line
from playbook_plugins.source_csv import CsvFile, CsvTimes, Row, parse_csv_time
from playbook_plugins.source_json import rfc3339
from playbook_plugins.source_wechat import QUOTE_TYPES, WXID, Chat, People, events_from_row, find_columns

# -- the imported line: orjson where it writes what the json module writes --------------------


class Colour(enum.Enum):
    RED = "red"


SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(2**63 - 2, 2**64 + 1) | st.integers(-(2**63) - 1, -(2**63) + 1) | st.floats() | st.text()
    | st.sampled_from(["\ud800", "a\udcff", "\x00\x1f\x7f\u2028\"\\/", "中文 \u2005", 1e16, 1e-7, 100.0, True, Decimal("1.5"), datetime(2026, 3, 1, 9), Colour.RED])
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3), max_leaves=6)
KEYS = st.sampled_from([*LEADING_FIELDS, "id", "text", "mentions", "amount", "attributes"]) | st.text(max_size=4)


@given(st.dictionaries(KEYS, VALUES | st.lists(st.text(max_size=3), max_size=3), max_size=8))
@example({"ts": "2026-03-01T09:00:00+08:00", "amount": 1e-7})  # orjson: 1e-7
@example({"amount": float("nan"), "type": "purchase"})  # orjson: null
@example({"id": 2**64})  # orjson: refused
@example({"text": "a\udcffb", "mentions": ["\ud800"]})  # orjson: refused
def test_an_imported_line_is_what_the_json_module_writes(record):
    """orjson writes the line when the json module would write the same text; the json module
    (compact, text as it is, ``str`` for other types) writes any other."""
    ordered = {name: record[name] for name in LEADING_FIELDS if name in record} | record
    assert _line(record) == json.dumps(ordered, ensure_ascii=False, separators=(",", ":"), default=str)


# -- times of CSV cells ------------------------------------------------------------------------

# Zones with daylight saving time; offsets in half and quarter hours; changes of offset in the
# middle of a UTC hour (Lord Howe's 30-minute change, Newfoundland, Kathmandu in 1986) or of a
# local one (Athens in 1916: 00:01:00 to 00:26:08); offsets in seconds (Monrovia until 1972,
# -00:44:30); none.
ZONES = ["Europe/Athens", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham", "Africa/Monrovia", "Asia/Kolkata", "UTC"]
ODD_CELLS = ["", "昨天", "2024-02-30 10:00:00", "2024-10-04 24:00:00", "2024-10-04 21:60:00", "2024-10-04 21:25:60", "１７７２３２６８００", "177232680", "17723268001", "1772326800.5", "1772326800123", "2024-10-04T21:25:04", "2024/10/04 21:25", "2024-10-04 21:25"]


def general_ts(cell: str, tz: ZoneInfo) -> str:
    """What every row's time was before the fast path: the text, or the error's message."""
    try:
        return rfc3339(parse_csv_time(cell, tz), tz)
    except ValueError as exc:
        return f"ValueError: {exc}"


def fast_ts(times: CsvTimes, cell: str) -> str:
    """The fast path's text; the epoch seconds it gives with it must be the text's, as the
    event check reads it (they become the Event's ``t`` without that check)."""
    try:
        text, epoch = times.moment(cell)
    except ValueError as exc:
        return f"ValueError: {exc}"
    if epoch is not None:
        assert (parse_time(text, times.tz), type(epoch)) == (float(epoch), int)
    return text


@given(st.sampled_from(ZONES), st.integers(-2_000_000_000, 4_000_000_000), st.lists(st.integers(0, 5400), max_size=40), st.lists(st.sampled_from(ODD_CELLS), max_size=3))
@example("Europe/Berlin", 1774746000 - 4000, list(range(1800, 1813)), [])  # 2026-03-29, clocks go forward at 02:00
@example("Europe/Berlin", 1792890000 - 4000, list(range(1800, 1813)), [])  # 2026-10-25, 02:00–03:00 happens twice
@example("Australia/Lord_Howe", 1775314800 - 3600, list(range(900, 913)), [])  # 2026-04-05, back by 30 minutes
@example("Australia/Lord_Howe", 1791041400 - 3600, list(range(600, 613)), [])  # 2026-10-04, at 15:30 UTC
@example("America/St_Johns", 1772947800 - 3600, list(range(600, 613)), [])  # 2026-03-08, at 05:30 UTC
@example("Asia/Kathmandu", 504901800 - 7200, list(range(1800, 1813)), [])  # 1986-01-01, +05:30 to +05:45 at 18:30 UTC
@example("Africa/Monrovia", 63594000 - 7200, list(range(1200, 1213)), [])  # 1972-01-07, -00:44:30 to +00:00
@example("Europe/Athens", -1686101632 - 1800, list(range(300, 313)), [])  # 1916-07-28, +01:34:52 to +02:00
def test_csv_times_write_what_the_general_path_writes(zone, start, steps, odd_cells):
    """Epoch seconds and ``YYYY-MM-DD HH:MM:SS``, read by hand within one hour, give the text
    ``rfc3339(parse_csv_time(…))`` gives, in time order and not, across changes of offset."""
    tz = ZoneInfo(zone)
    times, cells, moment = CsvTimes(tz), [], start
    for step in steps:
        moment += step
        cells.append(str(moment))
        wall = datetime.fromtimestamp(moment, tz).replace(tzinfo=None) + timedelta(minutes=step % 13 * 10 - 60)
        cells.append(wall.strftime("%Y-%m-%d %H:%M:%S"))  # the zone's clock, up to an hour off: times in gaps and folds too
    cells += odd_cells
    cells += cells[::-1]
    assert [fast_ts(times, cell) for cell in cells] == [general_ts(cell, tz) for cell in cells]


# -- the names pass ----------------------------------------------------------------------------

MEMOTRACE = ["localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status", "StrContent", "StrTime", "Remark", "NickName", "Sender"]
PYWXDUMP = ["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "content", "CreateTime"]
REPEATED = ["id", "Type", "Sender", "NickName", "CreateTime", "StrContent", "NickName", "IsSender"]  # a column twice: the last one counts, as in a Row's dict

NAMES = st.sampled_from(["小王", " 阿梅 ", "Lily", "老 张", "我", "你", "", "wxid_abc123", "成员1"])
WXIDS = st.sampled_from(["wxid_xw", "wxid_am", " wxid_lz ", "", "我", "wxid_abc123"])
KINDS = st.sampled_from(["1", "1", "文本", "text", "3", "49", "99", "", " 1 ", "10000", "系统通知", "拍一拍", "引用回复", "消息撤回57", "图片"])
TEXTS = st.sampled_from([
    "早", " 大家好 ", "", "@小王\u2005你好", "@阿梅 @Lily\u2005来", "@成员1", "a,b\nc", '{"src": "", "msg": "哦吼 @小王\u2005"}', '{"msg": 3}',
    '"小王"邀请"阿梅"、"Lily"加入了群聊', '你将"老 张"移出了群聊', '"阿梅"退出了群聊', "小王撤回了一条消息",
    '<sysmsg type="revokemsg"><revokemsg><newmsgid>7</newmsgid><replacemsg><![CDATA["小王" 撤回了一条消息]]></replacemsg></revokemsg></sysmsg>',
    "回复\n\n[引用](2026-03-01 09:00:05)小王:原话", "bad \udcff byte",
]) | st.text(max_size=12)
TIMES = st.sampled_from(["1772326800", "1772326805", " 1772326805 ", "", "昨天", "2026-03-01 09:00:05", "1772326800123"])
IDS = st.sampled_from(["1", "2", "", " 3 ", "7"])


CELLS = {
    "localId": IDS, "id": IDS, "MsgSvrID": IDS, "Type": KINDS, "type_name": KINDS, "IsSender": st.sampled_from(["0", "1", " 1"]), "is_sender": st.sampled_from(["0", "1"]),
    "CreateTime": TIMES, "StrContent": TEXTS, "content": TEXTS, "Remark": NAMES, "NickName": NAMES, "Sender": WXIDS, "talker": WXIDS | NAMES,
    "room_name": st.sampled_from(["20001@chatroom", "", " 1@chatroom "]),
}


@st.composite
def rows(draw: Any, header: list[str]) -> list[str]:
    """One record's cells in ``header``'s layout; sometimes a cell short, or a blank record."""
    cells = [draw(CELLS.get(column, st.sampled_from(["7", "0", ""]))) for column in header]
    shape = draw(st.sampled_from(["row"] * 12 + ["short", "blank"]))
    return cells[:-1] if shape == "short" else [" "] * len(header) if shape == "blank" else cells


@st.composite
def exports(draw: Any) -> tuple[list[str], list[list[str]]]:
    header = draw(st.sampled_from([MEMOTRACE, PYWXDUMP, REPEATED]))
    return header, draw(st.lists(rows(header), max_size=30))


def write_csv(path: Path, header: list[str], records: list[list[str]]) -> None:
    """The export, after a blank record of 70,000 spaces: a bad byte after the first 64 KiB
    rejects its row, where one in them would reject the file."""
    with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerows([header, [" " * 70_000] + [""] * (len(header) - 1), *records])


@given(exports())
def test_the_names_pass_learns_what_learning_from_every_row_learns(tmp_path_factory, export):
    """``People.scan`` skips a row whose sender's cells it has learnt: the names, senders and
    exporter are those that learning from every row ``rows()`` gives would find."""
    header, records = export
    path = tmp_path_factory.mktemp("scan") / "chat.csv"
    write_csv(path, header, records)
    columns = find_columns(header, {})
    with CsvFile(str(path)) as table:
        scanned = People.scan(table, columns)
    obvious = People(talker=columns.get("member") == columns.get("name"))
    with CsvFile(str(path)) as table:
        for row in table.rows():
            if isinstance(row, Row):
                obvious.learn(row.get(columns["name"]), row.get(columns.get("member")), row.get(columns.get("remark")), row.get(columns.get("is_sender")))
                obvious.kinds.add(row.get(columns["type"]))
    assert (scanned.names._ids, scanned.senders, scanned.self_id, scanned.talker, scanned.kinds) == (obvious.names._ids, obvious.senders, obvious.self_id, obvious.talker, obvious.kinds)


# -- plain messages by position ----------------------------------------------------------------

@given(exports(), st.sampled_from(ZONES))
def test_plain_messages_read_by_position_are_the_events_of_their_rows(export, zone):
    """``Chat.message`` gives, for every row it takes, the event ``events_from_row`` gives (the
    same keys in the same order) with the Event the event check makes of it, and leaves the
    quotes' memory as it would."""
    header, records = export
    columns = find_columns(header, {})
    people = People(talker=columns.get("member") == columns.get("name"))
    for cells in records:
        if len(cells) == len(header):
            row = Row(0, dict(zip(header, cells, strict=True)))
            people.learn(row.get(columns["name"]), row.get(columns.get("member")), row.get(columns.get("remark")), row.get(columns.get("is_sender")))
            people.kinds.add(row.get(columns["type"]))
    fast, slow = Chat(columns, people, "读书会", ZoneInfo(zone)), Chat(columns, people, "读书会", ZoneInfo(zone))
    position = {name: index for index, name in enumerate(header)}
    message = fast.message_reader({field: position[column] for field, column in columns.items()})
    for line, cells in enumerate(records, 2):
        if len(cells) != len(header):
            continue
        try:
            events = events_from_row(Row(line, dict(zip(header, cells, strict=True))), columns, people, "读书会", slow.times, slow.recent)
            expected: Any = [list(event.items()) + ([("group_name", "读书会")] if event["group"] != "读书会" else []) for event in events]  # as Chat.read adds it
        except ValueError as exc:
            expected = str(exc)
        try:
            record = message(line, cells)
        except ValueError as exc:
            assert expected == str(exc)
            continue
        if record is None:  # the reader's other path
            if isinstance(expected, list):
                events_from_row(Row(line, dict(zip(header, cells, strict=True))), columns, people, "读书会", fast.times, fast.recent)
            continue
        assert [list(record.data.items())] == expected
        if record.event is not None:  # else the time was read the general way, and the event check reads it
            checked = to_event(SourceRecord(line, copy.deepcopy(record.data)), ZoneInfo(zone))
            assert (record.event, type(record.event.t)) == (checked, float)
    assert remembered(fast) == remembered(slow)
    for talker, sender in people._talkers.items():  # PyWxDump's talker cells, each read once
        assert sender == ((talker, "") if WXID.match(talker) else (people.resolve(talker), talker))
    assert (fast.recent is None) == (slow.recent is None) == (not people.kinds & QUOTE_TYPES)


def remembered(chat: Chat) -> list[Any] | None:
    return None if chat.recent is None else list(chat.recent._by_time.items())


def test_a_chat_of_plain_messages_is_read_by_position(registry, tmp_path):
    """The fast path is the one taken for the rows of a real-shaped MemoTrace file."""
    path = tmp_path / "读书会_utf8.csv"
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(MEMOTRACE)
        writer.writerow(["1", "7", "1", "0", "0", "1772326800", "2", "大家好 @小王\u2005！", "", "", "阿梅", "wxid_am"])
        writer.writerow(["2", "7", "1", "0", "1", "1772326805", "2", "欢迎", "", "", "小王", "wxid_xw"])
    tz = ZoneInfo("Asia/Shanghai")
    with CsvFile(str(path)) as table:
        columns = find_columns(table.columns, {})
        chat = Chat(columns, People.scan(table, columns), "读书会", tz)
    message = chat.message_reader({field: MEMOTRACE.index(column) for field, column in columns.items()})
    with CsvFile(str(path)) as table:
        records = [message(line, cells) for line, cells in table.records()]
    assert all(record.event is not None for record in records)
    assert [record.data for record in records] == [
        {"ts": "2026-03-01T09:00:00+08:00", "group": "读书会", "type": "message", "member": "wxid_am", "name": "阿梅", "id": "1", "text": "大家好 @小王\u2005！", "mentions": ["wxid_xw"]},
        {"ts": "2026-03-01T09:00:05+08:00", "group": "读书会", "type": "message", "member": "wxid_xw", "name": "小王", "id": "2", "text": "欢迎"},
    ]


