"""Generic CSV as events (``--source csv --map ts=time,member=user_id,…``), and the CSV reading
that the WeChat source shares: encoding check, header check, line numbers, times.

CSV is read row by row, so a file of any size is streamed. Rows must already be in time order
(the core rejects a row older than the one before it, naming its line) — or all newest first,
as many sheets are kept: such a file is read whole and given from its end.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.words import Reason, reason_of
from playbook_plugins.source_json import rfc3339

FIELDS = ("ts", "type", "member", "name", "group", "id", "text", "mentions", "reply_to", "inviter", "reason", "activity", "amount", "channel")
LIST_SEPARATOR = re.compile(r"[\s,;，；、]+")  # "u2, u3", "u2、u3" (a Chinese sheet's list)
# What a Chinese sheet writes in its 类型 column, as the event types they are (also the English
# names in any case: "Message").
TYPE_NAMES = {
    **dict.fromkeys(("发言", "消息", "文本", "聊天", "说话", "群消息"), "message"),
    **dict.fromkeys(("进群", "入群", "加群", "加入", "新成员", "入群申请通过"), "member_joined"),
    **dict.fromkeys(("退群", "离开", "退出", "离群", "退出群聊"), "member_left"),
    **dict.fromkeys(("移出", "被移出", "踢出", "移出群聊"), "member_left"),
    **dict.fromkeys(("资料", "资料更新", "标签", "打标签"), "profile"),
    **dict.fromkeys(("购买", "下单", "付款", "支付", "订单"), "purchase"),
    **dict.fromkeys(("活动开始", "开始活动"), "activity_started"),
    **dict.fromkeys(("报名", "参加活动", "参与活动", "活动报名"), "activity_joined"),
    **dict.fromkeys(("活动结束", "结束活动"), "activity_ended"),
}
REMOVED_NAMES = frozenset({"移出", "被移出", "踢出", "移出群聊"})  # a member_left the group made: reason removed
CORE_TYPES = frozenset({"message", "member_joined", "member_left", "profile", "purchase", "reaction", "activity_started", "activity_joined", "activity_ended"})
# Excel shows a long number (a snowflake or wxid-like numeric id) as 1.2E+18 and saves it so.
ROUNDED = re.compile(r"^\d(?:\.\d+)?[Ee]\+\d+$")
ID_FIELDS = ("member", "inviter", "reply_to", "id")
SAMPLE_BYTES = 64 * 1024
NOT_ASCII = re.compile(rb"[\x80-\xff]")
BAD_BYTES = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
# Text is decoded with surrogateescape, counting what it escapes: until a file has had a byte
# that is not UTF-8, none of its rows can hold one, and the row check skips its search (0.6 µs
# a row, a tenth of reading a WeChat row). The count is for all files: another file's bad
# bytes only turn the search on sooner.
DECODE_ERRORS = "playbook-counted-surrogateescape"
_bytes_escaped = [0]
_surrogateescape = codecs.lookup_error("surrogateescape")


def _count_and_escape(error: UnicodeError) -> tuple[str | bytes, int]:
    _bytes_escaped[0] += 1
    return _surrogateescape(error)


codecs.register_error(DECODE_ERRORS, _count_and_escape)
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M", "%Y年%m月%d日",  # Excel/WPS's Chinese long date
)

csv.field_size_limit(16 * 1024 * 1024)  # a long pasted message is one field; the default 128 KiB cuts it


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV record: the line it starts on (the header is line 1) and its cells by column."""

    line: int
    cells: dict[str, str]

    @property
    def text(self) -> str:
        """The record as one CSV line again, for ``--rejects``: written only for a rejected row."""
        return _as_csv(list(self.cells.values()))

    def get(self, column: str | None) -> str:
        return (self.cells.get(column) or "").strip() if column else ""


