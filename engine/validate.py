"""Phase one of validation: structure, by JSON Schema, reported at the line and column of the YAML.

jsonschema's own messages are written for programmers ("Additional properties are not
allowed"); each error is rewritten here into what an operator should change, with a
did-you-mean where a name is close to a known one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from engine.errors import Problem
from engine.yamlfile import Document

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list (items starting with `- `)",
    "object": "a mapping (`key: value` lines)",
    "null": "empty",
}


def suggest(word: Any, candidates: Iterable[str]) -> str:
    """`` — did you mean `x`?`` when ``word`` is close to one of ``candidates``, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" — did you mean `{close[0]}`?" if close else ""


def _describe_type(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_NAMES.get(item, item) for item in expected)
    return _TYPE_NAMES.get(expected, str(expected))


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`" if len(value) <= 40 else f"`{value[:37]}…`"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"


def schema_problems(doc: Document, schema: Mapping[str, Any]) -> list[Problem]:
    """Every structural problem of ``doc.data`` under ``schema``, one per place."""
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for error in validator.iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    unique = {(p.line, p.column, p.message): p for p in problems}
    return list(unique.values())


def _explain(doc: Document, error: ValidationError) -> list[Problem]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = [key for key in error.instance if key not in allowed]
        return [
            doc.problem(path + (key,), f"unknown key `{key}`{suggest(key, allowed) or ' — allowed here: ' + ', '.join(allowed)}", key=True)
            for key in extra
        ]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [doc.problem(path, f"missing `{missing}` — add `{missing}: …` here")]
    if kind == "type":
        return [doc.problem(path, f"{_shown(error.instance)} should be {_describe_type(error.validator_value)}")]
    if kind == "enum":
        options = [str(item) for item in error.validator_value]
        hint = suggest(error.instance, options) or f" — write one of: {', '.join(options)}"
        return [doc.problem(path, f"{_shown(error.instance)} is not allowed here{hint}")]
    if kind == "const":
        return [doc.problem(path, f"{_shown(error.instance)} is not allowed here — write `{error.validator_value}`")]
    if kind == "pattern":
        examples = schema.get("examples")
        hint = f" — e.g. {', '.join(map(str, examples[:3]))}" if examples else f" — it must match {error.validator_value}"
        return [doc.problem(path, f"{_shown(error.instance)} is not in the expected form{hint}")]
    if kind == "minItems":
        return [doc.problem(path, f"needs at least {error.validator_value} item(s)")]
    if kind == "maxProperties" and error.validator_value == 1:
        keys = ", ".join(f"`{key}`" for key in error.instance)
        return [doc.problem(path, f"one item holds one action, this one has {keys} — give each action its own `- ` item")]
    if kind == "minProperties":
        return [doc.problem(path, "is empty — write one key here")]
    if kind == "minimum":
        return [doc.problem(path, f"{_shown(error.instance)} is too small — at least {error.validator_value}")]
    if kind in ("oneOf", "anyOf"):
        if error.context:
            deepest = max(error.context, key=lambda sub: (len(sub.absolute_path), sub.validator != "type"))
            if len(deepest.absolute_path) > len(error.absolute_path):
                return _explain(doc, deepest)
        types = [sub.get("type") for sub in error.validator_value if isinstance(sub, dict) and "type" in sub]
        expected = _describe_type([t for item in types for t in (item if isinstance(item, list) else [item])]) if types else "a valid value"
        return [doc.problem(path, f"{_shown(error.instance)} should be {expected}")]
    return [doc.problem(path, error.message)]
