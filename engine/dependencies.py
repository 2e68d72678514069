"""What conditions and templates read: which top-level names, which member fields.

Used to skip work that cannot change an answer: a ``becomes`` or stage condition is not
re-checked on an event that left every field it reads alone, and a rule whose conditions and
texts never mention ``event`` is not handed a copy of the event.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import cast

from jinja2 import Environment, meta, nodes

from playbook_engine.compiler import expression_tree, parse_template
from playbook_engine.contract import LOOP_FIELDS


def _tree(env: object, source: str, templates: bool) -> nodes.Template:
    return parse_template(env, source) if templates else expression_tree(env, source)


def _filters_and_tests(tree: nodes.Node) -> Iterator[nodes.Filter | nodes.Test]:
    # Jinja annotates find_all of several node types as finding their common base class.
    return cast("Iterator[nodes.Filter | nodes.Test]", tree.find_all((nodes.Filter, nodes.Test)))


def names_read(env: object, sources: list[str], *, templates: bool = False) -> set[str]:
    """The top-level names (``member``, ``event``, ``now`` …) expressions or templates read,
    plus ``*`` if they call a filter or test that sees the whole template context."""
    return set().union(*(_names_in(env, source, templates) for source in sources))


# Each source is read by several questions (the conditions' context, the re-check's steady and
# identity-only rules) as a run starts: what it reads is worked out once.
@lru_cache(maxsize=4096)
def _names_in(env: object, source: str, templates: bool) -> frozenset[str]:
    tree = _tree(env, source, templates)
    names = set(meta.find_undeclared_variables(tree) if templates else {node.name for node in tree.find_all(nodes.Name)})
    for node in _filters_and_tests(tree):
        declared = _context_reads(env, node)
        if declared is not None:
            names |= declared
        elif _sees_context(env, node):
            names.add("*")
    return frozenset(names)


# What a condition or text reads that stays the same for the whole run: the community's name,
# time zone and channel, and the operators' `content` (content.yaml, edited between runs).
FIXED_NAMES = frozenset({"community", "content"})


def member_fields_read(env: object, sources: list[str]) -> frozenset[str] | None:
    """The member fields the conditions read, or None when their truth can change without
    any of them changing (they read ``now``, an event, a whole member, or call a filter or
    function that sees the template context).

    A check whose fields did not change since the last one gives the same answer; the
    engine uses this to skip re-checking ``becomes`` and lifecycle conditions on events that
    leave those fields alone.
    """
    fields: set[str] = set()
    for source in sources:
        tree = _tree(env, source, templates=False)
        reads_member = {id(node.node) for node in tree.find_all(nodes.Getattr) if isinstance(node.node, nodes.Name) and node.node.name == "member"}
        for name in tree.find_all(nodes.Name):
            if name.name in FIXED_NAMES:
                continue  # they do not change during a run
            if name.name != "member" or id(name) not in reads_member:
                return None
        if not _only_lookups(tree) or any(_sees_context(env, node) for node in _filters_and_tests(tree)):
            return None
        fields.update(node.attr for node in tree.find_all(nodes.Getattr) if id(node.node) in reads_member)
    if fields & LOOP_FIELDS:
        return None  # they change with no field of the member changing
    return frozenset(fields)


def _only_lookups(tree: nodes.Node) -> bool:
    """Whether every call in ``tree`` looks a constant key up in data a member or the firing's
    event carries (``member.attributes.get('role')``, ``event.raw.get('title')``): the same data
    gives the same answer. Any other call may read anything."""
    for call in tree.find_all(nodes.Call):
        function = call.node
        if not (isinstance(function, nodes.Getattr) and function.attr == "get" and isinstance(function.node, nodes.Getattr) and isinstance(function.node.node, nodes.Name) and function.node.node.name in ("member", "event")):
            return False
        if call.kwargs or call.dyn_args is not None or call.dyn_kwargs is not None or not all(isinstance(argument, nodes.Const) for argument in call.args):
            return False
    return True


def reads_member_field(env: object, source: str, name: str) -> bool:
    """Whether the expression ``source`` reads ``member.NAME`` (``member.left`` …)."""
    tree = _tree(env, source, templates=False)
    return any(isinstance(node.node, nodes.Name) and node.node.name == "member" and node.attr == name for node in tree.find_all(nodes.Getattr))


def _context_reads(env: object, node: nodes.Filter | nodes.Test) -> frozenset[str] | None:
    """What a filter declares it reads of the context (``contract.reads_context``), if it does."""
    if not isinstance(node, nodes.Filter):
        return None
    return getattr(env.filters.get(node.name), "context_reads", None)  # type: ignore[attr-defined]  # env: a Jinja2 Environment, typed object here


def _sees_context(env: object, node: nodes.Filter | nodes.Test) -> bool:
    sandbox = cast(Environment, env)  # held as an object by callers that need not know Jinja
    table = sandbox.filters if isinstance(node, nodes.Filter) else sandbox.tests
    function = table.get(node.name)
    return function is None or getattr(function, "jinja_pass_arg", None) is not None


# Member values that change as time passes, with no event: a check reading one can change its
# answer while the member does not change.
TIME_FIELDS = frozenset({"days_since_join", "days_silent", "messages_7d", "messages_30d", "active_days_30d", *LOOP_FIELDS})
# What a condition or text may read and still give the same answer while the member does not
# change: the member's other fields, the community, and what the firing itself carries.
_STEADY_NAMES = frozenset({"member", "trigger", "event", "_channel", "group", *FIXED_NAMES})
_STEADY_GROUP = frozenset({"id", "name", "channel"})  # not its member or message counts


@lru_cache(maxsize=4096)
def _member_fields_in(env: object, source: str, templates: bool) -> frozenset[str] | None:
    """The member fields ``source`` reads, or None if what it reads can change while its member
    does not: ``now``, a group's counts, a call, or the whole member handed anywhere but to a
    filter that declares what it reads of the context (``member | mention``)."""
    if not names_read(env, [source], templates=templates) <= _STEADY_NAMES:
        return None
    tree = _tree(env, source, templates)
    if not _only_lookups(tree):
        return None
    fields = set()
    read_by_field = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            read_by_field.add(id(node.node))
            if node.node.name == "member":
                fields.add(node.attr)
            elif node.node.name == "group" and node.attr not in _STEADY_GROUP:
                return None
    handed_whole = {id(node.node) for node in _filters_and_tests(tree) if isinstance(node, nodes.Filter) and _context_reads(env, node) is not None}
    for name in tree.find_all(nodes.Name):
        if name.name in ("member", "group") and id(name) not in read_by_field and (name.name == "group" or id(name) not in handed_whole):
            return None
    return frozenset(fields)


def steady(env: object, conditions: list[str], texts: list[str]) -> bool:
    """Whether the conditions and texts give the same answer and the same text for as long as
    their member does not change: they read no ``now``, of the group only its id, name and
    channel, no value that time alone moves (``member.days_silent`` …), and hand the whole
    member only to filters that declare what they read of the context (``member | mention``)."""
    for source, templates in [*((source, False) for source in conditions), *((source, True) for source in texts)]:
        fields = _member_fields_in(env, source, templates)
        if fields is None or fields & TIME_FIELDS:
            return False
    return True


def text_fields_read(env: object, texts: list[str]) -> frozenset[str] | None:
    """The member fields the texts read, or None if what they read can change while their
    member does not (as ``_member_fields_in``)."""
    fields: set[str] = set()
    for source in texts:
        read = _member_fields_in(env, source, True)
        if read is None:
            return None
        fields |= read
    return frozenset(fields)


def identity_only(env: object, texts: list[str]) -> bool:
    """Whether the texts read of the member only its ``name`` and ``id`` (directly, or by
    handing the member to a filter that declares what it reads of the context, such as
    ``member | mention``), and nothing else that can change while the member does not."""
    for source in texts:
        fields = _member_fields_in(env, source, True)
        if fields is None or not fields <= {"name", "id"}:
            return False
    return True


def stages_compared(env: object, source: str) -> list[str]:
    """The texts a condition compares ``member.stage`` with (``member.stage == 'newbie'``,
    ``member.stage in ['mature', 'vip']``, either side), in the order written: a stage name the
    lifecycle does not define makes such a comparison always false (or always true)."""
    found: list[str] = []
    for compare in expression_tree(env, source).find_all(nodes.Compare):
        sides = [compare.expr, *(operand.expr for operand in compare.ops)]
        if any(_is_member_stage(side) for side in sides):
            for side in sides:
                items = side.items if isinstance(side, (nodes.List, nodes.Tuple)) else [side]
                found.extend(item.value for item in items if isinstance(item, nodes.Const) and isinstance(item.value, str))
    return found


def _is_member_stage(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Getattr) and node.attr == "stage" and isinstance(node.node, nodes.Name) and node.node.name == "member"
