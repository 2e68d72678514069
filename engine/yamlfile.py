"""Read YAML the way an operator means it, and remember where every value came from.

PyYAML alone is too forgiving for hand-edited playbooks: it silently keeps the last of two
duplicate keys, reads an unquoted ``yes`` as ``True`` (YAML 1.1), expands alias bombs until
memory runs out and recurses until the interpreter gives up on deep nesting. This module
takes only the parser's event stream (libyaml's when installed: a 1 MB file parses in a
fraction of a second) and builds plain Python values itself, iteratively, under YAML 1.2
core rules, with a line and column for every value and every mapping key.

Aliases are never copied: an alias shares the anchored value, and the number of values it
stands for is added to a budget, so a "billion laughs" file is refused after reading a few
lines instead of after filling memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from playbook_engine.errors import Problem

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_VALUES = 100_000
MAX_TAB_LINES = 10

Path = tuple[Any, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")
_AMBIGUOUS = re.compile(r"^(?:yes|no|on|off)$", re.IGNORECASE)
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map")} | {"!"}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # the C loader when PyYAML has it: a base chosen at run time
    """The safe parser (libyaml's when installed). Only its events are used, never its constructor."""


@dataclass
class Document:
    """A parsed YAML file: its data, and the position of every value and key in it.

    ``readable`` is false when the file could not be read as YAML at all (bad encoding,
    syntax error, too big, too deep). ``flagged`` holds the paths of values that the reader
    already reported (a duplicate key, an unquoted ``yes``, a refused tag), so that later
    checks do not report the same place twice.
    """

    file: str
    data: Any = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    readable: bool = True
    flagged: set[Path] = field(default_factory=set)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``path``, or its key, or its nearest parent."""
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        return Problem(self.file, line, column, message, yaml_path=format_path(path))

    def is_flagged(self, path: Path) -> bool:
        """Whether the reader already reported ``path`` or a place inside it or above it."""
        path = tuple(path)
        return any(flagged[: len(path)] == path or path[: len(flagged)] == flagged for flagged in self.flagged)


def format_path(path: Path) -> str:
    """``('rules', 0, 'do', 1)`` → ``rules[0].do[1]``, the way the error messages name places."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_yaml(text_or_bytes: str | bytes, file: str) -> tuple[Document, list[Problem]]:
    """Parse one YAML document; return it with every problem found (an empty list if none)."""
    doc = Document(file)
    raw = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    problems = _read_text(raw, file)
    if isinstance(problems, list):
        doc.readable = False
        return doc, problems
    text = problems
    problems = _check_tabs(text, file)
    if problems:
        doc.readable = False
        return doc, problems
    builder = _Builder(doc)
    try:
        doc.data = builder.build(yaml.parse(text, Loader=_Loader))
    except _Unreadable as exc:
        doc.readable, doc.data = False, None
        return doc, [exc.problem]
    except yaml.MarkedYAMLError as exc:
        doc.readable, doc.data = False, None
        return doc, [_syntax_problem(exc, file, text)]
    except yaml.reader.ReaderError as exc:
        doc.readable, doc.data = False, None
        line, column = _char_position(text, min(exc.position, len(text)))
        return doc, [Problem(file, line, column, f"invisible control character U+{exc.character:04X} — delete it (text copied from chat apps or web pages sometimes carries one)")]
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks nearly everything
        doc.readable, doc.data = False, None
        return doc, [Problem(file, 1, 1, f"not valid YAML: {exc} — check the file in a YAML-aware editor")]
    doc.positions.setdefault((), (1, 1))
    return doc, builder.problems


def _read_text(raw: bytes, file: str) -> str | list[Problem]:
    """The file as text, or the one problem that keeps it from being text."""
    if len(raw) > MAX_BYTES:
        return [too_big(file, len(raw))]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return [Problem(file, 1, 1, "file is saved as UTF-16 — save it as UTF-8 (in most editors: Save As… → Encoding: UTF-8)")]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark (Windows Notepad writes one) is harmless
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(raw, exc.start)
        hint = "the file looks like GBK/GB2312 (common for Chinese Windows editors); save it as UTF-8" if _looks_gbk(raw, exc.start) else "save the file as UTF-8"
        return [Problem(file, line, column, f"byte 0x{raw[exc.start]:02X} is not UTF-8 — {hint}")]
    if "\x00" in text:
        line, column = _char_position(text, text.index("\x00"))
        return [Problem(file, line, column, "file contains NUL characters, so it is binary or UTF-16 without a byte-order mark — save it as UTF-8 text")]
    return text


def too_big(file: str, size: int) -> Problem:
    """The problem of a file larger than MAX_BYTES: refused before it is read, whatever it holds."""
    return Problem(file, 1, 1, f"file is {size / 1e6:.1f} MB, larger than the {MAX_BYTES // 1000} kB a playbook may be — is this the right file? Split a large playbook into several files")


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def _char_position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _looks_gbk(raw: bytes, offset: int) -> bool:
    try:
        raw[offset : offset + 64].decode("gbk")
    except UnicodeDecodeError as exc:
        return exc.start > 2  # decoded a few characters before running out
    return True


def _check_tabs(text: str, file: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            problems.append(Problem(file, number, indent.index("\t") + 1, "tab used for indentation — YAML indents with spaces only; replace the tab with spaces (2 per level)"))
            if len(problems) == MAX_TAB_LINES:
                break
    return problems


# A key written with a Chinese colon (`quiet_hours：“22:00-08:00”`): the line has no ASCII colon
# before it, so YAML reads the line as text and fails at a later one.
FULLWIDTH_KEY = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z_][\w.-]*)\s*：")


