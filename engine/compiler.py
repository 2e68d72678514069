"""Conditions compiled once into plain Python closures, with the sandbox's guarantees kept.

Jinja2's ``compile_expression`` is safe but builds a template context and runs a generator on
every call: about 5,000 evaluations a second. Conditions run for every rule firing and every
lifecycle check, so this module compiles the same expression syntax — the AST Jinja2's own
parser produces — into nested closures. Safety is the sandbox's: every attribute access goes
through ``env.getattr`` (which refuses ``_``-names and unsafe attributes), every call through
``env.is_safe_callable``; only the engine's own read-only views (members, event and group
dicts) take a fast path for the fields they are known to have. Anything this compiler does
not handle (rare: ``**``, slices, context filters) returns None and the expression keeps
running through Jinja2 itself, so behaviour never differs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from typing import Any, cast

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.utils import _PassArg

from playbook_engine.contract import MEMBER_FIELDS
from playbook_engine.limits import bounded_binop, check_call
from playbook_engine.members import MemberView

Compiled = Callable[[Mapping[str, Any]], Any]


class NeedsJinja(Exception):
    """Raised at run time when a value needs Jinja2's full machinery (a context-aware callable)."""


class _Unsupported(Exception):
    pass


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "Add": partial(bounded_binop, "+"),  # what can grow without bound is checked first (limits.py)
    "Sub": operator.sub,
    "Mul": partial(bounded_binop, "*"),
    "Div": operator.truediv,
    "FloorDiv": operator.floordiv,
    "Mod": partial(bounded_binop, "%"),
}
_MEMBER_FIELDS = frozenset(MEMBER_FIELDS)
_DICT_ATTRIBUTES = frozenset(dir(dict))


# Loading a playbook looks at each condition and text several times (checks, compilation, the
# fields it reads, its time thresholds): each is parsed once. The trees are only ever read.
@lru_cache(maxsize=4096)
def parse_expression(env: Any, source: str) -> nodes.Expr:
    """The tree of the expression ``source``; TemplateSyntaxError if it is not one whole expression."""
    parser = Parser(env, source, state="variable")
    tree = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value or token.type!r} after a complete expression", token.lineno)
    return tree


def expression_tree(env: Any, source: str) -> nodes.Template:
    """The expression's tree inside a template node: ``find_all()`` then visits its top node too."""
    return nodes.Template([nodes.Output([parse_expression(env, source)])])


@lru_cache(maxsize=4096)
def parse_template(env: Any, source: str) -> nodes.Template:
    """The tree of the text template ``source``; TemplateSyntaxError if it does not parse."""
    tree: nodes.Template = env.parse(source)
    return tree


def compile_template(env: Any, source: str) -> Callable[[Mapping[str, Any]], str] | None:
    """A closure rendering the text template ``source`` as Jinja2 would (before ``strip``), or
    None if Jinja2 must render it (loops, macros, assignments …: texts rarely need them)."""
    try:
        body = _Compiler(env).statements(parse_template(env, source).body)
    except (_Unsupported, TemplateSyntaxError):
        return None

    def render(context: Mapping[str, Any]) -> str:
        out: list[str] = []
        body(context, out)
        return "".join(out)

    return render


def compile_condition(env: Any, source: str) -> Compiled | None:
    """A closure computing ``source`` from a context mapping, or None if Jinja2 must run it."""
    try:
        return _Compiler(env).compile(parse_expression(env, source))
    except (_Unsupported, TemplateSyntaxError):
        return None


