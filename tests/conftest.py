"""Shared fixtures: a registry of the built-in plugins, and small playbook directories on disk."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from playbook_engine.contract import SourceRecord
from playbook_engine.loading import load_config
from playbook_engine.model import Config
from playbook_engine.plugins import Registry, load_registry
from playbook_engine.runner import RunResult, run

# Property tests draw the same examples on every run (CI must not turn red by chance);
# HYPOTHESIS_PROFILE=explore draws new ones, to look for counterexamples on purpose.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent

COMMUNITY = """\
community:
  name: 测试群
  timezone: Asia/Shanghai
  channel: wechat
  operators:
    - {id: op-lily, name: Lily, groups: [g1]}
"""


@pytest.fixture
def registry() -> Registry:
    return load_registry(entrypoints=False)


@pytest.fixture
def make_config(tmp_path: Path, registry: Registry) -> Callable[..., Config]:
    """Write ``playbooks`` (name → YAML text) and a community.yaml, and load them."""

    def make(playbooks: dict[str, str], community: str = COMMUNITY) -> Config:
        return config_from(playbooks, community, tmp_path / "pb", registry)

    return make


def config_from(playbooks: dict[str, str], community: str = COMMUNITY, directory: Path | None = None, registry: Registry | None = None) -> Config:
    """Write ``playbooks`` (name → YAML text) and a community.yaml into ``directory`` (a new
    temporary one if None: for a config a module's property tests share, removed when the test
    session ends) and load them."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="playbooks-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    directory.mkdir(exist_ok=True)
    (directory / "community.yaml").write_text(textwrap.dedent(community), encoding="utf-8")
    for name, text in playbooks.items():
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config([directory], registry or load_registry(entrypoints=False))


def records(events: Iterable[dict[str, Any]]) -> list[SourceRecord]:
    return [SourceRecord(number, event) for number, event in enumerate(events, 1)]


def plan(config: Config, events: Iterable[dict[str, Any]], **options: Any) -> RunResult:
    return run(config, records(events), **options)


def task_keys(result: RunResult, *fields: str) -> list[tuple[Any, ...]]:
    tz = result.evaluation.tz
    return [tuple(task.record(tz)[name] for name in fields) for task in result.tasks]


def copy_settings(directory: Path, community: Callable[[str], str] = lambda text: text) -> None:
    """The shipped community.yaml (passed through ``community``) and content.yaml, copied into
    ``directory``: a shipped playbook's texts read ``content.NAME``, so it loads only beside both."""
    shipped = ROOT / "playbooks"
    (directory / "community.yaml").write_text(community((shipped / "community.yaml").read_text(encoding="utf-8")), encoding="utf-8")
    if (shipped / "content.yaml").exists():
        shutil.copy(shipped / "content.yaml", directory / "content.yaml")


def write_jsonl(path: Path, events: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events), encoding="utf-8")
    return path


def shipped_run(directory: Path, seed: int, members: int, community: Callable[[str], str] = lambda text: text) -> tuple[Config, RunResult]:
    """The shipped playbooks (their community.yaml passed through ``community``), copied into
    ``directory``, run over a generated history of 1,500 events: for plan invariants."""
    import io
    import sys

    from playbook_engine.events import parse_jsonl

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Options, write

    for path in (ROOT / "playbooks").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (directory / path.name).write_text(community(text) if path.name == "community.yaml" else text, encoding="utf-8")
    config = load_config([directory], load_registry(entrypoints=False))
    stream = io.StringIO()
    write(Options(events=1_500, members=members, groups=2, days=20, seed=seed), stream)
    return config, run(config, parse_jsonl(io.StringIO(stream.getvalue())))
