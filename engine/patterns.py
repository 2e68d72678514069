"""Regular expressions from playbooks and community.yaml, matched in linear time.

A rule's ``regex`` and ``question.patterns`` are written by people and run on every message:
with Python's backtracking engine, ``^(a+)+$`` on a line of forty ``a`` and a ``b`` tries
2**40 ways (days), and one such message hangs the run. RE2 (``google-re2``) matches in time linear in the text
whatever the pattern, so a run cannot hang on one; it refuses what cannot be matched that way
(backreferences, lookaround), which ``playbook validate`` reports with what to write instead.

Python's ``\\s``, ``\\d`` and ``\\w`` match any Unicode space, digit or letter; RE2's only ASCII
ones. A Chinese text's full-width space ``\\u3000`` must stay a space, so those classes are
rewritten to their Unicode spelling before RE2 compiles the pattern, and ``$`` matches before
a last newline too, as in Python (``\\b`` stays ASCII).
"""

from __future__ import annotations

import re
from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser: what Python's engine will run
from typing import Any, Protocol, cast

import re2

# What Python's \s, \d, \w match, in RE2's syntax (inside a character class: no brackets).
_UNICODE_CLASSES = {"s": r"\s\v\p{Z}\x{85}\x{1c}-\x{1f}", "d": r"\p{Nd}", "w": r"\p{L}\p{N}_"}
_LOOKAROUND = re.compile(r"\(\?<?[=!]")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


class Match(Protocol):
    def group(self, index: int = 0) -> str: ...

    def start(self, index: int = 0) -> int: ...


class Pattern(Protocol):
    """What the engine asks of a compiled pattern: RE2's, or (in tests) Python's."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> Match | None: ...


class PatternError(ValueError):
    """A pattern that cannot be used; the message says what is wrong — what to write."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print its own copy of every refusal to stderr
    return options


_OPTIONS = _options()


def compile_pattern(text: str) -> Pattern:
    """``text`` compiled for linear-time matching; PatternError if it is not a pattern or
    needs backtracking."""
    try:
        python = re.compile(text)
    except re.error as exc:
        raise PatternError(f"not a valid regular expression: {exc} — escape special characters such as ( ) [ ] ? with a backslash") from None
    try:
        linear = re2.compile(unicode_classes(text), _OPTIONS)
    except re2.error as exc:
        raise PatternError(_refusal(text, exc)) from None
    # Python's engine is four times faster per search: kept for a pattern that cannot backtrack
    # more than a few steps at a place (keywords, `https?://`); RE2 for the rest.
    if _bounded(text):
        return cast("Pattern", python)
    return _guarded(cast("Pattern", linear), _required(text))


def any_of(patterns: list[Pattern]) -> Pattern:
    """One pattern that matches somewhere exactly when one of ``patterns`` (compiled by
    ``compile_pattern``) does: their alternation, each once. Without backreferences a group
    cannot change what another branch matches, and RE2 keeps a branch's ``(?i)`` to itself."""
    bounded = [pattern for pattern in patterns if isinstance(pattern, re.Pattern)]
    python = _python_alternation(bounded) if bounded else None
    if python is not None:
        python = _screened(python, _union([_required(pattern.pattern) for pattern in bounded]))
    if python is not None and len(bounded) == len(patterns):
        return python  # each branch bounded: so is their alternation
    if python is not None:
        # Python's engine for the bounded branches, RE2 for the rest only when they do not
        # match: most texts are settled without a search through RE2's wrapper.
        rest = _linear([pattern for pattern in patterns if not isinstance(pattern, re.Pattern)])
        return _Either(python, rest.inner, rest.required) if isinstance(rest, _Guarded) else _Either(python, rest, None)
    return _linear(patterns)


def _python_alternation(patterns: list[Pattern]) -> Pattern | None:
    """Python's alternation of bounded ``patterns``, or None if it does not compile (flags
    set in the middle of a branch, which Python takes only at the start of a pattern; a
    branch's leading ones are scoped to it, as RE2 keeps them)."""
    try:
        return cast("Pattern", re.compile("|".join(f"(?:{_scoped(text)})" for text in dict.fromkeys(pattern.pattern for pattern in patterns))))
    except re.error:
        return None


