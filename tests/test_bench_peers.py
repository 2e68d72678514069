"""bench/peers.py's ten rules: the engine's playbook matches what the peers' table says, event by event.

The peers themselves (durable_rules, rule-engine) are not needed: their conditions are written
so that plain Python reads them too, and this test evaluates them the slow, obvious way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from playbook_engine.loading import load_config
from playbook_engine.plugins import load_registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import peers
from generate import Options, write


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("peers") / "events.jsonl"
    with path.open("w", encoding="utf-8") as out:
        write(Options(events=3_000, members=300, groups=2, days=20, seed=3), out)
    return path


def expected_matches(path: Path) -> dict[str, int]:
    """Each rule of peers.RULES tested on each peer record with Python's own `in` and comparisons."""
    per_rule = dict.fromkeys((name for name, *_ in peers.RULES), 0)
    for record in peers.member_records(str(path)):
        for name, kind, keywords, condition in peers.RULES:
            if record["type"] != kind or (keywords and not any(word in record["text"] for word in keywords)):
                continue
            if condition is None or eval(condition, {"__builtins__": {}}, dict(record)):  # our own table, no builtins
                per_rule[name] += 1
    return per_rule


def test_the_playbook_has_the_ten_rules_of_the_table():
    config = load_config([str(peers.PLAYBOOKS)], load_registry(entrypoints=False))
    assert [rule.id for playbook in config.playbooks for rule in playbook.rules] == [name for name, *_ in peers.RULES]


def test_the_engine_matches_as_often_as_the_table(stream: Path):
    """Every rule matches somewhere, and the engine's count of matches is the table's."""
    expected = expected_matches(stream)
    assert all(expected.values()), expected
    assert peers.child_engine(str(stream))["matches"] == sum(expected.values())
