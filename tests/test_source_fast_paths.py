"""The fast paths of `playbook import` of a WeChat CSV, each against the slow, obvious one it stands for."""

from __future__ import annotations

import enum
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from playbook_plugins.importer import LEADING_FIELDS, _line
from playbook_plugins.source_csv import CsvTimes, parse_csv_time
from playbook_plugins.source_json import rfc3339

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
    try:
        return times.rfc3339(cell)
    except ValueError as exc:
        return f"ValueError: {exc}"


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