# A pattern's leading flags, `(?i)`: Python takes them only at the start of the whole pattern.
_LEADING_FLAGS = re.compile(r"\(\?([imsx]+)\)")


def _scoped(text: str) -> str:
    """``text`` with its leading flags (``(?i)solved``) kept to itself (``(?i:solved)``): what
    they mean for the pattern alone, and what Python allows as one branch of an alternation
    (the default `question.solved` patterns end with an English one that ignores case)."""
    flags = _LEADING_FLAGS.match(text)
    return text if flags is None else f"(?{flags.group(1)}:{text[flags.end():]})"


def _linear(patterns: list[Pattern]) -> Pattern:
    """RE2's alternation of ``patterns``, asked only of a text with a character every match holds."""
    # RE2's patterns are kept in its spelling (unicode_classes), Python's in their own.
    texts = dict.fromkeys(unicode_classes(pattern.pattern) if isinstance(pattern, re.Pattern) else pattern.pattern for pattern in patterns)
    # A match of the alternation has a character of some branch's required set: their union.
    required = _union([_required(pattern.pattern) if isinstance(pattern, re.Pattern) else getattr(pattern, "required", None) for pattern in patterns])
    return _guarded(cast("Pattern", re2.compile("|".join(f"(?:{text})" for text in texts), _OPTIONS)), required)


class _Either:
    """A match of ``first`` (Python's engine), else one of ``rest`` (RE2's, asked only of a
    text holding one of the characters every match of ``rest`` holds, if they are known): what
    their alternation matches somewhere, though not always at the same place."""

    __slots__ = ("first", "rest", "rest_required")

    def __init__(self, first: Pattern, rest: Pattern, rest_required: frozenset[str] | None):
        self.first = first
        self.rest = rest
        self.rest_required = rest_required

    @property
    def pattern(self) -> str:
        return f"{self.first.pattern}|{self.rest.pattern}"

    def search(self, text: str) -> Match | None:
        found = self.first.search(text)
        if found is not None or self.rest_required is None:
            return found or self.rest.search(text)
        for char in self.rest_required:
            if char in text:
                return self.rest.search(text)
        return None


class _Guarded:
    """An RE2 pattern asked only of a text holding one of the characters every match holds:
    ``in`` on a string costs a fraction of a search through RE2's wrapper, and most messages
    are not questions."""

    __slots__ = ("inner", "required")

    def __init__(self, inner: Pattern, required: frozenset[str]):
        self.inner = inner
        self.required = required

    @property
    def pattern(self) -> str:
        return self.inner.pattern

    def search(self, text: str) -> Match | None:
        for char in self.required:
            if char in text:
                return self.inner.search(text)
        return None


def _guarded(pattern: Pattern, required: frozenset[str] | None) -> Pattern:
    return pattern if not required else _Guarded(pattern, required)


class _Screened:
    """A pattern of Python's engine asked only of a text holding one of the characters every
    match holds, looked for with one character class.

    Python's engine skips ahead to where a match can start only when a pattern opens with
    literals it can collect; an alternation of groups (``(?:请问)|(?:怎么)|…``) or a branch
    opening with a class (``[vV][xX]``) has it try a match at every place of the text. A
    pattern that is one class is scanned for in C, and most messages are no question and
    match no rule's pattern; for the few that hold a character, the search is the same.
    """

    __slots__ = ("inner", "screen")

    def __init__(self, inner: Pattern, required: frozenset[str]):
        self.inner = inner
        self.screen = re.compile("[" + "".join(re.escape(char) for char in sorted(required)) + "]")

    @property
    def pattern(self) -> str:
        return self.inner.pattern

    def search(self, text: str) -> Match | None:
        if self.screen.search(text) is None:
            return None
        return self.inner.search(text)


def _screened(pattern: Pattern, required: frozenset[str] | None) -> Pattern:
    return pattern if not required else _Screened(pattern, required)


