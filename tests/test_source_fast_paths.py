"""The fast paths of `playbook import` of a WeChat CSV, each against the slow, obvious one it stands for."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from playbook_plugins.importer import LEADING_FIELDS, _line

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
