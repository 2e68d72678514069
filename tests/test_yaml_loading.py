"""The YAML reader: positions, YAML 1.2 scalars, aliases without copies, and hostile files refused fast."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from playbook_engine.cli import main
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.loading import load_config
from playbook_engine.yamlfile import load_yaml
from tests.conftest import copy_settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_value_and_key_has_its_line_and_column():
    doc, problems = load_yaml("playbook: care\nrules:\n  - id: nudge\n    when: {silence: 3d}\n", "p.yaml")
    assert problems == []
    assert doc.where(("rules", 0, "when", "silence")) == (4, 21)
    assert doc.where(("rules", 0, "when"), key=True) == (4, 5)
    assert doc.where(("rules", 0, "missing")) == (3, 5)  # the nearest parent


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.5", 1.5), ("0x1f", 31), ("true", True), ("~", None), ("'yes'", "yes"), ("2026-03-01", "2026-03-01"), ("1_000", "1_000"), ("!!str 3", "3")],
    ids=["float", "hex", "true", "null", "quoted-yes", "date-stays-text", "no-yaml-1.1-underscores", "str-tag"],
)
def test_scalars_are_read_by_yaml_1_2_core_rules(text, value):
    doc, problems = load_yaml(f"a: {text}\n", "p.yaml")
    assert (doc.data, problems) == ({"a": value}, [])


def test_a_utf8_byte_order_mark_is_accepted():
    """Windows Notepad writes one; it carries no meaning, so it is not an error."""
    doc, problems = load_yaml("\ufeffplaybook: care\n".encode("utf-8"), "p.yaml")
    assert (doc.data, problems) == ({"playbook": "care"}, [])


def test_merge_keys_and_aliases_share_values_instead_of_copying_them():
    doc, problems = load_yaml("base: &base {cooldown: 7d, priority: high}\nrule:\n  <<: *base\n  priority: low\nagain: *base\n", "p.yaml")
    assert problems == []
    assert doc.data["rule"] == {"cooldown": "7d", "priority": "low"}
    assert doc.data["again"] is doc.data["base"]


def test_the_50_mb_file_is_refused_before_it_is_read(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text((ROOT / "playbooks" / "community.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with open(directory / "huge.yaml", "w", encoding="utf-8") as stream:
        line = "# " + "沉默成员关怀" * 10 + "\n"
        stream.write(line * (50_000_000 // len(line.encode("utf-8")) + 1))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "pb"])
    size = (directory / "huge.yaml").stat().st_size
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        f"pb/huge.yaml:1:1: file is {size / 1e6:.1f} MB, larger than the 1000 kB a playbook may be — is this the right file? Split a large playbook into several files\n"
        "1 problem found\n"
    )


def value_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from value_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from value_paths(item, path + (index,))


def _at(value, path):
    for part in path:
        value = value[part]
    return value


def test_any_value_of_the_wrong_shape_is_reported_never_a_crash(tmp_path, registry):
    """Each value of a shipped playbook's first rule replaced by the wrong kind of thing."""
    source = yaml.safe_load((ROOT / "playbooks" / "silent-member-care.yaml").read_text(encoding="utf-8"))
    source.pop("tests", None)
    copy_settings(tmp_path)
    target = tmp_path / "playbook.yaml"
    for path in list(value_paths(source["rules"][0], ("rules", 0))):
        for wrong in (None, 3, ["x"], {"x": 1}):
            broken = copy.deepcopy(source)
            parent = broken
            for part in path[:-1]:
                parent = parent[part]
            parent[path[-1]] = wrong
            target.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
            if wrong == ["x"] and "do" in path and isinstance(_at(source, path), (str, list)) and path[-1] in (*registry.actions, "text"):
                load_config([tmp_path], registry)  # a text (or its variants) written one way in a list: right
                continue
            with pytest.raises(InvalidPlaybooks) as caught:
                load_config([tmp_path], registry)
            assert caught.value.problems, (path, wrong)
