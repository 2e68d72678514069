"""The JSON Schemas in schemas/: in step with the code, valid draft 2020-12, documented, useful to editors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.schema import KINDS, build_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"


def exported(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_the_committed_schema_equals_the_export(kind, registry):
    """If this fails after adding a trigger or action: python -m playbook_engine.schema schemas/"""
    assert (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8") == schema_text(build_schema(kind, registry))


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_is_valid_under_the_draft_2020_12_meta_schema(kind):
    schema = exported(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    jsonschema.Draft202012Validator.check_schema(schema)


def properties(schema: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema below ``schema``, named by where it is."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from properties(item, f"{where}[{index}]")
        return
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", sub
    for key, sub in schema.items():
        if key in ("properties", "$defs"):
            for name, item in sub.items():
                yield from properties(item, f"{where}.{name}")
        elif key in ("items", "oneOf", "anyOf", "allOf"):
            yield from properties(sub, f"{where}/{key}")


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_has_a_title_a_description_and_examples(kind):
    """What an editor shows on hover and offers on completion, plugin-provided parts included."""
    missing = [
        f"{where}: {', '.join(key for key in ('title', 'description', 'examples') if not prop.get(key))}"
        for where, prop in properties(exported(kind))
        if not all(prop.get(key) for key in ("title", "description")) or "examples" not in prop
    ]
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_example_is_valid_for_its_property(kind):
    schema = exported(kind)
    wrong = []
    for where, prop in properties(schema):
        checker = jsonschema.Draft202012Validator({**prop, "$defs": schema.get("$defs", {})})  # $defs: for "$ref"
        wrong += [f"{where}: {example!r}" for example in prop.get("examples", ()) if not checker.is_valid(example)]
    assert wrong == []


@pytest.mark.parametrize("kind", KINDS)
def test_playbook_schema_command_prints_the_exported_schema(kind):
    result = CliRunner().invoke(cli, ["schema", kind], obj={"no_entrypoints": True})
    assert result.exit_code == 0
    assert result.output == (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")


MISSPELLED_ACTION = """\
# yaml-language-server: $schema=../schemas/playbook.schema.json
playbook: silent-member-care
rules:
  - id: ask-why
    when: {silence: 7d}
    do:
      - dms: "{{ member.name }} 你好"
"""


def test_a_language_server_with_the_exported_schema_flags_a_misspelled_action():
    """A YAML language server validates with jsonschema semantics: `dms` is an error at do[0]."""
    errors = list(jsonschema.Draft202012Validator(exported("playbook")).iter_errors(yaml.safe_load(MISSPELLED_ACTION)))
    assert [(list(error.absolute_path), error.validator) for error in errors] == [(["rules", 0, "do", 0], "additionalProperties")]
    assert "'dms' was unexpected" in errors[0].message


# content.yaml holds any values an operator's texts read (names checked where texts use them): no schema.
@pytest.mark.parametrize("path", sorted(path for path in (ROOT / "playbooks").glob("*.yaml") if path.name != "content.yaml"), ids=lambda path: path.name)
def test_every_shipped_file_is_valid_under_the_exported_schema(path):
    kind = "community" if path.name == "community.yaml" else "playbook"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [error.message for error in jsonschema.Draft202012Validator(exported(kind)).iter_errors(data)] == []
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema=../schemas/{kind}.schema.json"



@pytest.mark.parametrize("kind", ["playbook", "community"])
def test_the_hand_written_base_schemas_use_the_patterns_and_priorities_the_engine_knows(kind):
    """validate.py words a failed id or duration by recognising its pattern: the base files
    must use exactly the engine's patterns, and the priorities the planner ranks."""
    from playbook_engine.contract import PRIORITY_RANK
    from playbook_engine.model import DEFAULT_ANSWERED_BY
    from playbook_engine.schema import DURATION_PATTERN, ID_PATTERN

    base = json.loads((ROOT / "schemas" / "base" / f"{kind}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(base)
    if kind == "playbook":
        rule = base["$defs"]["rule"]["properties"]
        assert (rule["id"]["pattern"], rule["cooldown"]["pattern"], rule["delay"]["pattern"]) == (ID_PATTERN, DURATION_PATTERN, DURATION_PATTERN)
        assert rule["priority"]["enum"] == list(PRIORITY_RANK)
    else:
        community = base["properties"]["community"]["properties"]
        assert community["limits"]["items"]["properties"]["per"]["pattern"] == DURATION_PATTERN
        assert community["operators"]["items"]["properties"]["id"]["pattern"] == ID_PATTERN
        question = community["question"]["properties"]
        assert question["answer_window"]["pattern"] == DURATION_PATTERN
        assert question["answered_by"]["items"]["enum"] == list(DEFAULT_ANSWERED_BY)  # the default is every kind
