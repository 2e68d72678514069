"""The import layers: the contract at the bottom, and no module that imports its own importers."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = {"engine": "playbook_engine", "plugins": "playbook_plugins"}


def _modules() -> dict[str, Path]:
    """Every module of the project by its installed name."""
    modules = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """Who imports whom among our modules, counting imports under TYPE_CHECKING and inside
    functions: a cycle through either still ties the modules together for a reader."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from package import submodule` imports the submodule; `from module import name` the module.
                submodules = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules]
                targets = submodules if len(submodules) == len(node.names) else [node.module, *submodules]
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_among_our_modules():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_contract_imports_nothing_of_ours():
    assert import_graph()["playbook_engine.contract"] == set()



def test_every_package_folder_is_installed():
    """pyproject lists packages one by one (the folders install under other names): a new
    subpackage left out would import in a checkout and fail after `pip install .`."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    folders = {
        ".".join([PACKAGES[folder], *init.parent.relative_to(ROOT / folder).parts])
        for folder in PACKAGES
        for init in (ROOT / folder).rglob("__init__.py")
    }
    data = {package for package, folder in setuptools["package-dir"].items() if folder not in PACKAGES}
    assert listed == folders | data
    assert all((ROOT / setuptools["package-dir"][package] / "__init__.py").exists() for package in data)


# Where the engine may still write a built-in plugin's name, and why: the command line's
# documented defaults (`--source jsonl`; a table on a terminal, JSON Lines when piped), the
# channel a community.yaml without `channel:` gets, the actions merged by default (`merge: [dm]`,
# one private message a day), examples in the records' field docs, a YAML event attribute that
# happens to be called "tag", and `question.answered_by: [mention]` (a message mentioning the
# asker answers a question: a word of community.yaml, not the action — model.py, and words.py,
# which says in each language what each way of answering is). `playbook tasks list`
# writes its rows (a task with what was done to it, not a planned Task) itself, in four formats
# named as `run`'s are so that an operator need learn one set of names; `playbook forecast` writes
# its counts (no tasks) likewise, as a table or JSON.
NAMES_ALLOWED = {
    ("cli.py", "jsonl"), ("cli.py", "table"), ("loading.py", "wechat"), ("model.py", "dm"),
    ("contract.py", "wechat"), ("contract.py", "dm"), ("yamlfile.py", "tag"),
    ("model.py", "mention"), ("words.py", "mention"),
    ("cli.py", "csv"), ("cli.py", "md"), ("tasks.py", "table"), ("tasks.py", "md"), ("tasks.py", "csv"), ("tasks.py", "jsonl"),
    ("cli.py", "json"), ("forecast.py", "table"), ("forecast.py", "json"),
}


def test_the_engine_names_no_plugin(registry):
    """What the engine must know about an action, channel, filter, source, format or inbox, the plugin
    declares (limits, targets, the context a filter reads, titles and examples): no module of
    the engine outside its own built-in triggers writes their names."""
    names = set(registry.actions) | set(registry.channels) | set(registry.filters) | set(registry.sources) | set(registry.formats) | set(registry.inboxes)
    found = set()
    for path in (ROOT / "engine").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.add((path.name, node.value))
    assert found <= NAMES_ALLOWED
