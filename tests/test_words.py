"""Every language the engine writes in defines every word, with the same placeholders (engine/words.py)."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import pytest

from playbook_engine.model import LANGUAGES as COMMUNITY_LANGUAGES
from playbook_engine.words import EN, LANGUAGES, Language, words_for

ROOT = Path(__file__).resolve().parent.parent
OTHER = [name for name in LANGUAGES if name != "en"]


def _placeholders(template: str) -> set[str]:
    # `{s}` is English's plural ending ("message{s}"): other languages need not say it.
    return {name for _, name, _, _ in string.Formatter().parse(template) if name} - {"s"}


def _words(language: Language) -> dict[str, object]:
    """Every word of ``language`` by its path (``plan.columns``), for comparing one with another."""
    found: dict[str, object] = {}
    for part in fields(Language):
        words = getattr(language, part.name)
        for word in fields(words):
            found[f"{part.name}.{word.name}"] = getattr(words, word.name)
    return found


@pytest.mark.parametrize("language", OTHER)
def test_every_language_defines_every_word_as_english_does(language: str) -> None:
    """Same keys in each mapping, same placeholders in each template, as long a tuple: what one
    language's code hands a word, every language's word can take."""
    english, other = _words(EN), _words(LANGUAGES[language])
    assert other.keys() == english.keys()
    for path, word in english.items():
        theirs = other[path]
        if isinstance(word, str):
            assert isinstance(theirs, str), path
            assert _placeholders(theirs) == _placeholders(word), path
        elif isinstance(word, Mapping):
            assert isinstance(theirs, Mapping), path
            assert set(theirs) == set(word), path
            for key, value in word.items():
                if isinstance(value, str):
                    assert _placeholders(theirs[key]) == _placeholders(value), (path, key)
        elif isinstance(word, tuple):
            assert isinstance(theirs, tuple) and len(theirs) == len(word), path
        else:
            assert callable(word) and callable(theirs), path


def test_a_word_left_out_is_refused_when_the_language_is_written() -> None:
    """Every word is a required field: a language missing one cannot even be built."""
    with pytest.raises(TypeError):
        Language(plan=EN.plan, reasons=EN.reasons)  # type: ignore[call-arg]


def test_community_yaml_accepts_exactly_the_languages_there_are_words_for() -> None:
    schema = json.loads((ROOT / "schemas" / "base" / "community.json").read_text(encoding="utf-8"))
    declared = schema["properties"]["community"]["properties"]["language"]["enum"]
    assert sorted(declared) == sorted(LANGUAGES) == sorted(COMMUNITY_LANGUAGES)


def test_an_unknown_or_missing_language_is_english() -> None:
    assert words_for(None) is EN
    assert words_for("fr") is EN
    assert words_for("zh-CN") is LANGUAGES["zh-CN"]


def test_every_built_in_action_is_named_in_every_language_but_english() -> None:
    """An action's name in a plan (summary, --explain, Markdown, the CSV) is the plugin's
    (``ActionType.names``); English shows the id an author writes (``dm``)."""
    from playbook_engine.plugins import load_registry

    registry = load_registry(entrypoints=False)
    for name, kind in registry.actions.items():
        assert set(kind.names) >= set(OTHER), name


def test_every_option_a_built_in_task_carries_is_named_in_every_language_but_english() -> None:
    """What a plan shows beside a task's text (the points, the form, the group to invite to) is
    named in the community's language (``ActionType.option_names``): 积分：50, not points: 50.
    The options a task carries are its action's, less `text` and `target`."""
    from playbook_engine.plugins import load_registry

    registry = load_registry(entrypoints=False)
    checked: set[str] = set()
    for language in OTHER:
        named = registry.option_names(language)
        for name, kind in registry.actions.items():
            if not kind.makes_task:
                continue
            objects = [branch for branch in kind.schema.get("oneOf", [kind.schema]) if branch.get("type") == "object"]
            carried = {option for branch in objects for option in branch.get("properties", {})} - {"text", "target"}
            assert carried <= set(named.get(name, {})), (language, name)
            checked.update(carried)
    assert checked >= {"points", "coupon", "gift", "group", "form", "to"}  # the test looks where the options are


