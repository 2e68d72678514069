"""Phase one of validation: structure, by JSON Schema, reported at the line and column of the YAML.

jsonschema's own messages are written for programmers ("Additional properties are not
allowed"); each error is rewritten here into what is wrong and what to write instead, with a
did-you-mean where a name is close to a known one and an example taken from the schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from playbook_engine.durations import DurationError, parse_duration
from playbook_engine.errors import Problem, suggest
from playbook_engine.schema import DURATION_PATTERN, ID_PATTERN
from playbook_engine.yamlfile import FULLWIDTH_KEY, Document, Path

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list (items starting with `- `)",
    "object": "a mapping (`key: value` lines)",
    "null": "empty",
}
_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#{}\[\],]*$")
_READ_AS_OTHER = re.compile(r"^(?:[-+.]?\d[\d._eE+-]*|~|null|true|false|yes|no|on|off|\.inf|\.nan)$", re.IGNORECASE)  # would not stay text


def schema_problems(doc: Document, schema: Mapping[str, Any]) -> list[Problem]:
    """Every structural problem of ``doc.data`` under ``schema``, one per place.

    Places the YAML reader already reported are skipped, and every place reported here is
    added to ``doc.flagged``, so the meaning checks that follow leave them alone.
    """
    validator = jsonschema.Draft202012Validator(schema)
    problems: dict[tuple[int, int, str], Problem] = {}
    flagged: set[Path] = set()
    for error in validator.iter_errors(doc.data):
        for path, problem in _explain(doc, error):
            if doc.is_flagged(path):
                continue
            flagged.add(path)
            problems.setdefault((problem.line, problem.column, problem.message), problem)
    doc.flagged |= flagged
    return list(problems.values())


# Keys people write for a field another word names (a test's expected task: `time:` for `due:`).
_OTHER_WORDS = {"time": "due", "ts": "due", "at": "due", "when": "due", "type": "action", "who": "member"}


def _other_word(key: str, allowed: list[str]) -> str:
    other = _OTHER_WORDS.get(key)
    return f" — did you mean `{other}`?" if other in allowed else ""


def _explain(doc: Document, error: ValidationError) -> list[tuple[Path, Problem]]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    # Unset only in an error made by hand: iter_errors sets both, to JSON values.
    instance: Any = error.instance
    expected: Any = error.validator_value
    name = _name(path)

    def at(message: str, where: Path = path, *, key: bool = False) -> list[tuple[Path, Problem]]:
        return [(where, doc.problem(where, message, key=key))]

    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        what = _kind_of_key(schema)
        found = []
        for extra in (key for key in instance if key not in allowed):
            hint = suggest(extra, allowed) or _other_word(extra, allowed) or _belongs_below(extra, schema) or f" — {_allowed_here(what, schema)}"
            found += at(f"unknown {what} `{extra}`{hint}", path + (extra,), key=True)
        return found
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else str(expected)
        example = _first_example(schema.get("properties", {}).get(missing, {}))
        written = f"`{missing}: {_flow(example)}`" if example is not None else f"`{missing}: …`"
        return at(f"missing `{missing}` — add {written} here")
    if kind == "type" and schema.get("pattern") == DURATION_PATTERN:
        return at(_pattern_message(instance, DURATION_PATTERN, schema, name))
    if kind == "type" and isinstance(instance, str) and (colon := FULLWIDTH_KEY.match(instance)):
        key, rest = colon.group(2), instance[colon.end() :].strip()
        return at(f"{_shown(instance)} has a Chinese colon `：` after `{key}` — write an ASCII colon and a space: `{key}: {rest}`")
    if kind == "type" and isinstance(instance, str) and instance in schema.get("properties", {}):
        # `- remove` alone: the name of one of the keys this mapping takes, without its colon.
        return at(f"`{instance}` needs a colon after it — write `{instance}:` and its value (`{instance}:` alone where it needs none)")
    if kind == "type":
        return at(f"{_shown(instance)} should be {_describe_type(expected)}{_example_hint(schema, name)}")
    if kind == "enum":
        options = [str(item) for item in expected]
        hint = suggest(instance, options) or f" — write one of: {', '.join(options)}"
        return at(f"{_shown(instance)} is not a valid value{f' for `{name}`' if name else ''}{hint}")
    if kind == "const":
        return at(f"{_shown(instance)} is not allowed here — write `{expected}`")
    if kind == "pattern":
        return at(_pattern_message(instance, expected, schema, name))
    if kind == "minItems":
        example = _first_example(schema)
        hint = f", e.g. `{name}: {_flow(example)}`" if example is not None and name else ""
        return at(f"{_named(name, 'this list')} is empty — add at least {expected} item{'s' if expected != 1 else ''}{hint}")
    if kind == "maxProperties" and expected == 1:
        keys = ", ".join(f"`{key}`" for key in instance)
        return at(f"one item holds one action, this one has {keys} — give each action its own `- ` item")
    if kind == "minProperties":
        example = _first_example(schema)
        hint = f", e.g. `{_flow(example)}`" if example is not None else ""
        one = "one trigger" if _kind_of_key(schema).startswith("trigger") else "one key"
        return at(f"{_named(name, 'this mapping')} is empty — write {one} here{hint}")
    if kind in ("minimum", "exclusiveMinimum"):
        return at(f"{_shown(instance)} is too small — write at least {expected}")
    if kind == "dependentRequired":
        option = next((key for key, needs in expected.items() if key in instance and any(n not in instance for n in needs)), "")
        owners = expected.get(option, [])
        return at(_orphan_option(option, owners, instance), path + (option,), key=True)
    if kind in ("oneOf", "anyOf"):
        return _explain_choice(doc, error, at)
    if kind == "format":
        return at(f"{_shown(instance)} is not a valid {expected}{_example_hint(schema, name)}")
    return at(f"{error.message} — see `playbook schema` for what is allowed here")


def _explain_choice(doc: Document, error: ValidationError, at: Callable[..., list[tuple[Path, Problem]]]) -> list[tuple[Path, Problem]]:
    """A value that fits none of several shapes: explain the shape of its own type, if any."""
    schema_path = list(error.relative_schema_path)
    choices: Any = error.validator_value  # the subschemas of oneOf or anyOf (Unset only in a hand-made error)
    if "dependentSchemas" in schema_path:
        option = str(schema_path[schema_path.index("dependentSchemas") + 1])
        owners = [branch["required"][0] for branch in choices if "required" in branch]
        path = tuple(error.absolute_path)
        return at(_orphan_option(option, owners, error.instance), path + (option,), key=True)
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [subs for subs in branches.values() if not any(sub.validator in ("type", "const") and sub.absolute_path == error.absolute_path for sub in subs)]
    if fitting:
        best = min(fitting, key=len)
        found = []
        for sub in best:
            found += _explain(doc, sub)
        return found
    types: list[str] = []
    for branch in choices:
        if isinstance(branch, dict) and "type" in branch:
            types += branch["type"] if isinstance(branch["type"], list) else [branch["type"]]
        elif isinstance(branch, dict) and "const" in branch:
            types.append(f"`{branch['const']}`")
    expected = _describe_type(list(dict.fromkeys(types))) if types else "a valid value"
    schema = error.schema if isinstance(error.schema, dict) else {}
    return at(f"{_shown(error.instance)} should be {expected}{_example_hint(schema, _name(tuple(error.absolute_path)))}")


def _orphan_option(option: str, owners: list[str], instance: Any) -> str:
    names = " or ".join(f"`{owner}`" for owner in owners)
    trigger = next((key for key in instance if key not in (option,)), None) if isinstance(instance, dict) else None
    with_what = f"; it does nothing with `{trigger}`" if trigger else ""
    return f"`{option}` is an option of the {names} trigger{with_what} — move it to a rule with {names}, or remove it"


def _pattern_message(instance: Any, pattern: str, schema: Mapping[str, Any], name: str) -> str:
    if pattern == DURATION_PATTERN:
        try:
            parse_duration(instance)
        except DurationError as exc:
            return str(exc)
    if pattern == ID_PATTERN:
        slug = re.sub(r"\s+", "-", str(instance).strip())
        example = f"`{name}: {slug}`" if re.match(ID_PATTERN, slug) else f"`{name}: {_flow(_first_example(schema))}`"
        return f"{_shown(instance)} is not a valid id — use letters, digits, - and _ without spaces, e.g. {example}"
    return f"{_shown(instance)} is not in the expected form{_example_hint(schema, name) or f' — it must match {pattern}'}"


def _name(path: Path) -> str:
    return next((part for part in reversed(path) if isinstance(part, str)), "")


def _named(name: str, fallback: str) -> str:
    return f"`{name}`" if name else fallback


def _kind_of_key(schema: Mapping[str, Any]) -> str:
    title = str(schema.get("title", ""))
    if title.startswith("Action"):
        return "action"
    if title.startswith("Trigger"):
        return "trigger or trigger option"
    return "key"


def _allowed_here(what: str, schema: Mapping[str, Any]) -> str:
    allowed = list(schema.get("properties", {}))
    if what == "action":
        return "actions: " + ", ".join(allowed)
    if what.startswith("trigger"):
        options = set(schema.get("dependentRequired", {})) | set(schema.get("dependentSchemas", {}))
        return "triggers: " + ", ".join(name for name in allowed if name not in options)
    return "allowed here: " + ", ".join(allowed)


def _belongs_below(key: str, schema: Mapping[str, Any]) -> str:
    """`` — `name` belongs under `community:` …`` when ``key`` is a key of a mapping one level down."""
    for parent, sub in schema.get("properties", {}).items():
        if isinstance(sub, dict) and key in sub.get("properties", {}):
            return f" — `{key}` belongs under `{parent}:`; indent it below that line"
    return ""


def _first_example(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    examples = schema.get("examples")
    if examples:
        return examples[0]
    if "enum" in schema:
        return schema["enum"][0]
    return None


def _example_hint(schema: Mapping[str, Any], name: str, lead: str = "— e.g.") -> str:
    examples = schema.get("examples") if isinstance(schema, Mapping) else None
    if not examples:
        return ""
    shown = ", ".join(f"`{name}: {_flow(example)}`" if name else f"`{_flow(example)}`" for example in examples[:2])
    return f" {lead} {shown}"


def _flow(value: Any) -> str:
    """``value`` written the way an operator would type it in YAML flow style."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str) and (not _PLAIN.match(value) or _READ_AS_OTHER.match(value)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _describe_type(expected: str | list[str]) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_NAMES.get(item, item) for item in expected)
    return _TYPE_NAMES.get(expected, str(expected))


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`" if len(value) <= 40 else f"`{value[:37]}…`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"
