"""Wrong types in a condition, found at validate time rather than in the middle of a run.

``member.messages == "10"`` is never true (a number never equals text) and ``member.messages >
"10"`` fails on every member it is tested for. Both can be known from the condition alone:
the member fields' types are MemberView's (``MEMBER_FIELD_KINDS``), a literal's is its own.

Deliberately narrow, so no condition that can work is refused: only a comparison, ``in`` or
arithmetic whose two sides are a member field and a literal (or two member fields) is checked,
and only pairs Python itself refuses or can never find equal are reported. A filter's result,
an attribute (``member.attributes.level``), ``now``, ``event`` and ``group`` are left to the run;
a number against true/false passes (Python counts true as 1); ``none`` is a null check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from jinja2 import nodes

# How a problem names a kind of value.
_NOUNS = {
    "number": "a number",
    "text": "text",
    "truth": "true or false",
    "moment": "a date and time",
    "texts": "a list of texts",
    "mapping": "named values",
    "list": "a list",
}
_NUMERIC = frozenset({"number", "truth"})
_ORDERING = {"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}
_ANY_KIND = tuple(_NOUNS)
# Arithmetic, with the pairs of kinds besides two numbers that Python computes.
_ARITHMETIC: dict[type[nodes.BinExpr], tuple[str, frozenset[tuple[str, str]]]] = {
    nodes.Add: ("+", frozenset({("text", "text"), ("texts", "texts"), ("texts", "list"), ("list", "texts")})),
    nodes.Sub: ("-", frozenset({("moment", "moment")})),
    nodes.Mul: ("*", frozenset({("text", "number"), ("number", "text"), ("texts", "number"), ("number", "texts")})),
    nodes.Div: ("/", frozenset()),
    nodes.FloorDiv: ("//", frozenset()),
    nodes.Mod: ("%", frozenset(("text", kind) for kind in _ANY_KIND)),  # text % values: formatting
    nodes.Pow: ("**", frozenset()),
}
# A date field compared with a number or text: what was most likely meant.
_DAYS_OF = {"joined_at": "member.days_since_join", "last_message_at": "member.days_silent"}
_NUMBER_TEXT = re.compile(r"\s*-?\d+(\.\d+)?\s*")


class _Operand:
    """One side of a comparison whose kind is known: a member field or a literal."""

    __slots__ = ("field", "items", "kind", "value")

    def __init__(self, kind: str, field: str | None = None, value: object = None, items: frozenset[str] = frozenset()):
        self.kind = kind
        self.field = field  # "messages" for member.messages; None for a literal
        self.value = value  # a literal's value
        self.items = items  # a literal list's item kinds

    def __str__(self) -> str:
        return f"member.{self.field}" if self.field is not None else _literal(self.value)

    def described(self) -> str:
        return f"{self} ({_NOUNS[self.kind]})"

    def code(self) -> str:
        """As a hint writes it: text in single quotes, which fit inside a YAML "…" string."""
        if self.field is None and isinstance(self.value, str) and "'" not in self.value:
            return f"'{self.value}'"
        return str(self)


def type_problems(tree: nodes.Node, kinds: Mapping[str, str | None]) -> list[str]:
    """Every comparison or computation in ``tree`` between a member field (of the kinds
    ``kinds`` gives) and a value of a type it can never match or be combined with."""
    problems: list[str] = []
    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr] + [operand.expr for operand in compare.ops]
        for index, operand in enumerate(compare.ops):
            pair = _known_pair(operands[index], operands[index + 1], kinds)
            if pair is None:
                continue
            problem = _membership(*pair, operand.op) if operand.op in ("in", "notin") else _comparison(*pair, operand.op)
            if problem is not None:
                problems.append(problem)
    for node in tree.find_all(tuple(_ARITHMETIC)):
        pair = _known_pair(node.left, node.right, kinds)
        if pair is None:
            continue
        left, right = pair
        symbol, allowed = _ARITHMETIC[type(node)]
        if not ({left.kind, right.kind} <= _NUMERIC or (left.kind, right.kind) in allowed):
            problems.append(f"condition computes {left.described()} {symbol} {right.described()}, which fails for every member — {_arithmetic_hint(left, right, symbol)}")
    return problems


def _known_pair(left_node: nodes.Node, right_node: nodes.Node, kinds: Mapping[str, str | None]) -> tuple[_Operand, _Operand] | None:
    """Both sides, if both kinds are known and at least one is a member field."""
    left, right = _typed(left_node, kinds), _typed(right_node, kinds)
    if left is None or right is None or (left.field is None and right.field is None):
        return None
    return left, right


def _typed(node: nodes.Node, kinds: Mapping[str, str | None]) -> _Operand | None:
    if isinstance(node, nodes.Const):
        return _constant(node.value)
    if isinstance(node, (nodes.Neg, nodes.Pos)) and isinstance(node.node, nodes.Const):
        operand = _constant(node.node.value)
        if operand is None or operand.kind != "number":
            return None
        return _Operand("number", value=-node.node.value if isinstance(node, nodes.Neg) else node.node.value)
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_constant(item.value) if isinstance(item, nodes.Const) else None for item in node.items]
        known = [item for item in items if item is not None]
        if not items or len(known) != len(items):
            return None
        return _Operand("list", value=[item.value for item in known], items=frozenset(item.kind for item in known))
    if isinstance(node, nodes.Getattr):
        holder, name = node.node, node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        holder, name = node.node, node.arg.value
    else:
        return None
    kind = kinds.get(name) if isinstance(holder, nodes.Name) and holder.name == "member" else None
    return _Operand(kind, field=name) if kind is not None else None


def _constant(value: object) -> _Operand | None:
    if isinstance(value, bool):
        return _Operand("truth", value=value)
    if isinstance(value, (int, float)):
        return _Operand("number", value=value)
    if isinstance(value, str):
        return _Operand("text", value=value)
    return None  # none: a test for an unknown value, right with any field


def _comparable(one: str, other: str) -> bool:
    return one == other or {one, other} <= _NUMERIC


def _comparison(left: _Operand, right: _Operand, op: str) -> str | None:
    kinds = {left.kind, right.kind}
    if _comparable(left.kind, right.kind) or kinds == {"texts", "list"} or "mapping" in kinds:
        return None
    if op in _ORDERING:
        outcome = "which fails for every member"
    elif op in ("eq", "ne"):
        outcome = "which is never true" if op == "eq" else "which is always true"
    else:
        return None
    return f"condition compares {left.described()} with {right.described()}, {outcome} — {_comparison_hint(left, right, _ORDERING.get(op, '==' if op == 'eq' else '!='))}"


def _membership(item: _Operand, container: _Operand, op: str) -> str | None:
    """``item in container``: whether it can work, from the two kinds."""
    word = "not in" if op == "notin" else "in"
    if container.kind in ("number", "truth", "moment"):
        outcome = "which fails for every member: it holds no items"
    elif container.kind == "text" and item.kind != "text":
        outcome = "which fails for every member: only text can be found in text"
    elif container.kind == "texts" and item.kind != "text":
        outcome = "which is " + ("never" if word == "in" else "always") + " true: it holds only text"
    elif container.kind == "list" and container.items and not any(_comparable(item.kind, kind) for kind in container.items):
        nouns = " or ".join(sorted(_NOUNS[kind] for kind in container.items))
        outcome = "which is " + ("never" if word == "in" else "always") + f" true: its items are {nouns}"
    else:
        return None
    return f"condition looks for {item.described()} {word} {container.described()}, {outcome} — {_membership_hint(item, container, word)}"


def _comparison_hint(left: _Operand, right: _Operand, symbol: str) -> str:
    field, other = (left, right) if left.field is not None else (right, left)
    literal = other.field is None
    if field.kind == "number" and other.kind == "text" and literal:
        if _NUMBER_TEXT.fullmatch(str(other.value)):
            return f"write {str(other.value).strip()}"
        return f"compare with a number, e.g. `{field} >= 10`"
    if field.kind == "text" and other.kind == "number" and literal and symbol in ("==", "!="):
        return f"write `{field} {symbol} '{other}'`"
    if field.kind in ("text", "texts") and other.kind == "number" and literal:
        return f"to {'compare its length' if field.kind == 'text' else 'count them'}, write `{field} | length {symbol} {other}`"
    if field.kind == "texts" and other.kind == "text" and literal:
        return f"to test for one, write `{other.code()} in {field}`"
    if field.kind in ("truth", "text") and other.kind in ("text", "truth") and literal:
        return f"write `{field}` or `not {field}` to test whether it is {'true' if field.kind == 'truth' else 'empty'}"
    if field.kind == "moment":
        days = _DAYS_OF.get(field.field or "")
        return f"compare a count of days, e.g. `{days} >= 30`" if days else f"compare it with another date, e.g. `{field} < now`"
    return "compare values of the same type"


def _arithmetic_hint(left: _Operand, right: _Operand, symbol: str) -> str:
    field, other = (left, right) if left.field is not None else (right, left)
    if field.kind == "number" and other.kind == "text" and other.field is None and _NUMBER_TEXT.fullmatch(str(other.value)):
        return f"write {str(other.value).strip()}"
    if field.kind in ("text", "texts") and symbol == "+":
        return f"to join them as text, write `{left.code()} ~ {right.code()}`"
    if field.kind == "texts":
        return f"to count them, write `{field} | length {symbol} {other}`"
    if field.kind == "moment":
        days = _DAYS_OF.get(field.field or "")
        return f"compute with a count of days, e.g. `{days} {symbol} 1`" if days else "compute with numbers"
    return "compute with numbers"


def _membership_hint(item: _Operand, container: _Operand, word: str) -> str:
    if container.kind == "list":
        return "write the items as " + ("numbers, without quotes" if item.kind in _NUMERIC else "text, in quotes")
    if item.kind in _NUMERIC and item.field is None and container.kind in ("text", "texts"):
        return f"write `'{item}' {word} {container}`"
    if container.kind in ("number", "truth", "moment"):
        return f"look in a list such as member.tags, e.g. `{item.code() if item.kind == 'text' else repr('vip')} {word} member.tags`"
    return f"look for text, e.g. `'vip' {word} {container}`"


def _literal(value: object) -> str:
    """A literal as a condition writes it: "text", 10, true, [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)
