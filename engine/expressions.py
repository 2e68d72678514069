"""Conditions and message texts: Jinja2, sandboxed, compiled once, checked before they run.

Three guarantees on top of Jinja2's ImmutableSandboxedEnvironment:

* Templates are inspected before use: any attribute or key starting with ``_`` (the road to
  ``__class__``/``__globals__``) is refused at validation time, as is any variable other than
  the documented ones; the sandbox still guards at run time.
* Ordering comparisons with a null (unknown) value are false instead of a TypeError, so
  ``member.days_since_join < 7`` is simply false for a member whose join we never saw. A key
  that is not there (``member.attributes.role`` for a member without a role) is unknown too:
  it compares as null, is false as a condition and renders as nothing in a text.
* Work is bounded (``limits``): integers, strings and lists an expression builds, widths and
  counts given to filters and methods, ranges, loops, nesting and a rendered text's length.
  ``{{ 9**(9**10) }}`` or ``{{ 'x' * 10**8 }}`` would otherwise hang or fill memory: a constant
  one is refused by validate; one that depends on data fails that one task at run time.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.filters import FILTERS
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from playbook_engine.compiler import NeedsJinja, compile_condition, compile_template, expression_tree, parse_template
from playbook_engine.condition_types import type_problems
from playbook_engine.limits import INTERCEPTED, MAX_DEPTH, MAX_TEXT, LimitExceeded, bounded_binop, bounded_filters, bounded_range, check_call, check_output, tree_depth
from playbook_engine.members import MEMBER_FIELD_KINDS

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {"gt": operator.gt, "gteq": operator.ge, "lt": operator.lt, "lteq": operator.le}
_OTHER: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def _is_null(value: Any) -> bool:
    return value is None or isinstance(value, Undefined)


def null_safe_compare(left: Any, *chain: Any) -> bool:
    """Evaluate ``left op1 right1 op2 right2 …``; an ordering or ``in`` against null is false."""
    for index in range(0, len(chain), 2):
        op, right = chain[index], chain[index + 1]
        if op in _ORDERING:
            if _is_null(left) or _is_null(right):
                return False
            if not _ORDERING[op](left, right):
                return False
        elif op in ("in", "notin") and _is_null(right):
            return False
        elif not _OTHER[op](None if _is_null(left) else left, None if _is_null(right) else right):
            return False
        left = right
    return True


class _NullSafeCodeGenerator(CodeGenerator):
    def visit_Compare(self, node: nodes.Compare, frame: Any) -> None:  # Jinja's visitor name
        self.write("environment.compare(")
        self.visit(node.expr, frame)
        for operand in node.ops:
            self.write(f", {operand.op!r}, ")
            self.visit(operand.expr, frame)
        self.write(")")


class PlaybookEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every condition and text runs in."""

    code_generator_class = _NullSafeCodeGenerator

    intercepted_binops = INTERCEPTED  # through call_binop, and never folded while compiling

    def __init__(self, filters: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)
        self.compare = null_safe_compare
        self.globals.clear()  # no cycler/joiner/namespace/lipsum: nothing an operator needs, more to attack
        self.globals["range"] = bounded_range
        self.filters.update(bounded_filters(self.filters))
        self.filters.update(filters or {})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return bounded_binop(operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def check_source(
    env: PlaybookEnvironment,
    source: str,
    *,
    expression: bool,
    fields: Mapping[str, Iterable[str] | None],
) -> list[str]:
    """Every reason to refuse ``source``: syntax, unsafe attributes, unknown variables or fields,
    and for a condition, a member field compared with a value of the wrong type.

    ``fields`` maps each variable the template may use to its known attribute names (``None``:
    any attribute). The messages are complete sentences an operator can act on.
    """
    too_deep = "nested too deeply (brackets, `not`s or operators many levels deep) — name the inner parts with {% set %}, or simplify"
    try:
        tree = expression_tree(env, source) if expression else parse_template(env, source)
    except TemplateSyntaxError as exc:
        return [_syntax_message(source, exc, expression)]
    except RecursionError:  # thousands of nested brackets (or `not not …`) overflow the parser
        return [too_deep]
    if tree_depth(tree) > MAX_DEPTH:
        return [too_deep]
    problems: list[str] = _work_problems(tree)
    local_names = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(cast(nodes.Getitem, node).arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            problems.append(f"`{name}` is an internal attribute and is not allowed — use the documented fields such as member.name")
    for node in tree.find_all(nodes.Name):
        if node.ctx != "load" or node.name in local_names or node.name in env.globals:
            continue
        if node.name == "event" and "event" not in fields:
            problems.append("`event` exists only in rules triggered by an event (`when: {event: …}`, `activity_ended`) — use member or group fields here, e.g. {{ member.name }}")
        elif node.name not in fields:
            problems.append(_unknown(f"variable `{node.name}`", node.name, list(fields)))
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in fields and node.node.name not in local_names:
            known = fields[node.node.name]
            if known is not None and node.attr not in known and not node.attr.startswith("_"):
                problems.append(_unknown(f"`{node.node.name}.{node.attr}`", node.attr, list(known), prefix=f"{node.node.name}."))
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            problems.append(_unknown(f"filter `{node.name}`", node.name, sorted(env.filters)))
    for node in tree.find_all(nodes.Test):
        if node.name not in env.tests:
            problems.append(_unknown(f"test `{node.name}`", node.name, sorted(env.tests)))
    if expression and "member" in fields:
        problems.extend(type_problems(tree, MEMBER_FIELD_KINDS))
    return list(dict.fromkeys(problems))


_OPERATOR_MISTAKES = (
    (re.compile(r"&&"), "write `and` instead of `&&`"),
    (re.compile(r"\|\|"), "write `or` instead of `||`"),
    (re.compile(r"(?<![=!<>])=(?!=)"), "compare with `==` (a single `=` assigns)"),
    (re.compile(r"!(?!=)"), "write `not` instead of `!`"),
    (re.compile(r"[“”‘’（）]"), "use plain quotes \" ' and brackets ( ), not the full-width “ ” （ ） of a Chinese keyboard"),
)


def _syntax_message(source: str, exc: TemplateSyntaxError, expression: bool) -> str:
    """A syntax error as an operator can act on it: where in the text, and the likely fix."""
    message = (exc.message or "syntax error").split(". Jinja was looking")[0].rstrip(".")
    where = f" (line {exc.lineno} of the text)" if expression is False and "\n" in source.strip() else ""
    if expression:
        stripped = source.strip()
        if stripped.startswith("{{") and stripped.endswith("}}"):
            return f"a condition is written without {{{{ }}}} — write `{stripped[2:-2].strip()}`"
        for pattern, hint in _OPERATOR_MISTAKES:
            if pattern.search(_outside_quotes(source)):
                return f"condition has a syntax error: {message} — {hint}"
        return f"condition has a syntax error: {message} — a condition looks like `member.days_silent >= 7 and 'vip' in member.tags`; check brackets and quotes"
    for pattern, hint in _OPERATOR_MISTAKES[-1:]:
        if pattern.search(source):
            return f"text template has a syntax error{where}: {message} — {hint}"
    opened, closed = source.count("{{"), source.count("}}")
    if opened != closed:
        hint = "every `{{` needs a matching `}}`, e.g. {{ member.name }}"
    elif "{%" in source:
        hint = "every `{% if … %}` needs `{% endif %}` (and `{% for %}` needs `{% endfor %}`)"
    else:
        hint = "inside {{ }} write a variable such as member.name, optionally with a filter: {{ member | mention }}"
    return f"text template has a syntax error{where}: {message} — {hint}"


def _outside_quotes(source: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "''", source)


def _unknown(what: str, name: str, candidates: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} — did you mean `{prefix}{close[0]}`?"
    if prefix == "content.":  # the operator's own names, from content.yaml
        return f"unknown {what} — add `{name}: …` under `content:` in content.yaml (beside community.yaml)" + (f"; it has: {', '.join(candidates[:12])}" if candidates else "")
    shown = ", ".join(prefix + c for c in candidates[:12])
    return f"unknown {what} — known: {shown}"


def _work_problems(tree: nodes.Node) -> list[str]:
    """What is sure to exceed the limits whatever the data: a loop inside a loop, macros, and
    arithmetic or filter arguments made of constants (``{{ 9**(9**10) }}``, ``center(10**9)``)."""
    problems = []
    for loop in tree.find_all(nodes.For):
        if loop.recursive or any(True for _ in loop.find_all(nodes.For)):
            problems.append("a loop inside a loop (or a recursive loop) can run for ever — loop once, over a list prepared in the data")
            break
    if any(True for _ in tree.find_all((nodes.Macro, nodes.CallBlock))):
        problems.append("macros are not supported in texts — write the text out, with {% if %} for its variants")
    for node in tree.find_all((nodes.BinExpr, nodes.Filter, nodes.Call)):
        try:
            _constant(node)
        except LimitExceeded as exc:
            problems.append(str(exc))
        except (_NotConstant, ArithmeticError, TypeError, ValueError):
            pass  # known only at run time, where the same limits hold
    return list(dict.fromkeys(problems))


class _NotConstant(Exception):
    pass


_CONSTANT_FILTERS = {name: FILTERS[name] for name in ("center", "indent", "slice", "batch", "format", "replace")}


def _constant(node: nodes.Node) -> Any:
    """The value of a node made only of constants, computed within the limits; _NotConstant if it
    depends on data or does something other than arithmetic, a bounded filter or range."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.BinExpr):
        return bounded_binop(node.operator, _constant(node.left), _constant(node.right))
    if isinstance(node, nodes.Neg):
        return -_constant(node.node)
    if isinstance(node, nodes.Filter) and node.node is not None and not node.kwargs and node.name in _CONSTANT_FILTERS:
        return bounded_filters({node.name: _CONSTANT_FILTERS[node.name]})[node.name](_constant(node.node), *(_constant(argument) for argument in node.args))
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range" and not node.kwargs:
        return bounded_range(*(_constant(argument) for argument in node.args))
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) and isinstance(node.node.node, nodes.Const) and isinstance(node.node.node.value, str) and not node.kwargs:
        method = getattr(node.node.node.value, node.node.attr, None) if not node.node.attr.startswith("_") else None
        check_call(method, [_constant(argument) for argument in node.args], {})
        raise _NotConstant  # checked, not computed: the run computes it
    raise _NotConstant


class Condition:
    """A compiled ``if:`` expression; ``test(context)`` is its truth.

    It runs as closures from ``playbook_engine.compiler`` when the expression allows (nearly always),
    else through Jinja2's own compiled expression; both give the same answers. Jinja2 compiles
    it only when needed: generating and compiling its Python code is most of a playbook's load.
    """

    __slots__ = ("source", "_env", "_jinja", "_fast")

    def __init__(self, env: PlaybookEnvironment, source: str):
        self.source = source
        self._env = env
        self._jinja: Callable[..., Any] | None = None
        self._fast = compile_condition(env, source)
        if self._fast is None:
            self._jinja = self._compile()  # compiled now: a problem shows at load, not mid-run

    def _compile(self) -> Callable[..., Any]:
        return self._env.compile_expression(self.source, undefined_to_none=False)

    @property
    def _function(self) -> Callable[..., Any]:
        if self._jinja is None:
            self._jinja = self._compile()
        return self._jinja

    def test(self, context: Mapping[str, Any]) -> bool:
        if self._fast is not None:
            try:
                result = self._fast(context)
            except NeedsJinja:
                result = self._function(**context)
        else:
            result = self._function(**context)
        if isinstance(result, Undefined):
            return False
        return bool(result)

    def test_with_jinja(self, context: Mapping[str, Any]) -> bool:
        """The same test through Jinja2 alone (used to check that both paths agree)."""
        result = self._function(**context)
        return False if isinstance(result, Undefined) else bool(result)


class Text:
    """A compiled text template; ``render(context)`` gives the message.

    Like conditions, it runs as closures from ``playbook_engine.compiler`` when the template allows
    (output, ``if``/``elif``/``else``), else through Jinja2's own compiled template, which
    is compiled only when needed (like a condition's).
    """

    __slots__ = ("source", "_env", "_jinja", "_fast")

    def __init__(self, env: PlaybookEnvironment, source: str):
        self.source = source
        self._env = env
        self._jinja: Template | None = None
        self._fast = compile_template(env, source)
        if self._fast is None:
            self._jinja = self._compile()  # compiled now: a problem shows at load, not mid-run

    def _compile(self) -> Template:
        return self._env.from_string(self.source)

    @property
    def _template(self) -> Template:
        if self._jinja is None:
            self._jinja = self._compile()
        return self._jinja

    def __str__(self) -> str:
        return self.source

    def render(self, context: Mapping[str, Any]) -> str:
        if self._fast is not None:
            try:
                return check_output(self._fast(context)).strip()
            except NeedsJinja:
                pass
        return self.render_with_jinja(context)

    def render_with_jinja(self, context: Mapping[str, Any]) -> str:
        """The same text through Jinja2 alone (used to check that both paths agree)."""
        pieces: list[str] = []
        size = 0
        for piece in self._template.generate(**context):  # counted as it is written: a loop may not fill memory
            size += len(piece)
            if size > MAX_TEXT:
                raise LimitExceeded(f"the text is more than {MAX_TEXT:,} characters — a message is far shorter")
            pieces.append(piece)
        return "".join(pieces).strip()


def format_local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """The ``date`` filter: a datetime (already in the community time zone) as text."""
    if moment is None or isinstance(moment, Undefined):
        return ""
    return moment.strftime(pattern)


class Variants:
    """A text written several ways (``dm: ["…", "…"]``): each task uses one, chosen per rule,
    action and target in turn (``Enforcer._variant``), so a member or group does not get the same
    words twice in a row. ``source`` holds them all, for what reads the names a text uses."""

    __slots__ = ("texts", "source")

    def __init__(self, texts: list[Text]):
        self.texts = texts
        self.source = "\n".join(text.source for text in texts)

    def render(self, context: Mapping[str, Any]) -> str:
        return self.texts[0].render(context)  # the first, where no target chooses (plugins, checks)
