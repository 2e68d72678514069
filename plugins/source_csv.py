"""Generic CSV as events (``--source csv --map ts=time,member=user_id,…``), and the CSV reading
that the WeChat source shares: encoding check, header check, line numbers, times.

CSV is read row by row, so a file of any size is streamed. Rows must already be in time order
(the core rejects a row older than the one before it, naming its line).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from playbook_engine import hookimpl
from playbook_engine.contract import EventSource, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_plugins.source_json import rfc3339

FIELDS = ("ts", "type", "member", "name", "group", "id", "text", "mentions", "reply_to", "inviter", "reason", "activity", "amount", "channel")
LIST_SEPARATOR = re.compile(r"[\s,;]+")
SAMPLE_BYTES = 64 * 1024
BAD_BYTES = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by surrogateescape
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")

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
        self._stream = _open_text(path)
        first = self._stream.readline()
        if not first.strip():
            raise InvalidInput(f"{path}: empty, or the first line is blank — the first line must be the header (column names)")
        delimiter = _delimiter(first)
        self.columns = [name.strip() for name in next(csv.reader([first], "excel", delimiter=delimiter))]
        self._reader = csv.reader(self._stream, "excel", delimiter=delimiter)

    def rows(self) -> Iterator[Row | Rejected]:
        """Each record as a Row, or a Rejected when its cell count or its bytes are wrong."""
        # Per row, one join and one regular-expression search in C instead of a Python loop
        # over every character: the checks were four fifths of reading a WeChat export.
        previous, columns, width, bad = 1, self.columns, len(self.columns), BAD_BYTES.search
        for cells in self._reader:
            line, previous = previous + 1, self._reader.line_num + 1
            joined = "".join(cells)
            if not joined or joined.isspace():
                continue
            if bad(joined):
                yield Rejected(line, "not UTF-8 text", _as_csv(cells).encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            elif len(cells) != width:
                yield Rejected(line, f"{len(cells)} cells, but the header has {width} columns (an unquoted comma or line break?)", _as_csv(cells))
            else:
                yield Row(line, dict(zip(columns, cells)))  # noqa: B905 - lengths compared just above; strict= would cost ~140 ns a row (3.11)

    def require(self, wanted: Mapping[str, str], how: str) -> None:
        """Fail on the whole file, naming every missing column and the header found, if any is missing."""
        missing = [f"`{column}` (for {field})" for field, column in wanted.items() if column not in self.columns]
        if missing:
            raise InvalidInput(f"{self.path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; the header has: {', '.join(self.columns)} — {how}")

    def close(self) -> None:
        if self._stream is not sys.stdin:
            self._stream.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_text(path: str) -> IO[str]:
    """Check the first 64 KiB is UTF-8 (a GBK export fails as a whole, with a fix), then open as text.

    Later bad bytes are kept as surrogates so that only the rows holding them are rejected.
    """
    if path == "-":
        cast(io.TextIOWrapper, sys.stdin).reconfigure(encoding="utf-8-sig", errors="surrogateescape", newline="")  # sys.stdin is typed TextIO
        return sys.stdin
    if Path(path).is_dir():
        raise InvalidInput(f"{path}: is a folder — pass the .csv file")
    with open(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the sample's end
            raise InvalidInput(
                f"{path}: not UTF-8 text (byte {exc.start:,}) — probably GBK from Excel or a Windows tool: "
                "save it as \"CSV UTF-8\", or convert it with `iconv -f GBK -t UTF-8 IN.csv > OUT.csv`"
            ) from None
    if b"\x00" in sample:
        raise InvalidInput(f"{path}: a binary file (or UTF-16 text), not CSV — export or save it as CSV UTF-8")
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


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
    """Epoch seconds from a cell: epoch seconds or milliseconds, RFC 3339, or ``2026-03-01 09:15[:02]``."""
    text = value.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        number = float(text)
        return number / 1000 if number >= 100_000_000_000 else number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _strptime(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()


def _strptime(text: str) -> datetime:
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time (write e.g. 2026-03-01 09:15:02, 2026-03-01T09:15:02+08:00 or epoch seconds)")


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
        for row in table.rows():
            if isinstance(row, Rejected):
                yield row
                continue
            try:
                yield SourceRecord(row.line, event_from_row(row, mapping, default_group, tz))
            except ValueError as exc:
                yield Rejected(row.line, str(exc), row.text)


def event_from_row(row: Row, mapping: Mapping[str, str], default_group: str, tz: ZoneInfo) -> dict[str, Any]:
    """One native event from a row; empty cells are left out, so optional fields stay optional."""
    cell = row.get(mapping["ts"])
    if not cell:
        raise ValueError(f"empty time in column `{mapping['ts']}`")
    event: dict[str, Any] = {"ts": rfc3339(parse_csv_time(cell, tz), tz), "type": row.get(mapping.get("type")) or "message"}
    for field, column in mapping.items():
        value = row.get(column)
        if field in ("ts", "type") or not value:
            continue
        if field == "mentions":
            event[field] = [item for item in LIST_SEPARATOR.split(value) if item]
        elif field == "amount":
            try:
                event[field] = float(value)
            except ValueError:
                raise ValueError(f"`{column}` {value!r} is not a number") from None
        else:
            event[field] = value
    event.setdefault("group", default_group)
    return event


@hookimpl
def register_sources(register: Callable[[EventSource], None]) -> None:
    register(EventSource("csv", read_csv, "CSV with a header; --map names the columns (e.g. ts=time,member=user_id); streamed."))
