"""Conditions about the member alone, compiled to one Python function of the Member itself.

Most rule firings end at a condition such as ``'vip' in member.tags`` or
``member.messages_7d >= 2``. Run through the closures of ``playbook_engine.compiler`` they need a
MemberView, a context dict and a closure call per node: one to ten microseconds. Here the
same expressions become Python source — one function per rule, reading the Member's slots,
with ``now`` passed in — compiled once when the playbooks load.

Only a small, fixed part of the expression syntax is translated: constants, ``member.<field>``
for the documented fields, ``community.<name|timezone|channel>``, ``member.attributes.get(…)``
with constant arguments, comparisons (null-safe, as ``playbook_engine.expressions.null_safe_compare``),
``and``/``or``/``not``, arithmetic and ``… if … else …``. Anything else (a filter, a test, any
other call or name) leaves the rule to the closures. Safety is by construction: the source is
written only from these node kinds, attribute names come from the known member fields,
literals are ``repr`` of text and integers (other constants are bound by name), and the
function runs with no builtins. The answers are the closures' answers; should the function
raise, the engine runs the closures instead, so an error reads the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from playbook_engine.compiler import parse_expression
from playbook_engine.localtime import DAY, local_time

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from playbook_engine.contract import Member

MemberPredicate = Callable[["Member", float], bool]

# member.<field> → Python over the Member ``m``; ``_time``/``_days`` are bound helpers, ``today``
# the local day of ``now`` (computed once per call when a window is read).
_FIELDS = {
    "id": "m.id",
    "name": "(m.name or m.id)",
    "groups": "_sorted(m.groups)",
    "joined_at": "_time(m.joined_at)",
    "left": "m.left",
    "last_message_at": "_time(m.last_message_at)",
    "days_since_join": "_days(m.joined_at, now)",
    "days_silent": "_silent(m.silent_since, now)",
    "messages": "m.messages",
    "messages_7d": "m.window(today, 7)[0]",
    "messages_30d": "m.window(today, 30)[0]",
    "active_days_30d": "m.active_days(today, 30)",
    "questions": "m.questions",
    "replies": "m.replies",
    "mentions_received": "m.mentions_received",
    "activities": "m.activities",
    "points": "m.points",
    "tags": "_sorted(m.tags)",
    "attributes": "_dict(m.attributes)",
    "stage": "m.stage",
    "stage_since": "_time(m.stage_since)",
    "purchases": "m.purchases",
    "spent": "m.spent",
}
_WINDOWS = frozenset({"messages_7d", "messages_30d", "active_days_30d"})
# Fields that are never null: a comparison with them needs no null check on their side.
_NEVER_NULL = frozenset({"id", "name", "groups", "left", "messages", "messages_7d", "messages_30d", "active_days_30d", "questions", "replies", "mentions_received", "activities", "points", "tags", "attributes", "purchases", "spent"})
# Sets behind the sorted lists the view shows: `'x' in member.tags` asks the set.
_SETS = {"tags": "m.tags", "groups": "m.groups"}
_ORDERING = {"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}
_EQUALITY = {"eq": "==", "ne": "!="}
_ARITHMETIC = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "FloorDiv": "//", "Mod": "%"}
_COMMUNITY = ("name", "timezone", "channel")


class _Untranslatable(Exception):
    pass


def compile_member_predicate(env: Any, sources: Sequence[str], tz: ZoneInfo, community: Mapping[str, Any], silent: Any = None) -> MemberPredicate | None:
    """One function ``(member, now) -> bool``: True when every condition in ``sources`` holds
    for the member at ``now`` (as ``Condition.test`` over a MemberView would say), or None if
    some condition uses syntax outside the translated part."""
    return _compiled(env, tuple(sources), tz, tuple(sorted(community.items())), silent)


@lru_cache(maxsize=1024)
def _compiled(env: Any, sources: tuple[str, ...], tz: ZoneInfo, community: tuple[tuple[str, Any], ...], silent: Any = None) -> MemberPredicate | None:
    writer = _Writer(dict(community))
    try:
        tests = [writer.expression(parse_expression(env, source)) for source in sources]
    except (_Untranslatable, TemplateSyntaxError):
        return None
    lines = ["def check(m, now):"]
    if writer.reads_windows:
        lines.append("    today = _day(now)")
    lines += [f"    if not ({test}):\n        return False" for test in tests]
    lines.append("    return True")
    namespace: dict[str, Any] = {"__builtins__": {}, **_helpers(tz, silent), **writer.constants}
    exec(compile("\n".join(lines), "<member conditions>", "exec"), namespace)  # source written from checked nodes only (see module docstring)
    check: MemberPredicate = namespace["check"]
    return check


def _helpers(tz: ZoneInfo, silent: Any = None) -> dict[str, Any]:
    """What the generated functions call: the view's conversions, for ``tz`` (``silent``: the
    community's SilentDays, when some days are no silence)."""
    def days(t: float | None, now: float) -> int | None:
        if t is None:
            return None
        count = int((now - t) // DAY)
        return count if count > 0 else 0  # as the view counts them: never below 0

    def silent_days(t: float | None, now: float) -> int | None:
        if t is None:
            return None
        count = int(silent.days(t, now))
        return count if count > 0 else 0

    return {
        "_silent": days if silent is None else silent_days,
        "_sorted": sorted,
        "_dict": dict,
        "_day": local_time(tz).day,
        "_time": lambda t: None if t is None else datetime.fromtimestamp(t, tz),
        "_days": days,
    }


class _Writer:
    """Python source for one expression tree; raises _Untranslatable outside the translated part."""

    def __init__(self, community: Mapping[str, Any]):
        self.community = community
        self.constants: dict[str, Any] = {}
        self.reads_windows = False
        self._temporaries = 0

    def expression(self, node: nodes.Node) -> str:
        method: Callable[[nodes.Node], str] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Untranslatable(type(node).__name__)
        return method(node)

    def _constant(self, value: Any) -> str:
        if value is None or isinstance(value, (bool, str)) or (type(value) is int):
            return repr(value)
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def _temporary(self) -> str:
        self._temporaries += 1
        return f"_t{self._temporaries}"

    def _field(self, node: nodes.Node) -> str | None:
        """The member field ``node`` reads (``member.<field>``), or None."""
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "member" and node.node.ctx == "load":
            if node.attr not in _FIELDS:
                raise _Untranslatable(f"member.{node.attr}")
            return node.attr
        return None

    def _never_null(self, node: nodes.Node) -> bool:
        if isinstance(node, nodes.Const):
            return node.value is not None
        field = self._field(node)
        return field is not None and field in _NEVER_NULL

    # -- leaves ------------------------------------------------------------------------------

    def _Const(self, node: nodes.Const) -> str:  # named after Jinja's node classes
        if node.value is not None and not isinstance(node.value, (bool, str, int, float)):
            raise _Untranslatable("constant")
        return self._constant(node.value)

    def _Getattr(self, node: nodes.Getattr) -> str:
        field = self._field(node)
        if field is not None:
            self.reads_windows = self.reads_windows or field in _WINDOWS
            return _FIELDS[field]
        if isinstance(node.node, nodes.Name) and node.node.name == "community" and node.attr in _COMMUNITY and node.attr in self.community:
            return self._constant(self.community[node.attr])
        raise _Untranslatable("attribute")

    def _Call(self, node: nodes.Call) -> str:
        # member.attributes.get(key) / .get(key, default), with constants: the view's copy of
        # the attributes answers as the member's own dict does.
        callee = node.node
        if (
            isinstance(callee, nodes.Getattr) and callee.attr == "get" and self._field(callee.node) == "attributes"
            and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None
            and 1 <= len(node.args) <= 2 and all(isinstance(argument, nodes.Const) for argument in node.args)
        ):
            arguments = ", ".join(self._Const(cast(nodes.Const, argument)) for argument in node.args)  # all constants: checked above
            return f"m.attributes.get({arguments})"
        raise _Untranslatable("call")

    def _List(self, node: nodes.List) -> str:
        return "[" + ", ".join(self.expression(item) for item in node.items) + "]"

    def _Tuple(self, node: nodes.Tuple) -> str:
        return "(" + "".join(self.expression(item) + ", " for item in node.items) + ")"

    # -- comparisons -------------------------------------------------------------------------

    def _Compare(self, node: nodes.Compare) -> str:
        # As null_safe_compare: an ordering with a null side, or `in` a null, is false; == and
        # != compare as Python does.
        operands = [node.expr] + [operand.expr for operand in node.ops]
        sources = [self.expression(operand) for operand in operands]
        field = self._field(operands[-1])
        if field in _SETS and node.ops[-1].op in ("in", "notin"):
            # `'x' in member.tags`: the set behind the sorted list answers the same for a text or
            # a number (only as the last operand: a list on the left of another comparison stays one).
            left = operands[-2]
            if isinstance(left, nodes.Const) and isinstance(left.value, (str, int)) and not isinstance(left.value, bool):
                sources[-1] = _SETS[field]
        if len(node.ops) == 1 and all(self._cannot_raise(operand) for operand in operands):
            return "(" + self._direct(node.ops[0].op, sources, operands) + ")"
        # Otherwise every operand is computed first (a tuple, never empty, so true), then each
        # pair in turn, as the closures do: the first false pair is the answer, else the last.
        names = [self._temporary() for _ in operands]
        assignments = ", ".join(f"({name} := {source})" for name, source in zip(names, sources, strict=True))
        pairs = [self._bound(operand.op, names[index : index + 2], operands[index : index + 2]) for index, operand in enumerate(node.ops)]
        return f"(({assignments},) and (" + ") and (".join(pairs) + "))"

    def _direct(self, op: str, sources: list[str], operands: Sequence[nodes.Node]) -> str:
        """One comparison of operands that cannot raise: each computed where it is needed, a
        nullable one bound to a name by its null check."""
        (left, right), (left_node, right_node) = sources, operands
        if op in _EQUALITY:
            return f"{left} {_EQUALITY[op]} {right}"
        checks, names = [], []
        for source, side in ((left, left_node), (right, right_node)):
            if self._never_null(side) or (op in ("in", "notin") and side is left_node):
                names.append(source)
            else:
                name = self._temporary()
                checks.append(f"({name} := {source}) is not None")
                names.append(name)
        if op in _ORDERING:
            return " and ".join([*checks, f"{names[0]} {_ORDERING[op]} {names[1]}"])
        if op in ("in", "notin"):
            return " and ".join([*checks, f"{names[0]} {'in' if op == 'in' else 'not in'} {names[1]}"])
        raise _Untranslatable(op)

    def _bound(self, op: str, names: list[str], operands: Sequence[nodes.Node]) -> str:
        """One comparison of operands already computed into ``names``."""
        (left, right), (left_node, right_node) = names, operands
        if op in _EQUALITY:
            return f"{left} {_EQUALITY[op]} {right}"
        if op in _ORDERING:
            checks = [f"{name} is not None" for name, side in ((left, left_node), (right, right_node)) if not self._never_null(side)]
            return " and ".join([*checks, f"{left} {_ORDERING[op]} {right}"])
        if op in ("in", "notin"):
            test = f"{left} {'in' if op == 'in' else 'not in'} {right}"
            return test if self._never_null(right_node) else f"{right} is not None and {test}"
        raise _Untranslatable(op)

    def _cannot_raise(self, node: nodes.Node) -> bool:
        """Whether computing ``node`` can neither raise nor have effects (constants, most fields,
        ``member.attributes.get(constant)``): such operands may be computed in any order."""
        if isinstance(node, nodes.Const):
            return True
        field = self._field(node)
        if field is not None:
            return field not in ("joined_at", "last_message_at", "stage_since")  # datetimes can overflow
        return isinstance(node, nodes.Call)  # translated only as attributes.get(constants)

    # -- logic and arithmetic ------------------------------------------------------------------

    def _And(self, node: nodes.And) -> str:
        return f"({self.expression(node.left)} and {self.expression(node.right)})"

    def _Or(self, node: nodes.Or) -> str:
        return f"({self.expression(node.left)} or {self.expression(node.right)})"

    def _Not(self, node: nodes.Not) -> str:
        return f"(not {self.expression(node.node)})"

    def _Neg(self, node: nodes.Neg) -> str:
        return f"(-{self.expression(node.node)})"

    def _Pos(self, node: nodes.Pos) -> str:
        return f"(+{self.expression(node.node)})"

    def _binary(self, node: nodes.BinExpr) -> str:
        return f"({self.expression(node.left)} {_ARITHMETIC[type(node).__name__]} {self.expression(node.right)})"

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _binary

    def _CondExpr(self, node: nodes.CondExpr) -> str:
        if node.expr2 is None:
            raise _Untranslatable("if without else")
        return f"({self.expression(node.expr1)} if {self.expression(node.test)} else {self.expression(node.expr2)})"


def compile_member_values(fields: Sequence[str], tz: ZoneInfo, silent: Any = None) -> Callable[[Member, float], tuple[Any, ...]]:
    """One function ``(member, now) -> tuple``: the values a MemberView at ``now`` shows for
    ``fields`` (documented member fields), in that order — what memoised checks key on
    (``silent``: the community's SilentDays, when some days are no silence)."""
    return _values(tuple(fields), tz, silent)


@lru_cache(maxsize=256)
def _values(fields: tuple[str, ...], tz: ZoneInfo, silent: Any = None) -> Callable[[Member, float], tuple[Any, ...]]:
    unknown = [name for name in fields if name not in _FIELDS]
    if unknown:
        raise ValueError(f"not member fields: {', '.join(unknown)}")
    lines = ["def values(m, now):"]
    if any(name in _WINDOWS for name in fields):
        lines.append("    today = _day(now)")
    lines.append("    return (" + "".join(_FIELDS[name] + ", " for name in fields) + ")")
    namespace: dict[str, Any] = {"__builtins__": {}, **_helpers(tz, silent)}
    exec(compile("\n".join(lines), "<member values>", "exec"), namespace)  # source from the fixed field table
    values: Callable[[Member, float], tuple[Any, ...]] = namespace["values"]
    return values