def test_a_task_with_no_text_is_described_in_the_communitys_language() -> None:
    """`- remove:` with no text, a reward given as points only: the task's text is the action's
    own summary, in each language (``ActionType.summaries``), else its name."""
    from playbook_engine.plugins import load_registry

    actions = load_registry(entrypoints=False).actions
    assert all(set(kind.summaries) >= set(OTHER) for kind in actions.values() if kind.summary is not None)
    assert (actions["remove"].describe({}, "zh-CN"), actions["remove"].describe({}, "en")) == ("移出群", "remove from the group")
    assert actions["reward"].describe({"points": 50, "gift": "书签"}, "zh-CN") == "奖励：50 积分、礼品 书签"
    assert actions["reward"].describe({}, "en") == "reward: as decided by the operator"
    assert actions["invite"].describe({"group": "种子用户群"}, "zh-CN") == "邀请进群 种子用户群"


def test_a_channel_says_what_to_do_in_the_communitys_language() -> None:
    """The built-in channels have their steps in Chinese and English; a language a channel has no
    steps for gets the bare text (the plan then names the action itself)."""
    from playbook_engine.plugins import load_registry

    channels = load_registry(entrypoints=False).channels
    assert all(set(channel.instructions) <= set(channel.instructions_in["en"]) for channel in channels.values())
    wechat = channels["wechat"]
    assert wechat.how_to("dm", "读书会1群", "小美", "你好", "zh-CN") == wechat.how_to("dm", "读书会1群", "小美", "你好") == "私信 小美：你好"
    assert wechat.how_to("dm", "Book club", "Ana", "Hi", "en") == "DM Ana: Hi"
    assert channels["slack"].how_to("mention", "general", "Ana", "Hi", "en") == "Send in #general (mentioning @Ana): Hi"
    assert wechat.how_to("dm", "Book club", "Ana", "Hi", "fr") == "Hi"


@pytest.mark.parametrize("language", OTHER)
def test_the_summary_and_the_report_name_each_reason_alike(language: str) -> None:
    """One word per guardrail, wherever the operator reads it (English's summary keeps the ids
    docs/why-dropped.md lists them by)."""
    words = LANGUAGES[language]
    shared = words.summary.reasons.keys() & words.history.reasons.keys()
    assert len(shared) >= 14
    assert {key: words.history.reasons[key] for key in shared} == {key: words.summary.reasons[key] for key in shared}


def test_a_reject_reason_is_english_text_said_in_the_communitys_language() -> None:
    """A Reason is its English text (what a program comparing reasons sees), and the run says it
    in the community's language, the Reasons and durations inside it too; it pickles as itself
    (a Beam worker sends its rejects back)."""
    import pickle
    from datetime import timedelta

    from playbook_engine.words import ZH_CN, Reason, say

    reason = Reason("too_far", at="2099-01-01T00:00:00+08:00", horizon=timedelta(days=1), latest="2026-03-01T09:00:00+08:00", why=Reason("no_later"), longer=Reason("max_future_days", days=3))
    assert reason == "dated 2099-01-01T00:00:00+08:00, more than 1d after the latest event so far (2026-03-01T09:00:00+08:00), and no later event confirms its date: a wrong date? — if the history really skips that long, run with a longer --max-future (e.g. --max-future 3d)"
    assert say(reason, ZH_CN) == "时间是 2099-01-01T00:00:00+08:00，比目前最晚的事件（2026-03-01T09:00:00+08:00）晚了 1 天以上，而且没有更晚的事件证实它的日期：日期写错了？—— 如果历史真的中断了这么久，请用更长的 --max-future 运行（如 --max-future 3d）"
    again = pickle.loads(pickle.dumps(reason))
    assert again == reason and say(again, ZH_CN) == say(reason, ZH_CN)
    assert say("a plugin's own reason", ZH_CN) == "a plugin's own reason"


def test_every_reason_the_code_gives_has_words() -> None:
    """A Reason's key is looked up when it is made: a key with no words would fail only on the
    rare line that has that problem. Every `Reason("…")` written in the engine and its plugins
    names a template."""
    import re

    given = r'\bReason\(\s*"(\w+)"(?: if [^\n]*? else "(\w+)")?'  # Reason("key"), Reason("key" if … else "other")
    written = {key for folder in ("engine", "plugins") for path in (ROOT / folder).glob("*.py") for keys in re.findall(given, path.read_text(encoding="utf-8")) for key in keys if key}
    assert len(written) > 30
    assert written <= set(EN.inputs.reasons)