def _required(text: str) -> frozenset[str] | None:
    """Characters one of which every match of ``text`` holds — those of its first element that
    must match once (a literal, or a class of literals) — or None when there is no such
    element, or case or inline flags make it unsure."""
    if "(?" in text:
        return None
    parsed = _parser.parse(text)
    if parsed.state.flags & re.IGNORECASE:
        return None
    return _first_required(list(parsed))


def _union(sets: list[frozenset[str] | None]) -> frozenset[str] | None:
    """What every match of an alternation holds one of: the union of its branches' sets, if
    each branch has one."""
    known = [chars for chars in sets if chars is not None]
    return frozenset().union(*known) if len(known) == len(sets) else None


def _first_required(items: list[Any]) -> frozenset[str] | None:
    for op, value in items:
        name = str(op)
        if name == "AT":
            continue  # an anchor matches no character
        if name == "LITERAL":
            return frozenset({chr(value)})
        if name == "IN" and all(str(kind) == "LITERAL" for kind, _ in value):
            return frozenset(chr(code) for _, code in value)
        if name in _REPEATS and value[0] == 0:
            continue  # may match nothing: the next element is there all the same
        if name == "SUBPATTERN":
            return _first_required(list(value[-1]))
        if name == "BRANCH":
            return _union([_first_required(list(branch)) for branch in value[1]])
        return None
    return None



_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _bounded(text: str) -> bool:
    """Whether Python's backtracking engine does bounded work at each place of a text for
    ``text``: at most one repetition, of at most 10, nothing repeated inside it, no
    backreference or lookaround. (``a?a?a?…`` and ``(a+)+`` are how it takes exponential time.)"""
    if _BACKREFERENCE.search(text) or _LOOKAROUND.search(text):
        return False
    repeats: list[tuple[int, Any]] = []

    def walk(items: Any) -> None:
        for op, value in items:
            name = str(op)
            if name in _REPEATS:
                repeats.append((value[1], value[2]))
                continue
            if name == "SUBPATTERN":
                walk(value[-1])
            elif name == "BRANCH":
                for branch in value[1]:
                    walk(branch)

    walk(_parser.parse(text))
    if len(repeats) > 1:
        return False
    for high, inner in repeats:
        if high > 10 or any(str(op) in _REPEATS | {"SUBPATTERN", "BRANCH"} for op, _ in inner):
            return False
    return True


def _refusal(text: str, exc: Exception) -> str:
    detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    if _BACKREFERENCE.search(text):
        return "a backreference (\\1, (?P=name)) needs backtracking, which could hang a run on one message — repeat the group's pattern instead, e.g. (ab)\\1 → (ab)(ab)"
    if _LOOKAROUND.search(text):
        return "a lookahead or lookbehind ((?=…), (?!…), (?<=…)) needs backtracking, which could hang a run on one message — match the text itself, or use `keywords:` and a second rule"
    if "too large" in detail or "repetition" in detail:
        return f"the pattern is too large to match in bounded memory ({detail}) — use smaller counts in {{n,m}} (at most 1000)"
    return f"not supported by the linear-time matcher ({detail}) — write it without backtracking features"


def unicode_classes(text: str) -> str:
    r"""``text`` with ``\s \d \w`` (and ``\S \D \W \Z $`` outside brackets) spelt as Python reads them."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            index += 2
            lower = escaped.lower()
            if escaped == "Z" and not in_class:
                out.append(r"\z")  # Python's end of text; RE2 spells it \z
            elif lower in _UNICODE_CLASSES and (escaped == lower or not in_class):
                spelled = _UNICODE_CLASSES[lower]
                out.append(spelled if in_class else (f"[{spelled}]" if escaped == lower else f"[^{spelled}]"))
            else:
                out.append(char + escaped)
            continue
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            # A ] first (or after ^) is a literal inside the class, not its end.
            for lead in ("^", "]"):
                if text.startswith(lead, index + 1):
                    out.append(lead)
                    index += 1
            index += 1
            continue
        if char == "]" and in_class:
            in_class = False
        if char == "$" and not in_class:
            out.append(r"(?:$|\n\z)")  # Python's $ also matches before a last newline
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)
