"""How much work a condition or a text may ask for: the sandbox keeps templates from reaching
Python's internals, these keep them from asking for more than any message needs.

An operator's message is a few hundred characters, its numbers are counts of messages and
points. ``{{ 9**(9**10) }}`` computes for hours, ``{{ 'x' * 10**8 }}`` plans a 100 MB DM,
``'x'|center(10**9)`` fills memory, two nested loops over ``range(100000)`` run 10^10 times: each
check here is a comparison of sizes before the work is done, so none of that starts.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any

MAX_TEXT = 100_000  # characters in a string or items in a list an expression builds, and in a rendered text
MAX_INT_BITS = 4096  # about 1,200 digits: far past any count, far below what takes time to compute or print
MAX_RANGE = 10_000  # numbers in one range()
MAX_DEPTH = 100  # levels of an expression's tree (5,000 nested parentheses overflow Python's stack)
MAX_SCANNED = 10_000  # characters a regex-based filter (striptags, urlize) reads: theirs are not linear
INTERCEPTED = frozenset({"+", "*", "**", "%"})

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "*": operator.mul, "**": operator.pow, "%": operator.mod, "-": operator.sub, "/": operator.truediv, "//": operator.floordiv}
# A width or precision in a %-format or a {}-format: more than four digits is more than MAX_TEXT.
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(?:\d{5,}|\*)|%[-#0 +]*\d*\.(?:\d{5,}|\*)")
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\d{5,}[^{}]*\}|\{[^{}]*\{")
_SEQUENCES = (str, list, tuple)
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class LimitExceeded(ValueError):
    """A condition or text asked for more work than any message needs; says what to write."""


def bounded_binop(name: str, left: Any, right: Any) -> Any:
    """``left <name> right``, refused before it starts if its result would exceed the limits."""
    if name == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS:
            raise LimitExceeded(f"{_short(left)} ** {_short(right)} is a number of more than {MAX_INT_BITS} bits — numbers in texts and conditions are counts: use smaller ones")
    elif name == "*":
        if _is_int(left) and _is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise LimitExceeded(f"{_short(left)} * {_short(right)} is a number of more than {MAX_INT_BITS} bits — numbers in texts and conditions are counts: use smaller ones")
        else:
            sequence, times = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
            if isinstance(sequence, _SEQUENCES) and _is_int(times) and len(sequence) * times > MAX_TEXT:
                raise LimitExceeded(f"repeating {len(sequence)} item(s) {_short(times)} times is more than {MAX_TEXT:,} — a message needs far fewer")
    elif name == "+":
        if _is_int(left) and _is_int(right):
            if max(left.bit_length(), right.bit_length()) >= MAX_INT_BITS:
                raise LimitExceeded(f"a number of more than {MAX_INT_BITS} bits — numbers in texts and conditions are counts: use smaller ones")
        elif isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) and len(left) + len(right) > MAX_TEXT:
            raise LimitExceeded(f"joining {len(left)} and {len(right)} items is more than {MAX_TEXT:,} — a message needs far fewer")
    elif name == "%" and isinstance(left, str):
        _check_format(left)
    return _OPERATORS[name](left, right)


def check_call(function: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Refuse a string method call whose result would exceed the limits (``'x'.center(10**9)``)."""
    owner = getattr(function, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(function, "__name__", "")
    if name in _PADDING_METHODS:
        width = args[0] if args else next(iter(kwargs.values()), 0)
        if _is_int(width) and width * (owner.count("\t") + 1 if name == "expandtabs" else 1) > MAX_TEXT:
            raise LimitExceeded(f"a width of {_short(width)} is more than {MAX_TEXT:,} characters — a message needs far fewer")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _check_replace(owner, args[0], args[1])
    elif name in ("format", "format_map"):
        _check_format(owner)


def bounded_range(*args: Any) -> range:
    """``range``, of at most MAX_RANGE numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range of {len(numbers):,} numbers is more than {MAX_RANGE:,} — loop over fewer")
    return numbers


def check_output(text: str) -> str:
    """``text``, if it is not longer than any message should be."""
    if len(text) > MAX_TEXT:
        raise LimitExceeded(f"the text is more than {MAX_TEXT:,} characters — a message is far shorter")
    return text


def tree_depth(root: Any) -> int:
    """How many levels deep a Jinja tree goes, counted without recursion."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest


def bounded_filters(filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's built-in filters that take a width or a count, checked before they run."""
    bounded: dict[str, Callable[..., Any]] = {}
    checks: dict[str, Callable[..., None]] = {
        "center": lambda value, width=80, *rest: _check_width(width),
        "indent": lambda value, width=4, *rest: _check_width(width if _is_int(width) else len(str(width)), lines=str(value).count("\n") + 1),
        "slice": lambda value, slices, *rest: _check_count(slices),
        "batch": lambda value, linecount, *rest: _check_count(linecount),
        "format": lambda value, *rest: _check_format(value) if isinstance(value, str) else None,
        "replace": lambda value, old, new, *rest: _check_replace(str(value), str(old), str(new)),
        "striptags": lambda value, *rest: _check_scanned(value),
        "urlize": lambda value, *rest: _check_scanned(value),
    }
    for name, check in checks.items():
        if name in filters:
            bounded[name] = _checked(filters[name], check)
    return bounded


def _checked(function: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    @wraps(function)  # keeps Jinja's pass_environment / pass_eval_context marks
    def call(*args: Any, **kwargs: Any) -> Any:
        arguments = list(args)
        if arguments and not isinstance(arguments[0], (str, list, tuple, int, float)) and hasattr(arguments[0], "environment"):
            arguments = arguments[1:]  # the environment or eval context Jinja passes first
        check(*arguments, *kwargs.values())
        return function(*args, **kwargs)

    return call


def _check_width(width: Any, lines: int = 1) -> None:
    if _is_int(width) and width * lines > MAX_TEXT:
        raise LimitExceeded(f"a width of {_short(width)} is more than {MAX_TEXT:,} characters — a message needs far fewer")


def _check_count(count: Any) -> None:
    if _is_int(count) and count > MAX_RANGE:
        raise LimitExceeded(f"a count of {_short(count)} is more than {MAX_RANGE:,} — use a smaller one")


def _check_scanned(value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_SCANNED:
        raise LimitExceeded(f"a text of {len(value):,} characters is more than this filter reads ({MAX_SCANNED:,}) — apply it to something shorter")


def _check_replace(text: str, old: str, new: str) -> None:
    count = len(text) + 1 if old == "" else text.count(old)
    if len(text) + count * (len(new) - len(old)) > MAX_TEXT:
        raise LimitExceeded(f"that replace makes a text of more than {MAX_TEXT:,} characters — a message needs far fewer")


def _check_format(pattern: str) -> None:
    if _PERCENT_WIDTH.search(pattern) or _BRACE_WIDTH.search(pattern):
        raise LimitExceeded("a format width of more than four digits (or a nested or * width) — write widths under 10000")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any) -> str:
    """A number as it may be shown: 10**5000 has too many digits to print (and to read)."""
    return str(value) if not _is_int(value) or value.bit_length() < 64 else f"a {value.bit_length()}-bit number"