class _Compiler:
    def __init__(self, env: Any):
        self.env = env

    # -- template statements -------------------------------------------------------------------

    def statements(self, body: list[nodes.Node]) -> Callable[[Mapping[str, Any], list[str]], None]:
        steps = [self.statement(node) for node in body]

        def run(context: Mapping[str, Any], out: list[str]) -> None:
            for step in steps:
                step(context, out)

        return run

    def statement(self, node: nodes.Node) -> Callable[[Mapping[str, Any], list[str]], None]:
        if isinstance(node, nodes.Output):
            parts: list[Compiled | str] = [child.data if isinstance(child, nodes.TemplateData) else self.compile(child) for child in node.nodes]

            def output(context: Mapping[str, Any], out: list[str]) -> None:
                for part in parts:
                    out.append(part if type(part) is str else str(part(context)))  # type: ignore[operator]  # else a Compiled: `type() is`, faster here than isinstance, does not narrow

            return output
        if isinstance(node, nodes.If):
            branches = [(self.compile(node.test), self.statements(node.body))]
            branches += [(self.compile(branch.test), self.statements(branch.body)) for branch in node.elif_]
            otherwise = self.statements(node.else_)

            def choose(context: Mapping[str, Any], out: list[str]) -> None:
                for test, body in branches:
                    if test(context):
                        body(context, out)
                        return
                otherwise(context, out)

            return choose
        raise _Unsupported(type(node).__name__)

    def compile(self, node: nodes.Node) -> Compiled:
        method: Callable[[nodes.Node], Compiled] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _Unsupported(type(node).__name__)
        return method(node)

    # -- leaves ------------------------------------------------------------------------------

    def _Const(self, node: nodes.Const) -> Compiled:  # named after Jinja's node classes
        value = node.value
        return lambda context: value

    def _Name(self, node: nodes.Name) -> Compiled:
        if node.ctx != "load":
            raise _Unsupported("assignment")
        name, env = node.name, self.env
        if name in env.globals:
            value = env.globals[name]
            return lambda context: context[name] if name in context else value
        undefined = env.undefined

        def lookup(context: Mapping[str, Any]) -> Any:
            try:
                return context[name]
            except KeyError:
                return undefined(name=name)

        return lookup

    # -- access ----------------------------------------------------------------------------

    def _Getattr(self, node: nodes.Getattr) -> Compiled:
        target = self.compile(node.node)
        attribute = node.attr
        sandboxed = self.env.getattr
        member_field = attribute in _MEMBER_FIELDS
        dict_key = attribute not in _DICT_ATTRIBUTES

        def get(context: Mapping[str, Any]) -> Any:
            value = target(context)
            kind = type(value)
            if kind is MemberView and member_field:
                return getattr(value, attribute)
            if kind is dict and dict_key and attribute in value:
                return value[attribute]
            return sandboxed(value, attribute)

        return get

    def _Getitem(self, node: nodes.Getitem) -> Compiled:
        if isinstance(node.arg, nodes.Slice):
            raise _Unsupported("slice")
        target, key = self.compile(node.node), self.compile(node.arg)
        getitem = self.env.getitem
        return lambda context: getitem(target(context), key(context))

    def _Call(self, node: nodes.Call) -> Compiled:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Unsupported("*args")
        function = self.compile(node.node)
        arguments = [self.compile(argument) for argument in node.args]
        keywords = [(keyword.key, self.compile(keyword.value)) for keyword in node.kwargs]
        is_safe = self.env.is_safe_callable

        def call(context: Mapping[str, Any]) -> Any:
            callee = function(context)
            if not is_safe(callee):
                raise SecurityError(f"{callee!r} is not safely callable")
            if _PassArg.from_obj(callee) is not None:
                raise NeedsJinja
            args, kwargs = [argument(context) for argument in arguments], {key: value(context) for key, value in keywords}
            check_call(callee, args, kwargs)
            return callee(*args, **kwargs)

        return call

    def _Filter(self, node: nodes.Filter) -> Compiled:
        return self._apply(node, self.env.filters, "filter")

    def _Test(self, node: nodes.Test) -> Compiled:
        return self._apply(node, self.env.tests, "test")

    def _apply(self, node: nodes.Filter | nodes.Test, table: Mapping[str, Any], kind: str) -> Compiled:
        function = table.get(node.name)
        passes = _PassArg.from_obj(function) if function is not None else None
        # A context filter that declares what it reads (contract.reads_context) reads it with
        # `context.get`: it can be handed the mapping.
        gets = passes is _PassArg.context and getattr(function, "context_reads", None) is not None
        if function is None or (passes is not None and not gets) or node.dyn_args or node.dyn_kwargs or node.node is None:
            raise _Unsupported(f"{kind} {node.name}")
        subject = self.compile(node.node)
        arguments = [self.compile(argument) for argument in node.args]
        # Jinja annotates a filter's or test's kwargs as Pair nodes; its parser puts Keyword nodes there.
        keywords = [(keyword.key, self.compile(keyword.value)) for keyword in cast("list[nodes.Keyword]", node.kwargs)]
        if gets:
            return lambda context: function(context, subject(context), *(a(context) for a in arguments), **{k: v(context) for k, v in keywords})
        return lambda context: function(subject(context), *(a(context) for a in arguments), **{k: v(context) for k, v in keywords})

    # -- logic and arithmetic ------------------------------------------------------------------

    def _Compare(self, node: nodes.Compare) -> Compiled:
        left = self.compile(node.expr)
        chain = [(operand.op, self.compile(operand.expr)) for operand in node.ops]
        compare: Callable[..., bool] = self.env.compare
        if len(chain) == 1:
            (op, right), = chain
            return lambda context: compare(left(context), op, right(context))

        def compare_chain(context: Mapping[str, Any]) -> bool:
            values: list[Any] = []
            for op, right in chain:
                values += [op, right(context)]
            return compare(left(context), *values)

        return compare_chain

    def _And(self, node: nodes.And) -> Compiled:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda context: left(context) and right(context)

    def _Or(self, node: nodes.Or) -> Compiled:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda context: left(context) or right(context)

    def _Not(self, node: nodes.Not) -> Compiled:
        inner = self.compile(node.node)
        return lambda context: not inner(context)

    def _Neg(self, node: nodes.Neg) -> Compiled:
        inner = self.compile(node.node)
        return lambda context: -inner(context)

    def _Pos(self, node: nodes.Pos) -> Compiled:
        inner = self.compile(node.node)
        return lambda context: +inner(context)

    def _binary(self, node: nodes.BinExpr) -> Compiled:
        left, right = self.compile(node.left), self.compile(node.right)
        function = _ARITHMETIC[type(node).__name__]
        return lambda context: function(left(context), right(context))

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _binary

    def _Concat(self, node: nodes.Concat) -> Compiled:
        parts = [self.compile(part) for part in node.nodes]
        return lambda context: "".join(str(part(context)) for part in parts)

    def _CondExpr(self, node: nodes.CondExpr) -> Compiled:
        if node.expr2 is None:
            raise _Unsupported("if without else")
        test, yes, no = self.compile(node.test), self.compile(node.expr1), self.compile(node.expr2)
        return lambda context: yes(context) if test(context) else no(context)

    # -- literals --------------------------------------------------------------------------------

    def _List(self, node: nodes.List) -> Compiled:
        items = [self.compile(item) for item in node.items]
        return lambda context: [item(context) for item in items]

    def _Tuple(self, node: nodes.Tuple) -> Compiled:
        items = [self.compile(item) for item in node.items]
        return lambda context: tuple(item(context) for item in items)

    def _Dict(self, node: nodes.Dict) -> Compiled:
        pairs = [(self.compile(pair.key), self.compile(pair.value)) for pair in node.items]
        return lambda context: {key(context): value(context) for key, value in pairs}
