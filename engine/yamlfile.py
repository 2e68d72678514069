"""Read YAML the way an operator means it, and remember where every value came from.

PyYAML alone is too forgiving for hand-edited playbooks: it silently keeps the last of two
duplicate keys, reads an unquoted ``yes`` as ``True`` (YAML 1.1), expands alias bombs until
memory runs out and recurses until the interpreter gives up on deep nesting. This module
parses with PyYAML's safe composer, then builds plain Python values itself under YAML 1.2
core rules, with a line and column for every value and every mapping key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import Problem

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_VALUES = 100_000

Path = tuple[Any, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")
_AMBIGUOUS = re.compile(r"^(?:yes|no|on|off)$", re.IGNORECASE)
_ALLOWED_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}


class _Loader(yaml.SafeLoader):
    """The safe composer without YAML 1.1 implicit typing: every plain scalar arrives as text."""

    yaml_implicit_resolvers: dict = {}


@dataclass
class Document:
    """A parsed YAML file: its data, and the position of every value and key in it."""

    file: str
    data: Any = None
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

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


def format_path(path: Path) -> str:
    """``('rules', 0, 'do', 1)`` → ``rules[0].do[1]``, the way the error messages name places."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _TooBig(Exception):
    pass


def load_yaml(text_or_bytes: str | bytes, file: str) -> tuple[Document, list[Problem]]:
    """Parse one YAML document; return it with every problem found (an empty list if none)."""
    doc = Document(file)
    raw = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    if len(raw) > MAX_BYTES:
        return doc, [Problem(file, 1, 1, f"file is {len(raw) / 1e6:.1f} MB, larger than the {MAX_BYTES // 1000} kB a playbook may be — split it into several playbook files")]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return doc, [Problem(file, 1, 1, "file is saved as UTF-16 — save it as UTF-8 (in most editors: Save As… → Encoding: UTF-8)")]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return doc, [Problem(file, line, column, f"byte 0x{raw[exc.start]:02X} is not UTF-8 — save the file as UTF-8 (GBK/GB2312 files must be converted)")]

    problems = _check_tabs(text, file)
    if problems:
        return doc, problems
    problems = _check_depth(text, file)
    if problems:
        return doc, problems
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return doc, [_syntax_problem(exc, file)]
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks nearly everything
        return doc, [Problem(file, 1, 1, f"not valid YAML: {exc}")]
    if node is None:
        doc.positions[()] = (1, 1)
        return doc, []
    builder = _Builder(doc)
    try:
        doc.data = builder.build(node, ())
    except _TooBig:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        return doc, [Problem(file, line, column, f"more than {MAX_VALUES} values once aliases (*name) are expanded — write the values out; a playbook needs no alias tricks")]
    return doc, builder.problems


def _check_tabs(text: str, file: str) -> list[Problem]:
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return [Problem(file, number, indent.index("\t") + 1, "tab used for indentation — YAML indents with spaces only; replace the tab with spaces")]
    return []


def _check_depth(text: str, file: str) -> list[Problem]:
    """Refuse absurd nesting before composing, because PyYAML's composer recurses per level."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return [Problem(file, mark.line + 1, mark.column + 1, f"nested more than {MAX_DEPTH} levels deep — a playbook never needs this; flatten the structure")]
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        return [_syntax_problem(exc, file)]
    return []


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = exc.problem or "not valid YAML"
    hint = "check the indentation and that every `key: value` has a space after the colon"
    if "mapping values are not allowed" in what:
        hint = "a value containing `: ` must be quoted, e.g. text: \"时间: 周六\""
    elif "found character" in what and "'`'" in what:
        hint = "quote the text"
    elif "could not find expected ':'" in what:
        hint = "each line of a mapping needs `key: value`"
    elif "found undefined alias" in what:
        hint = "define the anchor (&name) before using *name, or quote text starting with *"
    elif "expected <block end>" in what:
        hint = "the indentation of this line does not match the lines above it"
    return Problem(file, line, column, f"YAML syntax: {what} — {hint}")


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []
        self.count = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig
        self.doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _ALLOWED_TAGS and not node.tag.startswith("tag:yaml.org,2002:merge"):
            self.problems.append(self.doc.problem(path, f"YAML tag {_short_tag(node.tag)} is not allowed — playbooks hold only text, numbers, true/false, lists and mappings; remove the tag"))
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        return self.mapping(node, path)

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        value = node.value
        tag = node.tag.rsplit(":", 1)[-1]
        if node.style is not None or tag != "str":
            return _typed_scalar(value, tag) if node.style is None else value
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
            self.problems.append(self.doc.problem(path, f"unquoted `{value}` is read as true/false by some YAML readers — write \"{value}\" in quotes for text, or true/false for a yes/no value"))
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        result: dict = {}
        seen: dict[Any, tuple[int, int]] = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<" and key_node.style is None:
                merged.update(self._merge_source(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(self.doc.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, "a mapping key must be plain text — write `name: value`", yaml_path=format_path(path)))
                continue
            key = key_node.value
            key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                first_line = seen[key][0]
                self.problems.append(Problem(self.doc.file, *key_pos, f"duplicate key `{key}` (first at line {first_line}) — a key may appear once; keep one and delete the other", yaml_path=format_path(path)))
                continue
            seen[key] = key_pos
            if isinstance(key, str) and _AMBIGUOUS.match(key) and key_node.style is None:
                self.problems.append(Problem(self.doc.file, *key_pos, f"unquoted key `{key}` is read as true/false by some YAML readers — write \"{key}\" in quotes", yaml_path=format_path(path)))
            self.doc.key_positions[path + (key,)] = key_pos
            result[key] = self.build(value_node, path + (key,))
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, path: Path) -> dict:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict = {}
        for source in sources:
            value = self.build(source, path)
            if isinstance(value, dict):
                for key, item in value.items():
                    merged.setdefault(key, item)
            else:
                self.problems.append(self.doc.problem(path, "`<<:` merges a mapping — write `<<: *anchor` where the anchor names a mapping"))
        return merged


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
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