def _fullwidth_key(lines: list[str], line: int) -> tuple[int, int, str] | None:
    """The line at or just before ``line`` (1-based) whose key ends in `：`: (line, column, key)."""
    for number in range(line, max(0, line - 3), -1):
        if 0 < number <= len(lines) and (found := FULLWIDTH_KEY.match(lines[number - 1])):
            return number, len(lines[number - 1][: found.end()].rstrip("：").rstrip()) + 1, found.group(2)
    return None


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    lines = text.splitlines()
    colon = _fullwidth_key(lines, line)
    if colon is not None:
        number, at, key = colon
        return Problem(file, number, at, f"YAML syntax: `{key}` is followed by a Chinese colon `：` — write an ASCII colon and a space: `{key}: …`")
    found = lines[line - 1][column - 1 : column] if 0 < line <= len(lines) else ""
    what = exc.problem or "not valid YAML"
    hint = "check the indentation and that every `key: value` has a space after the colon"
    if "mapping values are not allowed" in what:
        hint = "a value containing `: ` must be quoted, e.g. text: \"时间: 周六\""
    elif "cannot start any token" in what and found in ("@", "`", "%"):
        what = f"found `{found}`, which cannot start a value"
        hint = f"text starting with {found} must be quoted, e.g. \"{'@所有人' if found == '@' else found} …\""
    elif "did not find expected key" in what:
        hint = "this line is indented differently from the keys above it — align it with them (spaces only)"
    elif "special characters are not allowed" in what or "control characters" in what:
        hint = "delete the invisible control character (copy-pasted text sometimes carries one)"
    elif "could not find expected ':'" in what:
        hint = "each line of a mapping needs `key: value`; text that spans lines must be quoted or written after `|`"
    elif "expected ',' or '}'" in what or "expected ',' or ']'" in what:
        hint = "a { } or [ ] list is not closed, or an item inside it needs quotes"
    elif "expected <block end>" in what:
        hint = "the indentation of this line does not match the lines above it"
    elif "found unexpected end of stream" in what:
        hint = "a quote is opened and never closed"
    return Problem(file, line, column, f"YAML syntax: {what} — {hint}")


class _Unreadable(Exception):
    """The file can be parsed but must not be used (too deep, too many values, several documents)."""

    def __init__(self, problem: Problem):
        self.problem = problem


_SKIP = object()  # the key of a value that is read (to stay in step) but not kept


