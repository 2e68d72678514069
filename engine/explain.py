"""What ``--explain`` shows about a decision: the values a condition looked at.

A condition such as ``member.messages > 0 and 'vip' in member.tags`` is answered with the
values it read (``member.messages = 0``, ``member.tags = []``), so an operator sees why a
rule did or did not apply without reading code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment, nodes

from playbook_engine.compiler import expression_tree

_PARSER_ENV = Environment()


@lru_cache(maxsize=1024)
def referenced_fields(source: str) -> tuple[tuple[str, str], ...]:
    """The ``variable.field`` pairs that ``source`` reads, in order of first appearance."""
    try:
        tree = expression_tree(_PARSER_ENV, source)
    except Exception:  # a condition that does not parse was refused at load time
        return ()
    found: dict[tuple[str, str], None] = {}
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            found[(node.node.name, node.attr)] = None
    return tuple(found)


def field_values(source: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """``{"member.messages": 0, …}`` for the fields ``source`` reads, as they are in ``context``."""
    values: dict[str, Any] = {}
    for variable, name in referenced_fields(source):
        holder = context.get(variable)
        if holder is None:
            continue
        value = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        values[f"{variable}.{name}"] = _plain(value)
    return values


def values_reader(source: str, member_fields: tuple[str, ...]) -> Callable[[tuple[Any, ...], Mapping[str, Any]], dict[str, Any]] | None:
    """``field_values`` for ``source`` without a member view: from the values of
    ``member_fields`` (in that order, as ``predicates.compile_member_values`` reads them) and
    the community's values; None if ``source`` reads any other field."""
    plan: list[tuple[str, str, int | None]] = []
    for variable, name in referenced_fields(source):
        if variable == "member" and name in member_fields:
            plan.append((f"member.{name}", name, member_fields.index(name)))
        elif variable == "community":
            plan.append((f"community.{name}", name, None))
        else:
            return None

    def read(values: tuple[Any, ...], community: Mapping[str, Any]) -> dict[str, Any]:
        # A loop: a comprehension would be a function made at each call, and make ``values``
        # and ``community`` closure cells (read at each firing of a `becomes` rule).
        shown: dict[str, Any] = {}
        for key, name, index in plan:
            shown[key] = _plain(values[index] if index is not None else community.get(name))
        return shown

    return read


def _plain(value: Any) -> Any:
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def describe_values(values: Mapping[str, Any], no_value: str = "None") -> str:
    """``name = value, …`` for --explain; a value that is not there (None) shown as ``no_value``
    (the words of the community's language: 空)."""
    return ", ".join(f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {no_value if value is None else value}" for name, value in values.items())
