"""Every shipped playbook is valid, passes its own `tests:`, and those tests notice a missing rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from playbook_engine.loading import load_config
from playbook_engine.plugins import Registry
from playbook_engine.testing import run_playbook_tests
from tests.conftest import ROOT, copy_settings

PLAYBOOKS = ROOT / "playbooks"
# community.yaml and content.yaml sit beside the playbooks; neither is one.
SHIPPED = sorted(path for path in PLAYBOOKS.glob("*.yaml") if path.name not in ("community.yaml", "content.yaml"))


def _rules(path: Path) -> list[str]:
    return [rule["id"] for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]]


def _failures(paths: list[Path], registry: Registry) -> list[str]:
    config = load_config(paths, registry)
    return [f"{outcome.name}: {failure}" for outcome in run_playbook_tests(config) for failure in outcome.failures]


def _without_rule(path: Path, rule_id: str, directory: Path) -> Path:
    """A copy of the playbook at ``path`` without rule ``rule_id``, beside copies of
    community.yaml and content.yaml (the values its texts read as ``content.NAME``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"] = [rule for rule in data["rules"] if rule["id"] != rule_id]
    copy_settings(directory)
    target = directory / path.name
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def test_there_is_a_playbook_for_every_method_of_the_spec():
    assert len(SHIPPED) >= 12


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_a_shipped_playbook_is_valid_and_passes_its_tests(path, registry):
    config = load_config([PLAYBOOKS / "community.yaml", path], registry)
    (playbook,) = config.playbooks
    assert playbook.tests, f"{path.name} has no tests"
    assert _failures([PLAYBOOKS / "community.yaml", path], registry) == []


EVERY_RULE = [pytest.param(path, rule, id=f"{path.stem}/{rule}") for path in SHIPPED for rule in _rules(path)]


@pytest.mark.parametrize(("path", "rule_id"), EVERY_RULE)
def test_the_tests_notice_any_deleted_rule(path, rule_id, registry, tmp_path):
    """Each rule is covered: without it, at least one of its playbook's tests fails."""
    assert _failures([_without_rule(path, rule_id, tmp_path)], registry), f"{path.name}: its tests still pass without rule `{rule_id}`"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.stem)
def test_the_tests_fail_when_the_main_rule_is_deleted(path, registry, tmp_path):
    main_rule = _rules(path)[0]
    failures = _failures([_without_rule(path, main_rule, tmp_path)], registry)
    assert failures, f"{path.name}: its tests still pass without rule `{main_rule}`"
    assert any(f"rule={main_rule}" in failure for failure in failures)