@dataclass
class _Frame:
    value: dict[Any, Any] | list[Any]
    path: Path
    record: bool  # whether positions inside are recorded (not for skipped values)
    size: int = 1  # values inside, counting aliases expanded, for the alias budget
    key: Any = None  # a mapping's pending key, None while a key is expected
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)
    merges: list[tuple[Any, tuple[int, int]]] = field(default_factory=list)
    anchor: str | None = None
    is_key: bool = False  # a mapping or list used as a mapping key (refused)
    mark: tuple[int, int] = (1, 1)


class _Builder:
    """Plain values from parser events, with an explicit stack instead of recursion."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []
        self.count = 0
        self.aliases_used = False
        self.anchors: dict[str, tuple[Any, int] | None] = {}  # None: still being built

    def report(self, path: Path, where: tuple[int, int], message: str) -> None:
        self.doc.flagged.add(path)
        self.problems.append(Problem(self.doc.file, *where, message, yaml_path=format_path(path)))

    def build(self, events: Any) -> Any:
        stack: list[_Frame] = []
        result: Any = None
        documents = 0
        for event in events:
            where = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Unreadable(Problem(self.doc.file, *where, "a second YAML document starts here (`---`) — a playbook file holds one document; move it to its own file"))
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                self._close(frame)
                value: Any = frame.value
                size = frame.size
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (value, size)
                if not stack:
                    result = value
                else:
                    self._place(stack, frame.value, size, frame.mark, frame.is_key)
                continue
            parent = stack[-1] if stack else None
            expecting_key = parent is not None and isinstance(parent.value, dict) and parent.key is None
            path, record = self._child_path(parent)
            if isinstance(event, yaml.AliasEvent):
                value, size = self._alias(event, where)
                if record and not expecting_key:
                    self.doc.positions.setdefault(path, where)
                if parent is None:
                    result = value
                else:
                    self._place(stack, value, size, where, False)
                continue
            self._spend(1, where)
            tag = getattr(event, "tag", None)
            refused = isinstance(tag, str) and tag not in _ALLOWED_TAGS
            if refused:
                self.report(path, where, f"YAML tag {_short_tag(str(tag))} is not allowed — playbooks hold only text, numbers, true/false, lists and mappings; remove the tag")
            if isinstance(event, yaml.ScalarEvent):
                if expecting_key:
                    assert parent is not None
                    self._key(parent, event, where)
                    continue
                if record:
                    self.doc.positions.setdefault(path, where)
                value = None if refused else self._scalar(event, path, where)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1)
                if parent is None:
                    result = value
                else:
                    self._place(stack, value, 1, where, False)
                continue
            self._open(event, stack, path, record, expecting_key, where)  # the start of a mapping or a list
        return result

    def _alias(self, event: yaml.AliasEvent, where: tuple[int, int]) -> tuple[Any, int]:
        """The value an alias names, and its size (counted against the alias-bomb budget)."""
        anchor = str(event.anchor)  # an alias always names one
        if anchor not in self.anchors:
            raise _Unreadable(Problem(self.doc.file, *where, f"`*{event.anchor}` refers to no anchor — define `&{event.anchor}` before using it, or quote text that starts with *"))
        target = self.anchors[anchor]
        if target is None:
            raise _Unreadable(Problem(self.doc.file, *where, f"`*{event.anchor}` is used inside the value it names — a value cannot contain itself; write it out"))
        value, size = target
        self.aliases_used = True
        self._spend(size, where)
        return value, size

    def _open(self, event: Any, stack: list[_Frame], path: Path, record: bool, expecting_key: bool, where: tuple[int, int]) -> None:
        """A mapping or a list starts: a new frame on ``stack``."""
        if len(stack) >= MAX_DEPTH:
            raise _Unreadable(Problem(self.doc.file, *where, f"nested more than {MAX_DEPTH} levels deep — a playbook never needs this; flatten the structure"))
        if record and not expecting_key:
            self.doc.positions.setdefault(path, where)
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        container: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        stack.append(_Frame(container, path, record and not expecting_key, anchor=event.anchor, is_key=expecting_key, mark=where))

    def _child_path(self, parent: _Frame | None) -> tuple[Path, bool]:
        if parent is None:
            return (), True
        if isinstance(parent.value, list):
            return parent.path + (len(parent.value),), parent.record
        if parent.key is None or parent.key is _SKIP:
            return parent.path, False
        if parent.key == "<<":
            return parent.path, False
        return parent.path + (parent.key,), parent.record

    def _spend(self, size: int, where: tuple[int, int]) -> None:
        self.count += size
        if self.count <= MAX_VALUES:
            return
        if self.aliases_used:
            message = f"more than {MAX_VALUES} values once aliases (*name) are expanded (an \"alias bomb\") — write the values out; a playbook needs no alias tricks"
        else:
            message = f"more than {MAX_VALUES} values — far more than a playbook needs; is this the right file? Split a large playbook into several files"
        raise _Unreadable(Problem(self.doc.file, *where, message))

    def _key(self, frame: _Frame, event: yaml.ScalarEvent, where: tuple[int, int]) -> None:
        key = event.value
        plain = not event.style
        if key == "<<" and plain:
            frame.key = "<<"
            return
        if key in frame.seen:
            first_line = frame.seen[key][0]
            self.report(frame.path + (key,), where, f"duplicate key `{key}` (first at line {first_line}) — a key may appear once in a mapping; keep one and delete the other")
            frame.key = _SKIP
            return
        frame.seen[key] = where
        frame.key = key
        if frame.record:
            self.doc.key_positions[frame.path + (key,)] = where
        if plain and _AMBIGUOUS.match(key):
            self.report(frame.path + (key,), where, f"unquoted key `{key}` is read as true/false by some YAML readers — write \"{key}\" in quotes")

    def _place(self, stack: list[_Frame], value: Any, size: int, where: tuple[int, int], is_key: bool) -> None:
        frame = stack[-1]
        frame.size += size
        if isinstance(frame.value, list):
            frame.value.append(value)
            return
        if is_key:
            self.report(frame.path, where, "a mapping key must be plain text — write `name: value`")
            frame.key = _SKIP
            return
        if frame.key is None:  # an alias used as a key
            self.report(frame.path, where, "a mapping key must be plain text, not an alias — write `name: value`")
            frame.key = _SKIP
            return
        if frame.key == "<<":
            frame.merges.append((value, where))
        elif frame.key is not _SKIP:
            frame.value[frame.key] = value
        frame.key = None

    def _close(self, frame: _Frame) -> None:
        """Apply ``<<: *defaults`` merges: keys written in the mapping itself win."""
        if not isinstance(frame.value, dict):
            return
        for source, where in frame.merges:
            sources = source if isinstance(source, list) else [source]
            for item in sources:
                if not isinstance(item, dict):
                    self.report(frame.path, where, "`<<:` merges a mapping — write `<<: *name` where `&name` marks a mapping")
                    continue
                for key, value in item.items():
                    if key not in frame.value:
                        frame.value[key] = value
                        if frame.record:
                            self.doc.key_positions.setdefault(frame.path + (key,), where)
                            self.doc.positions.setdefault(frame.path + (key,), where)

    def _scalar(self, event: yaml.ScalarEvent, path: Path, where: tuple[int, int]) -> Any:
        value = event.value
        tag = event.tag
        if tag is not None and tag != "!" and tag != _CORE + "str":
            return _typed_scalar(value, tag[len(_CORE):])
        if event.style or tag is not None:  # quoted, block (| >) or tagged text stays text
            return value
        if _NULL.match(value):
            return None
        if _TRUE.match(value):
            return True
        if _FALSE.match(value):
            return False
        if _INT.match(value):
            return int(value, 0) if value.startswith(("0o", "0x")) else int(value)
        if _FLOAT.match(value):
            return float(value.lower().replace(".inf", "inf").replace(".nan", "nan"))
        if _AMBIGUOUS.match(value):
            self.report(path, where, f"unquoted `{value}` is read as true/false by some YAML readers — write \"{value}\" in quotes for text, or true/false for a yes/no value")
        return value


def _typed_scalar(value: str, tag: str) -> Any:
    try:
        if tag == "int":
            return int(value, 0)
        if tag == "float":
            return float(value)
        if tag == "bool":
            return value.lower() in ("true", "yes", "on")
        if tag == "null":
            return None
    except ValueError:
        pass
    return value


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
