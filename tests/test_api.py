"""Plugins reach the command line only through ``playbook_engine.api``, never ``playbook_engine.cli``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from playbook_engine import api, cli
from tests.conftest import ROOT

FORBIDDEN = "playbook_engine.cli"


def cli_imports(source: str) -> list[int]:
    """Lines of every import of the CLI module in ``source``, at module top or inside a function."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == FORBIDDEN or name.startswith(FORBIDDEN + ".") for name in names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    "source",
    [
        "import playbook_engine.cli",
        "import playbook_engine.cli as command_line",
        "from playbook_engine.cli import registry_from",
        "from playbook_engine import cli",
        "def command():\n    from playbook_engine.cli import source_options\n",
        "class Plugin:\n    def hook(self):\n        import playbook_engine.cli\n",
    ],
    ids=["import", "import-as", "from-module", "from-package", "inside-function", "inside-method"],
)
def test_the_check_finds_an_import_of_the_cli_wherever_it_is(source):
    assert cli_imports(source)


@pytest.mark.parametrize("source", ["from playbook_engine.api import registry_from", "import playbook_engine.client", "from playbook_engine import cli_helpers"], ids=["api", "similar-module", "similar-name"])
def test_the_check_leaves_other_imports_alone(source):
    assert cli_imports(source) == []


@pytest.mark.parametrize("path", sorted((ROOT / "plugins").glob("*.py")) + [ROOT / "engine" / "api.py"], ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_plugin_and_not_the_api_imports_the_cli_module(path: Path):
    """A plugin written against ``playbook_engine.cli`` would break whenever the CLI changes."""
    found = cli_imports(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.relative_to(ROOT)}:{found[0]}: import from playbook_engine.api instead of {FORBIDDEN}"


def test_the_command_line_uses_the_api_and_does_not_keep_copies():
    assert (cli.DEFAULT_PATHS, cli.registry_from, cli.source_options) == (api.DEFAULT_PATHS, api.registry_from, api.source_options)