class CsvFile:
    """A UTF-8 CSV file read row by row. Opening checks the encoding; ``columns`` is the header."""

    def __init__(self, path: str):
        self.path = path
        self._escaped_before = _bytes_escaped[0]
        self._stream = _open_text(path)
        first = self._stream.readline()
        if not first.strip():
            raise InvalidInput(f"{path}: empty, or the first line is blank — the first line must be the header (column names)")
        delimiter = _delimiter(first)
        self.columns = [name.strip() for name in next(csv.reader([first], "excel", delimiter=delimiter))]
        self._reader = csv.reader(self._stream, "excel", delimiter=delimiter)

    def rows(self) -> Iterator[Row | Rejected]:
        """Each record as a Row, or a Rejected when its cell count or its bytes are wrong."""
        columns = self.columns
        for record in self.records():
            yield record if isinstance(record, Rejected) else Row(record[0], dict(zip(columns, record[1])))  # noqa: B905 - records() compared the lengths; strict= would cost ~140 ns a row (3.11)

    def records(self) -> Iterator[tuple[int, list[str]] | Rejected]:
        """Each record as its line and its cells in header order, or a Rejected as ``rows()``
        gives it: for readers that look cells up by position, without a dict per row."""
        # Per row, one join and one regular-expression search in C instead of a Python loop
        # over every character: the checks were four fifths of reading a WeChat export.
        previous, width, bad, escaped, clean = 1, len(self.columns), BAD_BYTES.search, _bytes_escaped, self._escaped_before
        for cells in self._reader:
            line, previous = previous + 1, self._reader.line_num + 1
            first = cells[0] if cells else ""  # a first cell with text: not blank, no join needed
            if not first or first.isspace():
                joined = "".join(cells)
                if not joined or joined.isspace():
                    continue
            if escaped[0] != clean and bad("".join(cells)):
                yield Rejected(line, Reason("not_utf8"), _as_csv(cells).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            elif len(cells) != width:
                yield Rejected(line, Reason("csv_width", cells=len(cells), width=width), _as_csv(cells))
            else:
                yield line, cells

    def cells(self) -> Iterator[list[str]]:
        """Every record's cells, unchecked and unnumbered: for a pass that looks at a few columns
        and checks a row (``usable``) only when it would learn something from it."""
        return iter(self._reader)

    def usable(self, cells: list[str]) -> bool:
        """Whether ``records()`` gives this record as a row (not blank, not rejected)."""
        joined = "".join(cells)
        return len(cells) == len(self.columns) and bool(joined) and not joined.isspace() and not (_bytes_escaped[0] != self._escaped_before and BAD_BYTES.search(joined))

    def require(self, wanted: Mapping[str, str], how: str) -> None:
        """Fail on the whole file, naming every missing column and the header found, if any is missing."""
        missing = [f"`{column}` (for {field})" for field, column in wanted.items() if column not in self.columns]
        if missing:
            below = [cell.strip() for cell in next(self._reader, [])]
            if all(column in below for column in wanted.values()):  # a title row above the header (a sheet's heading, exported with it)
                raise InvalidInput(
                    f"{self.path}:{self._reader.line_num + 1}: the column names are on this line ({', '.join(cell for cell in below if cell)}); "
                    f"the line above them, {', '.join(cell for cell in self.columns if cell) or '(empty cells)'}, is a title — delete it and save again"
                )
            raise InvalidInput(f"{self.path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the header has: {', '.join(self.columns)} — {how}")

    def close(self) -> None:
        if self._stream is not sys.stdin:
            self._stream.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_text(path: str) -> IO[str]:
    """Open a CSV as text: UTF-8, or GB 18030 (GBK) when its first 64 KiB are that — what Excel
    or WPS on a Chinese Windows saves as "CSV" — and anything else fails as a whole, with a fix.

    Later bad bytes are kept as surrogates so that only the rows holding them are rejected.
    """
    if path == "-":
        cast(io.TextIOWrapper, sys.stdin).reconfigure(encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")  # sys.stdin is typed TextIO
        return sys.stdin
    if Path(path).is_dir():
        raise InvalidInput(f"{path}: is a folder — pass the .csv file")
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
        later = _first_text(raw) if len(sample) == SAMPLE_BYTES and sample.isascii() else None
    # ASCII says nothing of the encoding: a file that starts so is judged by its first other
    # bytes — GB 18030 if they clearly are, else UTF-8 (a bad byte there is one row's damage).
    head, sample = sample, later or sample
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the sample's end
            encoding = _encoding_of(sample) or ("utf-8-sig" if later else None)
            if encoding is not None:
                return open(path, encoding=encoding, errors=DECODE_ERRORS, newline="")
            raise InvalidInput(
                f"{path}: not UTF-8 text (byte {exc.start:,}) — probably GBK from Excel or a Windows tool: "
                "save it as \"CSV UTF-8\", or convert it with `iconv -f GBK -t UTF-8 IN.csv > OUT.csv`"
            ) from None
    if b"\x00" in head:
        raise InvalidInput(f"{path}: a binary file (or UTF-16 text), not CSV — export or save it as CSV UTF-8")
    return open(path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")


def _first_text(raw: IO[bytes]) -> bytes | None:
    """The first ``SAMPLE_BYTES`` of ``raw``, read on from where it is, that start with a byte
    that is not ASCII (a character's first byte: everything before it is ASCII), or None if
    there are none. A GBK file from Excel whose first thousand rows are ids, numbers and times
    would otherwise be read as UTF-8, and each of its later Chinese rows rejected."""
    while block := raw.read(1 << 20):
        if not block.isascii():
            start = NOT_ASCII.search(block).start()  # type: ignore[union-attr]  # not all ASCII: there is one
            return (block[start:] + raw.read(SAMPLE_BYTES))[:SAMPLE_BYTES]
    return None


def _encoding_of(sample: bytes) -> str | None:
    """How to read a file whose first bytes, ``sample``, are not all UTF-8: as UTF-8 still when
    a damaged byte or two stand among good UTF-8 characters (their rows are then rejected; read
    as GB 18030, every Chinese character would be garbled); as GB 18030 when UTF-8 fails at
    most of its characters and it decodes as such (but for a character cut at its end); else
    None: neither."""
    as_utf8 = sample.decode("utf-8", errors="replace")
    bad = as_utf8.count("\ufffd")
    good = sum(1 for character in as_utf8 if character > "\x7f") - bad
    if bad * 10 <= good:
        return "utf-8-sig"
    if bad > good:
        for cut in range(4):  # GB 18030 characters are up to four bytes long
            try:
                sample[: len(sample) - cut].decode("gb18030")
                return "gb18030"
            except UnicodeDecodeError:
                continue
    return None


def _delimiter(header: str) -> str:
    """Only the delimiter is guessed (Excel writes ``;`` in some locales); quoting is Excel's, always."""
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _as_csv(cells: list[str]) -> str:
    """A record as one CSV line again, for ``--rejects`` (line breaks inside cells kept quoted)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()




def parse_csv_time(value: str, tz: ZoneInfo) -> float:
    """Epoch seconds from a cell: epoch seconds or milliseconds, RFC 3339, ``2026-03-01
    09:15[:02]`` (``/`` too), ``2026年3月1日 9:15``, ``2026/3/1 下午3:05``, or an Excel date
    serial (``46082.4375``: a date cell saved as 常规/General), read in ``tz``."""
    text = value.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        number = float(text)
        return number / 1000 if number >= 100_000_000_000 else number
    if EXCEL_SERIAL.fullmatch(text):  # days since 1899-12-30 (Excel's day 0), local
        return (EXCEL_EPOCH + timedelta(seconds=round(float(text) * 86400))).replace(tzinfo=tz).timestamp()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _strptime(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()


# An Excel date serial between 1954 and 2119 (20000–79999 days), with its time as a fraction.
EXCEL_SERIAL = re.compile(r"[2-7]\d{4}(?:\.\d+)?")
EXCEL_EPOCH = datetime(1899, 12, 30)
# "下午3:05", "上午 9:05", "晚上8:00": a 12-hour clock with its part of the day in Chinese.
HALF_DAY = re.compile(r"(?P<date>.*?)\s*(?P<part>凌晨|早上|上午|中午|下午|晚上)\s*(?P<hour>\d{1,2})(?P<rest>:\d{2}(?::\d{2})?)$")


TWO_DIGITS = tuple(f"{number:02d}" for number in range(60))
IN_HOUR = {f":{minutes:02d}:{seconds:02d}": minutes * 60 + seconds for minutes in range(60) for seconds in range(60)}  # ":25:04" → 1504


class CsvTimes:
    """The native ``ts`` of a column of time cells, as ``rfc3339(parse_csv_time(cell, tz), tz)``
    writes it, for the two forms exports write on every row — epoch seconds (MemoTrace) and
    ``2024-10-04 21:25:04`` (PyWxDump) — without ``datetime`` per row: 0.65 µs a cell instead
    of 2.7 (0.55 instead of 3.8 for the text form, which within such an hour is the time as
    written, with the hour's offset). ``moment`` gives the epoch seconds with the text, so that
    a source can build the Event without the event check reading the text again.

    A cell is read by hand within an hour whose two ends are in one offset (and, for epoch
    seconds, on one local date). No zone changes its offset twice within an hour: the closest
    two changes of one zone's offset in tzdata 2025b are four days apart (Africa/Freetown,
    1939-09-01 and 09-05). Rows come in time order, so one hour is remembered; anything else
    (milliseconds, a fraction, another layout, an hour with a change of offset, an hour across
    local midnight) takes the general path. Tested against it in tests/test_source_fast_paths.py."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self._hour = -1  # the UTC hour (epoch seconds // 3600) that the next three describe
        self._date = ""  # "2026-03-01T", its local date; "" when that hour is read the general way
        self._shift = 0  # epoch seconds + shift = seconds since that local midnight
        self._offset = ""  # "+08:00", as isoformat writes it
        self._local_hour = ""  # "2024-10-04 21", the last local hour read from text
        self._local_start: int | None = None  # epoch seconds of its :00:00; None: the general way
        self._local_offset = ""  # "+08:00", its offset as isoformat writes it

    def rfc3339(self, cell: str) -> str:
        """The native ``ts`` of a stripped cell; ValueError as ``parse_csv_time`` raises it."""
        return self.moment(cell)[0]

    def moment(self, cell: str) -> tuple[str, int | None]:
        """The native ``ts`` of a stripped cell, and its epoch seconds when it was read by hand
        (None from the general path): what the event check reads that ``ts`` as, without
        reading it. ValueError as ``parse_csv_time`` raises it."""
        if len(cell) == 10 and cell.isascii() and cell.isdigit():
            epoch = int(cell)
            return self._from_epoch(epoch), epoch
        in_hour = IN_HOUR.get(cell[13:]) if len(cell) == 19 else None  # the minutes and seconds, checked and read at once
        if in_hour is not None:
            hour = cell[:13]
            if hour != self._local_hour:
                self._local_hour = hour
                well_formed = hour[4] == "-" and hour[7] == "-" and hour[10] == " " and hour.isascii()
                self._local_start = self._local_hour_start(hour) if well_formed else None
            if self._local_start is not None:  # the whole hour is in one offset: the cell is the time as written
                return cell[:10] + "T" + cell[11:] + self._local_offset, self._local_start + in_hour
        return rfc3339(parse_csv_time(cell, self.tz), self.tz), None

    def _from_epoch(self, seconds: int) -> str:
        if seconds // 3600 != self._hour:
            self._describe_hour(seconds // 3600)
        if not self._date:
            return rfc3339(float(seconds), self.tz)
        hours, rest = divmod(seconds + self._shift, 3600)
        return self._date + TWO_DIGITS[hours] + ":" + TWO_DIGITS[rest // 60] + ":" + TWO_DIGITS[rest % 60] + self._offset

    def _describe_hour(self, hour: int) -> None:
        start = hour * 3600
        first, last = datetime.fromtimestamp(start, self.tz), datetime.fromtimestamp(start + 3599, self.tz)
        self._hour = hour
        if first.utcoffset() != last.utcoffset() or first.date() != last.date():
            self._date = ""
            return
        written = first.isoformat()  # no microseconds: "2026-03-01T09:00:00+08:00"
        self._date, self._offset = written[:11], written[19:]
        self._shift = first.hour * 3600 + first.minute * 60 + first.second - start

    def _local_hour_start(self, hour: str) -> int | None:
        """Epoch seconds of ``hour``:00:00 if both ends of that local hour read back as written,
        in one offset; then the general path reads each of its seconds as :00:00 plus the
        minutes and seconds (a second that happens twice as the first, as the general path
        does). Else None: a change of offset, or not a time, which the general path reports."""
        try:
            first, last = parse_csv_time(hour + ":00:00", self.tz), parse_csv_time(hour + ":59:59", self.tz)
        except ValueError:
            return None
        written = rfc3339(first, self.tz)  # both ends read back as written, in one offset: 3,599 s apart
        if written[:19] != hour.replace(" ", "T") + ":00:00" or rfc3339(last, self.tz) != written[:14] + "59:59" + written[19:]:
            return None
        self._local_offset = written[19:]
        return int(first)


def _strptime(text: str) -> datetime:
    written = text
    half = HALF_DAY.fullmatch(text)
    if half is not None:
        hour = int(half["hour"])
        if half["part"] in ("下午", "晚上") and hour < 12 or half["part"] == "中午" and hour < 11:
            hour += 12
        elif half["part"] in ("凌晨", "早上", "上午") and hour == 12:
            hour = 0
        text = f"{half['date']} {hour}{half['rest']}"
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(Reason("csv_time", value=repr(written)))


def column_map(options: Mapping[str, Any], columns: Sequence[str], path: str) -> dict[str, str]:
    """Field → column: ``--map`` pairs, plus every column already named like a field."""
    given = dict(options.get("map") or {})
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"--map: unknown event field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} — the fields are: {', '.join(FIELDS)}")
    mapping = {field: field for field in FIELDS if field in columns}
    mapping.update(given)
    if "ts" not in mapping:
        raise InvalidInput(f"{path}: no time column — name it with --map ts=COLUMN (the header has: {', '.join(columns)})")
    return mapping


def read_csv(path: str, options: Mapping[str, Any]) -> Iterator[SourceRecord | Rejected]:
    """Events from a CSV with a header; ``type`` defaults to message and ``group`` to the file's name."""
    tz: ZoneInfo = options["timezone"]
    with CsvFile(path) as table:
        mapping = column_map(options, table.columns, path)
        table.require(mapping, "fix the column names in --map (they are matched exactly, case included)")
        default_group = "csv" if path == "-" else Path(path).stem
        group_column = mapping.get("group")
        above: str | None = None  # the last group cell with a value: what a merged cell below it means
        for row in _oldest_first(table.rows(), mapping["ts"], tz):
            if isinstance(row, Rejected):
                yield row
                continue
            try:
                event = event_from_row(row, mapping, default_group, tz)
            except ValueError as exc:
                yield Rejected(row.line, reason_of(exc), row.text)
                continue
            if group_column is not None:
                if row.get(group_column):
                    above = event["group"]
                elif above is not None and event["type"] in FILLED_DOWN:
                    # A group cell merged over several rows (合并单元格) keeps its value in the
                    # first row only: the rows below are in that group, not in the file's.
                    event["group"] = above
            yield SourceRecord(row.line, event)


FILLED_DOWN = frozenset({"message", "member_joined", "member_left", "activity_started", "activity_joined", "activity_ended"})  # events of a group


NEWEST_FIRST_SAMPLE = 50  # rows whose times tell a sheet kept newest first


def _oldest_first(rows: Iterator[Row | Rejected], column: str, tz: ZoneInfo) -> Iterator[Row | Rejected]:
    """``rows`` oldest first. A sheet kept newest first (the default view of many logs and
    shared sheets) would lose every row but the first, each older than the one before: when
    the first rows' times only ever go back, the whole file is read and given from its end
    (held in memory: a sheet, not an export of millions of messages). Otherwise as they come."""
    head: list[Row | Rejected] = []
    times: list[float] = []
    for row in rows:
        head.append(row)
        if isinstance(row, Row):
            try:
                times.append(parse_csv_time(row.get(column), tz))
            except ValueError:
                pass
        if len(times) >= NEWEST_FIRST_SAMPLE:
            break
    steps = [later - earlier for earlier, later in zip(times, times[1:], strict=False) if later != earlier]
    if steps and all(step < 0 for step in steps):
        head.extend(rows)
        head.reverse()
    yield from head
    yield from rows


def event_from_row(row: Row, mapping: Mapping[str, str], default_group: str, tz: ZoneInfo) -> dict[str, Any]:
    """One native event from a row; empty cells are left out, so optional fields stay optional."""
    cell = row.get(mapping["ts"])
    if not cell:
        raise ValueError(Reason("empty_time", column=mapping["ts"]))
    written_type = row.get(mapping.get("type"))
    kind = TYPE_NAMES.get(written_type) or (written_type.lower() if written_type.lower() in CORE_TYPES else written_type) if written_type else "message"
    event: dict[str, Any] = {"ts": rfc3339(parse_csv_time(cell, tz), tz), "type": kind}
    if written_type in REMOVED_NAMES:
        event["reason"] = "removed"
    for field, column in mapping.items():
        value = row.get(column)
        if field in ("ts", "type") or not value:
            continue
        if field in ID_FIELDS and ROUNDED.match(value):
            if field == "member":  # whose row it is can no longer be told: several people would be one member
                raise ValueError(Reason("rounded_id", column=column, value=repr(value)))
            continue  # a message id, a reply's or an inviter's: left out, as if the sheet had none
        if field == "mentions":
            event[field] = [item for item in LIST_SEPARATOR.split(value) if item and not ROUNDED.match(item)]
        elif field == "amount":
            try:
                event[field] = float(value)
            except ValueError:
                raise ValueError(Reason("not_a_number", column=column, value=repr(value))) from None
        else:
            event[field] = value
    event.setdefault("group", default_group)
    return event


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("csv", read_csv, "CSV with a header; --map names the columns (e.g. ts=time,member=user_id); streamed.", recognize))


def recognize(head: str) -> int:
    """A first line of three or more cells, comma-, semicolon- or tab-separated and not JSON,
    has the shape of a CSV header (1): any table, which ``--map`` can name."""
    header = head.split("\n", 1)[0]
    return 1 if not header.lstrip().startswith(("{", "[")) and max(header.count(","), header.count(";"), header.count("\t")) >= 2 else 0
