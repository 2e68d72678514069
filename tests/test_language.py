"""`community.language` decides every word the engine itself writes (engine/words.py).

The shipped community is zh-CN: run over the example history in every format, with --explain,
then forecast and deliver from its state, it must write no English word of its own — what is
left once the identifiers (rule and member ids, conditions in backticks, task ids, JSON keys, the
words of the playbooks and of the history) are taken out. The English example community
(examples/community-en, `language: en`) run the same way writes no Chinese character at all:
its playbooks and history are English, so every Chinese word would be the engine's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_engine.contract import TASK_RECORD_FIELDS
from playbook_engine.plugins import Registry, load_registry

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("table", "jsonl", "json", "csv", "md")
ENGLISH = ROOT / "examples" / "community-en"

# Jinja's and Python's words in the playbooks' conditions (`not member.left`) must not make the
# same English words in the engine's sentences pass ("is not one of").
_CODE_WORDS = {"not", "in", "or", "and", "is", "if", "else", "true", "false", "none"}
# What no translation changes: the command's name before its lines ("playbook: …"), the values
# a condition read as Python shows them, JSON's null, and the keys of the task records and of a
# work-chat robot's payload (programs read them).
_TOKENS = {"playbook", "True", "False", "None", "null", "params", "parts", "msgtype", "markdown", "content", *TASK_RECORD_FIELDS}
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z_]+", text))


def _known(directory: Path, events: Path) -> set[str]:
    """The identifiers and words the playbooks and the history bring: rule ids, tags, group and
    member ids, names, stage ids, cron fields, channel names, the history's own texts."""
    known: set[str] = set()
    for path in directory.glob("*.yaml"):
        for value in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            known |= _words(value)
        known |= {str(key) for key in _keys(yaml.safe_load(path.read_text(encoding="utf-8")))}  # a reward's `points:` shown as its option
    for line in events.read_text(encoding="utf-8").splitlines():
        for value in _strings(json.loads(line)):
            known |= _words(value)
    return (known - _CODE_WORDS) | _TOKENS


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("points", "coupon", "gift", "form", "group", "link"):
                yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def _without_identifiers(text: str) -> str:
    text = re.sub(r"</?[a-z]+[^>]*>", " ", text)  # a robot's markup (<font color=…>)
    text = re.sub(r"`[^`\n]*`", " ", text)  # a condition, a cron expression, an option as written
    text = re.sub(r"'[^'\n]*'", " ", text)  # a value as Python shows it
    text = re.sub(r"\bt-[0-9a-f]{10}\b", " ", text)  # task ids
    text = re.sub(r"\b[a-z_]+(?:\.[a-z_0-9]+)+\b", " ", text)  # member.tags, trigger.value
    return re.sub(r"\S+/\S+", " ", text)  # paths and playbook/rule keys


def english_words(text: str, known: set[str], *, wrapped: bool = False) -> set[str]:
    """The ASCII words of ``text`` that are not identifiers; ``wrapped``: a table's cells break
    long identifiers across lines, so a piece of a known identifier is one too."""
    found = _words(_without_identifiers(text)) - known
    if wrapped:
        found = {word for word in found if not any(word in identifier for identifier in known)}
    return found


class Runner:
    def __init__(self, registry: Registry, tmp_path: Path):
        self.registry = registry
        self.tmp = tmp_path

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
        result = CliRunner().invoke(cli, list(args), obj={"registry": self.registry}, env=env)
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(load_registry(entrypoints=False), tmp_path_factory.mktemp("language"))


def _everything(runner: Runner, directory: Path, events: Path, until: str, deliver_day: str, env: dict[str, str]) -> dict[str, str]:
    """What the engine writes over a history: each format with --explain, then, from the state
    the run kept, the forecast, a delivery's dry run and the report's closing line. Name → text."""
    written: dict[str, str] = {}
    state = runner.tmp / f"{directory.name}.db"
    for fmt in FORMATS:
        more = ("--state", str(state)) if fmt == "jsonl" else ()
        out, err = runner("run", str(directory), "--events", str(events), "--until", until, "--format", fmt, "--explain", *more)
        written[fmt], written[f"{fmt} --explain"] = out, err
    out, err = runner("forecast", str(directory), "--state", str(state), "--days", "14")
    written["forecast"], written["forecast (stderr)"] = out, err
    out, err = runner("deliver", str(directory), "--state", str(state), "--date", deliver_day, "--dry-run", env=env)
    written["deliver"], written["deliver (stderr)"] = out, err
    _, written["report (stderr)"] = runner("report", str(directory), "--state", str(state), "--out", str(runner.tmp / f"{directory.name}.html"))
    return written


def test_a_zh_cn_community_reads_no_english_word_of_the_engine(runner: Runner) -> None:
    directory, events = ROOT / "playbooks", ROOT / "examples" / "events.jsonl"
    written = _everything(runner, directory, events, "2026-03-15T00:00:00+08:00", "2026-03-08", {"WECOM_LILY": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test"})
    known = _known(directory, events)
    assert "但是" in written["table --explain"] and "顺延" in written["table --explain"]  # the example has guardrails to explain
    found = {name: english_words(text, known, wrapped=name == "table") for name, text in written.items()}
    assert {name: words for name, words in found.items() if words} == {}


def test_the_detector_finds_the_english_words_it_is_there_to_find() -> None:
    """The test above cannot pass by finding nothing: English sentences are caught, identifiers are not."""
    known = {"silent", "member", "care", "nudge", "newbie", "growth"} | _TOKENS
    assert english_words("2026-03-08 19:45  not        silent-member-care/nudge → 阿杰 (m10): stage newbie is not one of growth", known) == {"not", "stage", "is", "one", "of"}
    assert english_words("条件 `member.messages > 0` 不成立（member.messages = 0）· limit 2 dm per 7d", known) == {"limit", "dm", "per"}
    assert english_words("│ new-member-welcome/ask-intr │\n│ o │ wel", {"welcome", "ask", "intro"}, wrapped=True) == set()


def test_an_en_community_reads_no_chinese_word_of_the_engine(runner: Runner) -> None:
    events = ENGLISH / "events.jsonl"
    assert all(not _CJK.search(text) for path in (*ENGLISH.glob("*.yaml"), events) for text in [path.read_text(encoding="utf-8")] if path.name != "community.yaml")
    written = _everything(runner, ENGLISH, events, "2026-03-16T00:00:00+00:00", "2026-03-12", {"SLACK_SAM": "https://hooks.slack.com/services/T0/B0/test"})
    assert "but" in written["table --explain"] and "moved      quiet hours" in written["table --explain"]
    chinese = {name: sorted(set(_CJK.findall(text))) for name, text in written.items() if _CJK.search(text)}
    assert chinese == {}


def test_the_en_example_community_plans_in_english(runner: Runner) -> None:
    out, err = runner("run", str(ENGLISH), "--events", str(ENGLISH / "events.jsonl"), "--format", "md")
    assert out.startswith("# Riverside Book Club: planned tasks\n")
    assert "- [ ] **12:10** DM Dev:\n" in out and "  - why: welcome/ask-intro — member\\_joined at 2026-03-02 12:00\n" in out
    assert err.startswith("playbook: times in Europe/London (from ")
    out, _ = runner("test", str(ENGLISH))
    assert out.endswith("4 passed, 0 failed\n")
