"""Hostile and careless input, end to end (issue 20): each case must finish with a plan or a
clear refusal, held by the engine's own limits (a date horizon, a linear-time regex engine,
bounded templates), never by how long the test waits. docs/reliability.md lists them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from playbook_engine.cli import cli, main
from playbook_engine.errors import InvalidPlaybooks
from playbook_engine.patterns import compile_pattern
from playbook_engine.plugins import load_registry
from tests.conftest import ROOT, config_from, plan, write_jsonl

DAY = 86400


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), obj={"registry": load_registry(entrypoints=False)})


def _example_lines() -> list[str]:
    return (ROOT / "examples" / "events.jsonl").read_text(encoding="utf-8").splitlines()


def _with_line_at(lines: list[str], index: int, ts: str) -> list[str]:
    """``lines`` with a copy of the line at ``index`` dated ``ts`` inserted after it."""
    bad = json.loads(lines[index])
    bad["ts"] = ts
    bad.pop("id", None)
    return [*lines[: index + 1], json.dumps(bad, ensure_ascii=False), *lines[index + 1 :]]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- item 5: an event dated far ahead ------------------------------------------------------


def test_one_line_dated_2099_is_rejected_naming_the_guard_and_the_plan_is_unchanged(tmp_path):
    lines = _example_lines()
    clean = invoke("run", str(ROOT / "playbooks"), "--events", str(_write(tmp_path / "clean.jsonl", lines)), "--format", "jsonl")
    poisoned = _write(tmp_path / "poisoned.jsonl", _with_line_at(lines, 50, "2099-01-01T00:00:00+08:00"))
    rejects = tmp_path / "rejects.jsonl"
    result = invoke("run", str(ROOT / "playbooks"), "--events", str(poisoned), "--format", "jsonl", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert result.stdout == clean.stdout
    [rejected] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert rejected["line"] == 52
    assert rejected["reason"].startswith("时间是 2099-01-01T00:00:00+08:00，比目前最晚的事件（")  # the shipped community is zh-CN
    assert "--max-future" in rejected["reason"]
    assert "读取 293 条事件：接受 292，拒绝 1" in result.stderr  # the shipped community is zh-CN


def test_max_future_off_lets_the_far_line_through(tmp_path):
    """The guard is what rejects it: without it, the clock jumps and later lines are refused."""
    poisoned = _write(tmp_path / "poisoned.jsonl", _with_line_at(_example_lines(), 50, "2026-06-01T00:00:00+08:00"))
    guarded = invoke("run", str(ROOT / "playbooks"), "--events", str(poisoned), "--format", "jsonl", "--max-future", "30d")
    assert "读取 293 条事件：接受 292，拒绝 1" in guarded.stderr
    result = invoke("run", str(ROOT / "playbooks"), "--events", str(poisoned), "--format", "jsonl", "--max-future", "off")
    assert "读取 293 条事件：接受 52，拒绝 241" in result.stderr
    assert "早于已读到的时间（2026-06-01T00:00:00+08:00）" in result.stderr


def test_a_bad_max_future_is_a_usage_error():
    result = invoke("run", str(ROOT / "playbooks"), "--events", str(ROOT / "examples" / "events.jsonl"), "--max-future", "soon")
    assert result.exit_code == 2 and "--max-future" in result.stderr and "(or `off`)" in result.stderr


WELCOME = """\
playbook: welcome
rules:
  - id: hello
    when: {event: message}
    do:
      - dm: "hi {{ member.name }}"
"""
COMMUNITY = "community:\n  name: t\n  timezone: Asia/Shanghai\n  merge: []\n"


def _message(t: float, number: int) -> dict[str, Any]:
    return {"ts": t, "type": "message", "group": "g1", "member": f"m{number}", "id": f"msg-{number}", "text": "hi"}


START = 1772326800.0  # 2026-03-01T09:00:00+08:00


def test_a_quiet_week_is_history_not_a_wrong_date():
    """Past the horizon, the next event decides: not earlier than it, the gap was real."""
    config = config_from({"w.yaml": WELCOME}, COMMUNITY)
    result = plan(config, [_message(START, 1), _message(START + 7 * DAY, 2), _message(START + 7 * DAY + 60, 3)], max_future=DAY)
    assert (result.counts["accepted"], result.counts["rejected"]) == (3, 0)


def test_the_last_line_past_the_horizon_is_accepted_only_up_to_until():
    config = config_from({"w.yaml": WELCOME}, COMMUNITY)
    events = [_message(START, 1), _message(START + 7 * DAY, 2)]
    alone = plan(config, events, max_future=DAY)
    assert [rejected.line for rejected in alone.rejected] == [2] and "no later event confirms its date" in alone.rejected[0].reason
    assert plan(config, events, max_future=DAY, until=START + 8 * DAY).counts["accepted"] == 2


def _reference_rejections(times: list[float], future: float, watermark: float | None) -> list[int]:
    """The slow, obvious reading of the guard: an event more than ``future`` after the latest
    accepted so far is rejected when the next event is earlier than it, or there is none."""
    latest = watermark
    rejected = []
    for index, t in enumerate(times):
        following = times[index + 1] if index + 1 < len(times) else None
        if latest is not None and t > latest + future and (following is None or following < t):
            rejected.append(index + 1)
        elif latest is None or t > latest:
            latest = t
    return rejected


@settings(deadline=None)  # each example runs the engine: a loaded machine is not a failure
@given(steps=st.lists(st.sampled_from([0, 60, 3600, 20 * 3600, 2 * DAY, 9 * DAY, -3600, -2 * DAY, 70 * 365 * DAY, -70 * 365 * DAY]), min_size=1, max_size=12))
def test_the_guard_matches_its_obvious_reading(steps):
    config = config_from({"w.yaml": WELCOME}, COMMUNITY)
    times, t = [], START
    for step in steps:
        t = max(START, t + step)
        times.append(t)
    result = plan(config, [_message(t, number) for number, t in enumerate(times, 1)], max_future=DAY)
    assert [rejected.line for rejected in result.rejected if rejected.reason.startswith("dated ")] == _reference_rejections(times, DAY, None)


def test_with_state_the_horizon_starts_at_the_watermark_and_the_state_is_not_poisoned(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "w.yaml").write_text(WELCOME, encoding="utf-8")
    state = str(tmp_path / "ops.db")
    day1 = write_jsonl(tmp_path / "day1.jsonl", [_message(START, 1)])
    assert invoke("run", str(books), "--events", str(day1), "--format", "jsonl", "--state", state).exit_code == 0
    day2 = write_jsonl(tmp_path / "day2.jsonl", [_message(4070880000, 2), _message(START + DAY, 3)])  # 2099, then the real day 2
    second = invoke("run", str(books), "--events", str(day2), "--format", "jsonl", "--state", state)
    assert "day2.jsonl:1: rejected: dated 2099-01-01T00:00:00+08:00, more than 1d after the latest event so far (2026-03-01T09:00:00+08:00)" in second.stderr
    assert [json.loads(line)["member"] for line in second.stdout.splitlines()] == ["m3"]
    day3 = write_jsonl(tmp_path / "day3.jsonl", [_message(START + 2 * DAY, 4)])
    third = invoke("run", str(books), "--events", str(day3), "--format", "jsonl", "--state", state)
    assert [json.loads(line)["member"] for line in third.stdout.splitlines()] == ["m4"]


def _nightly(books: Path, tmp_path: Path, nights: list[list[dict[str, Any]]]) -> list[Any]:
    """`playbook run … --state` once per night's file, as cron runs it (default --max-future 1d)."""
    results = []
    for number, night in enumerate(nights, 1):
        events = write_jsonl(tmp_path / f"night{number}.jsonl", night)
        result = invoke("run", str(books), "--events", str(events), "--format", "jsonl", "--state", str(tmp_path / "ops.db"))
        assert result.exit_code == 0, result.output
        results.append(result)
    return results


def _welcome_books(tmp_path: Path) -> Path:
    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "w.yaml").write_text(WELCOME, encoding="utf-8")
    return books


def test_with_state_a_quiet_nights_one_line_is_kept_for_the_next_run_to_confirm_not_lost(tmp_path):
    """A quiet group: one message on 1 March, then one three days later, alone in that night's
    export. No later line confirms its date, so the run keeps it (not rejected, not planned
    yet); the next night's line, later, confirms it: read then, first, and planned as one run
    over the whole history plans it. The same line again in the next export is read once."""
    books = _welcome_books(tmp_path)
    lone = _message(START + 3 * DAY, 2)
    first, second, third = _nightly(books, tmp_path, [[_message(START, 1)], [lone], [lone, _message(START + 4 * DAY, 3)]])
    assert second.stdout == "" and "rejected:" not in second.stderr
    assert "1 dated more than --max-future after the one before with no later line to confirm it, kept for the next run (line 1)" in second.stderr
    assert [json.loads(line)["member"] for line in third.stdout.splitlines()] == ["m2", "m3"]
    assert "1 already processed (--state watermark)" in third.stderr  # its copy in the third export
    whole = plan(config_from({"w.yaml": WELCOME}, COMMUNITY), [_message(START, 1), lone, _message(START + 4 * DAY, 3)], max_future=DAY)
    assert [task.member for task in whole.tasks] == ["m1", "m2", "m3"]


def test_a_quiet_night_whose_export_repeats_the_last_one_does_not_make_the_next_night_read_it_again(tmp_path):
    """A nightly export holding the whole history: on a quiet night it is yesterday's file again,
    and the run reads nothing new. The next night must still know the last instant's events as
    read: its task is not printed a second time, its message not counted twice."""
    books = _welcome_books(tmp_path)
    first, quiet, third = _nightly(books, tmp_path, [[_message(START, 1)], [_message(START, 1)], [_message(START, 1), _message(START + DAY, 2)]])
    assert [json.loads(line)["member"] for line in first.stdout.splitlines()] == ["m1"]
    assert quiet.stdout == ""
    assert [json.loads(line)["member"] for line in third.stdout.splitlines()] == ["m2"]
    assert "1 accepted" in third.stderr and "1 already processed (--state watermark)" in third.stderr


def test_with_overlapping_exports_the_kept_line_is_confirmed_by_the_next_new_line_not_refused_by_the_old_ones(tmp_path):
    """Nightly exports that each hold the whole history again (WeChat CSV, Telegram result.json):
    the line kept last night comes again after the lines already read. Those old lines, and the
    kept line's own copy, say nothing of its date; the next night's new line confirms it, as one
    run over the last export would."""
    books = _welcome_books(tmp_path)
    lone = _message(START + 3 * DAY, 2)
    _, second, third = _nightly(books, tmp_path, [[_message(START, 1)], [_message(START, 1), lone], [_message(START, 1), lone, _message(START + 4 * DAY, 3)]])
    assert "kept for the next run (line 2)" in second.stderr
    assert "rejected:" not in third.stderr, third.stderr
    assert [json.loads(line)["member"] for line in third.stdout.splitlines()] == ["m2", "m3"]


def test_with_overlapping_exports_a_kept_line_dated_2099_is_not_confirmed_by_its_own_copy(tmp_path):
    books = _welcome_books(tmp_path)
    wrong = _message(4070880000, 2)
    _, _, third = _nightly(books, tmp_path, [[_message(START, 1)], [_message(START, 1), wrong], [_message(START, 1), wrong]])
    assert third.stdout == "" and "rejected:" not in third.stderr and "kept for the next run" in third.stderr


def test_with_state_a_lone_line_dated_2099_is_kept_then_refused_by_the_next_line_and_the_state_is_not_poisoned(tmp_path):
    books = _welcome_books(tmp_path)
    _, second, third = _nightly(books, tmp_path, [[_message(START, 1)], [_message(4070880000, 2)], [_message(START + DAY, 3)]])
    assert second.stdout == "" and "kept for the next run" in second.stderr
    assert "night2.jsonl" not in third.stderr and "1: rejected: dated 2099-01-01T00:00:00+08:00" in third.stderr and "the next event (line 1) is earlier" in third.stderr
    assert [json.loads(line)["member"] for line in third.stdout.splitlines()] == ["m3"]


def test_without_state_a_run_with_a_report_still_rejects_the_unconfirmed_last_line(tmp_path):
    """`--report` without `--state` plans with a state in memory that no later run reads: the
    last line past the horizon is rejected, as in any run without --state."""
    books = _welcome_books(tmp_path)
    events = write_jsonl(tmp_path / "events.jsonl", [_message(START, 1), _message(START + 3 * DAY, 2)])
    result = invoke("run", str(books), "--events", str(events), "--format", "jsonl", "--report", str(tmp_path / "report.html"))
    assert result.exit_code == 0 and "events.jsonl:2: rejected: dated" in result.stderr and "kept for the next run" not in result.stderr


def test_nightly_runs_over_the_example_plan_what_one_run_plans_with_the_default_max_future(tmp_path):
    """The example club's last days have one message each, days apart: each night's export is
    that one line. With the default --max-future every night still plans what one run plans."""
    lines = _example_lines()
    nights: dict[str, list[str]] = {}
    for line in lines:
        nights.setdefault(json.loads(line)["ts"][:10], []).append(line)
    books = str(ROOT / "playbooks")
    held: dict[str, str] = {}
    for number, night in enumerate(nights.values()):
        events = _write(tmp_path / f"night{number}.jsonl", night)
        result = invoke("run", books, "--events", str(events), "--format", "jsonl", "--state", str(tmp_path / "ops.db"))
        assert result.exit_code == 0 and "rejected:" not in result.stderr, result.stderr
        for line in result.stdout.splitlines():
            task = json.loads(line)
            held[task["id"]] = line
    whole = invoke("run", books, "--events", str(_write(tmp_path / "all.jsonl", lines)), "--format", "jsonl")
    planned = sorted(json.loads(line)["id"] for line in whole.stdout.splitlines())
    assert len(planned) == 164
    # What the nights leave to do is what one run plans. A night whose export ends in the
    # morning cannot know of that evening's leaderboard: it printed m04's 21:10 DM, which the
    # next night put into the 20:00 reward message (the state says `merged`, so it is not sent).
    listed = invoke("tasks", "list", "--state", str(tmp_path / "ops.db"), "--format", "jsonl")
    assert sorted(json.loads(line)["id"] for line in listed.stdout.splitlines()) == planned
    assert set(planned) <= set(held) and len(held) - len(planned) <= 1


# -- item 9: patterns that would backtrack for ever ----------------------------------------

BACKTRACKING = r"^(a+)+$"


def test_a_catastrophic_regex_in_a_rule_and_in_question_patterns_does_not_hang_the_run():
    """With Python's engine each hostile message below would take days; RE2 takes microseconds."""
    rule = f"""\
playbook: p
rules:
  - id: all-a
    when: {{event: message, regex: "{BACKTRACKING}"}}
    do:
      - dm: "hi"
"""
    community = COMMUNITY + f'  question:\n    patterns: ["{BACKTRACKING}", "(x+x+)+y"]\n'
    config = config_from({"p.yaml": rule}, community)
    texts = ["a" * 40 + "b", "x" * 5000, "a" * 100_000 + "!", "aaaa"]
    events = [{**_message(START + index, index + 1), "text": text} for index, text in enumerate(texts)]
    result = plan(config, events, explain=True)
    assert [task.member for task in result.tasks] == ["m4"]
    assert result.counts["accepted"] == 4


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<w>a)(?P=w)", r"(?=a)a", r"(?<!a)b", "(?:a{1000}){1000}"])
def test_validate_refuses_what_needs_backtracking_or_unbounded_memory(pattern):
    with pytest.raises(InvalidPlaybooks) as raised:
        config_from({"p.yaml": f"playbook: p\nrules:\n  - id: r\n    when: {{event: message, regex: '{pattern}'}}\n    do:\n      - dm: hi\n"}, COMMUNITY)
    [problem] = raised.value.problems
    assert problem.line == 4 and " — " in problem.message


@settings(max_examples=300)
@given(text=st.text(alphabet="a1１٣_ \u3000\t\n\u00a0é中？?.$-xX吗", max_size=10), pattern=st.sampled_from([r"\s", r"\S+", r"^\d+$", r"[\d\s]", r"\w+\Z", r"[^\w]", r"\W", r"\D", r"吗?[?？]\s*$", r"a$", r"[$]", r"\$", r"[]a]", r"[^]a]x", r"(?i)x\s", r"^\s*[?？]\s*$", r"x*吗\s+", r"a|1\s*$", r"(中|吗)\s*$"]))
def test_patterns_match_what_python_s_re_matches(text, pattern):
    """RE2 reads \\s \\d \\w as ASCII and $ as the very end; the rewrite keeps Python's meaning,
    and a search skipped for want of a character every match holds finds nothing either."""
    from playbook_engine.patterns import any_of

    assert (compile_pattern(pattern).search(text) is not None) == (re.search(pattern, text) is not None)
    combined = any_of([compile_pattern(pattern), compile_pattern(r"x\s+\?")])
    assert (combined.search(text) is not None) == (re.search(pattern, text) is not None or re.search(r"x\s+\?", text) is not None)
    bounded = any_of([compile_pattern(pattern), compile_pattern("中x?吗|[?？]x")]) if isinstance(compile_pattern(pattern), re.Pattern) else None
    if bounded is not None:  # each branch Python's: one alternation, searched only in a text holding a character its matches hold
        assert (bounded.search(text) is not None) == (re.search(pattern, text) is not None or re.search("中x?吗|[?？]x", text) is not None)


# -- item 10: templates and durations that ask for unbounded work --------------------------


def _books(tmp_path: Path, text: str, option: str = "") -> Path:
    books = tmp_path / "books"
    books.mkdir(exist_ok=True)
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "p.yaml").write_text(f"playbook: p\nrules:\n  - id: r\n    when: {{event: message}}\n{option}    do:\n      - dm: {json.dumps(text)}\n", encoding="utf-8")
    return books


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ 9**(9**10) }}", "9 ** 3486784401 is a number of more than 4096 bits — "),
        ("{{ 10**5000 }}", "10 ** 5000 is a number of more than 4096 bits — "),
        ("{{ 'x' * 10**8 }}", "repeating 1 item(s) 100000000 times is more than 100,000 — "),
        ("{{ 'x'|center(10**9) }}", "a width of 1000000000 is more than 100,000 characters — "),
        ("{{ 'x'.ljust(10**9) }}", "a width of 1000000000 is more than 100,000 characters — "),
        ("{{ '%0999999d' % 1 }}", "a format width of more than four digits (or a nested or * width) — "),
        ("{% for i in range(10**5) %}{% for j in range(10**5) %}{% endfor %}{% endfor %}", "a loop inside a loop (or a recursive loop) can run for ever — "),
        ("{% for i in range(10**10) %}x{% endfor %}", "range of 10,000,000,000 numbers is more than 10,000 — "),
        ("{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "macros are not supported in texts — "),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply (brackets, `not`s or operators many levels deep) — "),
        ("{{ " + "not " * 5000 + "1 }}", "nested too deeply (brackets, `not`s or operators many levels deep) — "),
        ("{{ " + "+".join(["1"] * 5000) + " }}", "nested too deeply (brackets, `not`s or operators many levels deep) — "),
    ],
    ids=["power-tower", "huge-power", "repeat", "center", "ljust", "percent-width", "nested-loops", "huge-range", "macro", "parentheses", "nots", "long-sum"],
)
def test_validate_refuses_a_text_that_asks_for_unbounded_work(tmp_path, capsys, text, problem):
    assert _validate(_books(tmp_path, text), capsys).startswith(f"p.yaml:6:13: rules[0].do[0].dm.text: {problem}")


def test_validate_refuses_a_delay_of_99999999_days(tmp_path, capsys):
    assert _validate(_books(tmp_path, "hi", option="    delay: 99999999d\n"), capsys) == "p.yaml:5:12: rules[0].delay: `99999999d` is more than 10 years — write at most 3650d"


def _validate(books: Path, capsys: Any) -> str:
    """``playbook validate`` as a user runs it: exit 1, and the first problem's line."""
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(books)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.endswith("found\n"), err
    return err.splitlines()[0].removeprefix(f"{books}/")


@pytest.mark.parametrize(
    "text",
    [
        "{{ member.name * 10**8 }}",
        "{{ member.name|center(10**9) }}",
        "{{ member.name.rjust(10**9) }}",
        "{{ (member.messages + 1) ** 99999 }}",
        "{% for i in range(member.messages * 10**6) %}x{% endfor %}",
        "{% for c in member.name * 9000 %}{{ member.name * 9000 }}{% endfor %}",
        "{{ (member.name * 9000)|replace('', member.name * 9000) }}",
        "{{ member.name ~ '{:>99999999}' }}{{ ('{:>' ~ 99999999 ~ '}').format(1) }}",
    ],
    ids=["repeat", "center", "rjust", "power", "range", "loop-output", "replace", "format"],
)
def test_a_text_that_grows_with_the_data_skips_its_task_with_the_reason(text):
    """Known only at run time: the limits stop it before the work, that task is skipped and
    counted as an error, the run and its other tasks go on."""
    rule = f"playbook: p\nrules:\n  - id: r\n    when: {{event: message}}\n    do:\n      - dm: {json.dumps(text)}\n  - id: fine\n    when: {{event: message}}\n    do:\n      - post: ok\n"
    config = config_from({"p.yaml": rule}, COMMUNITY)
    result = plan(config, [{**_message(START, 1), "name": "Ann"}], explain=True)
    assert [task.rule for task in result.tasks] == ["fine"]
    assert result.counts["error"] == 1
    [note] = [note for note in result.notes if note.kind == "error"]
    assert "text of `dm` failed: " in note.reason and " — " in note.reason


def test_forty_nested_parentheses_still_render():
    text = "{{ " + "(" * 40 + "member.name" + ")" * 40 + " }}"
    config = config_from({"p.yaml": f"playbook: p\nrules:\n  - id: r\n    when: {{event: message}}\n    do:\n      - dm: {json.dumps(text)}\n"}, COMMUNITY)
    assert [task.text for task in plan(config, [{**_message(START, 1), "name": "Ann"}]).tasks] == ["Ann"]


# -- item 11: names and texts that would be markup or terminal control ---------------------

HOSTILE_NAMES = ["<script>alert(1)</script>", "# 我是标题", "[点我](https://evil.example)", "- [ ] 给我转账", "<img src=x onerror=alert(1)>", "\x1b]0;pwned\x07小美", "\x1b[31m红\x1b[0m", "\x9b2J清屏", "\u202e反转", "1. 列表", "www.evil.example", "*粗*_斜_`码`"]
ECHO = """\
playbook: echo
rules:
  - id: echo
    when: {event: message}
    do:
      - dm: "{{ member.name }}\\n{{ event.text }}"
"""


def _hostile_run(tmp_path: Path, fmt: str, *more: str) -> Any:
    books = tmp_path / "books"
    books.mkdir(exist_ok=True)
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "echo.yaml").write_text(ECHO, encoding="utf-8")
    events = [{**_message(START + index * 60, index + 1), "name": name, "text": f"{name}\n# 标题\n- [ ] 新任务\n> 引用"} for index, name in enumerate(HOSTILE_NAMES)]
    result = invoke("run", str(books), "--events", str(write_jsonl(tmp_path / "events.jsonl", events)), "--format", fmt, *more)
    assert result.exit_code == 0, result.output
    return result


def test_markdown_output_shows_names_and_texts_as_text(tmp_path):
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(_hostile_run(tmp_path, "md").stdout)
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert html.count("<h1>") == 1 and "<h2>" in html and "<h4>" not in html  # the title, the day, the operator: nothing else
    assert html.count("<p>[ ] <strong>") == len(HOSTILE_NAMES) and html.count("<li>") == 3 * len(HOSTILE_NAMES)  # per task: its checklist item and two details; none from the data
    assert "<em>" not in html and "<code>" not in html.replace("<code>t-", "")  # task ids are code, nothing else
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "# 我是标题" in html


def test_markdown_output_has_no_bare_link_for_gfm_to_autolink(tmp_path):
    output = _hostile_run(tmp_path, "md").stdout
    assert "https://" not in output and "www.evil" not in output


def test_markdown_keeps_the_links_the_playbooks_write_and_only_those(tmp_path):
    """A course schedule's address in a playbook's text is one the operator copies and sends:
    Markdown keeps it a link (it was written `https&#58;//…`, broken when copied from the raw
    file), in the plan and in `tasks list`. A member's address — even one that starts like the
    playbook's — stays inert."""
    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "echo.yaml").write_text(ECHO.replace('"{{ member.name }}\\n{{ event.text }}"', '"课程表：https://example.com/schedule?a=1_b 原话：{{ event.text }}"'), encoding="utf-8")
    said = "看这个 https://example.com/schedule?a=1_b.evil.io 和 https://evil.io/x"
    events = write_jsonl(tmp_path / "events.jsonl", [{**_message(START, 1), "text": said}])
    plan_md = invoke("run", str(books), "--events", str(events), "--format", "md", "--state", str(tmp_path / "ops.db")).stdout
    listed = invoke("tasks", "list", "--state", str(tmp_path / "ops.db"), "--format", "md").stdout
    for output in (plan_md, listed):
        assert "课程表：https://example.com/schedule?a=1\\_b 原话" in output  # the playbook's: a link (the _ escaped as everywhere)
        assert "https&#58;//example.com/schedule?a=1\\_b.evil.io" in output and "https&#58;//evil.io/x" in output  # the member's: inert
        assert output.count("https://") == 1


@pytest.mark.parametrize("fmt", ["table", "jsonl"])
def test_terminal_output_and_explain_carry_no_control_characters(tmp_path, fmt):
    result = _hostile_run(tmp_path, fmt, "--explain")
    text = result.stderr + (result.stdout if fmt == "table" else "")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert "红" in text and "小美" in text and "清屏" in text and "反转" in text  # the names themselves stay


def test_a_rejected_line_quoted_on_the_terminal_carries_no_control_characters(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    (books / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    (books / "echo.yaml").write_text(ECHO, encoding="utf-8")
    twice = {**_message(START, 1), "id": "\x1b]0;pwned\x07\x1b[2J"}
    result = invoke("run", str(books), "--events", str(write_jsonl(tmp_path / "events.jsonl", [twice, twice])), "--format", "jsonl")
    assert "rejected: the same message" in result.stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stderr)


def test_jsonl_keeps_the_names_exactly():
    """Programs read jsonl: escaping is for people's screens only."""
    config = config_from({"echo.yaml": ECHO}, COMMUNITY)
    result = plan(config, [{**_message(START, 1), "name": "\x1b[31m红", "text": "<b>"}])
    assert result.tasks[0].member_name == "\x1b[31m红" and result.tasks[0].text == "\x1b[31m红\n<b>"


def test_every_test_docs_reliability_names_exists():
    """docs/reliability.md promises a test per guarantee: a renamed or deleted test breaks that promise."""
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(tests/\w+\.py)::(\w+)", text))
    assert len(named) >= 30
    missing = [f"{path}::{name}" for path, name in sorted(named) if f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8")]
    assert missing == []
    assert all((ROOT / folder).is_dir() for folder in re.findall(r"`(tests/corpus/[\w-]+)`", text))


def test_only_patterns_that_cannot_backtrack_far_keep_pythons_engine():
    """Python's engine is faster per search; it is kept only where it does bounded work at each
    place of a text (one repetition of at most 10, nothing repeated inside it)."""
    import re

    from playbook_engine.patterns import any_of, compile_pattern

    for bounded in ("代购|刷单", "https?://|www\\.", "吗[?？]?$", "x{0,10}"):
        assert isinstance(compile_pattern(bounded), re.Pattern), bounded
    for unbounded in ("^(a+)+$", "a?a?a?a?", "[?？]\\s*$", "x{0,11}", "(ab|a){2}"):
        assert not isinstance(compile_pattern(unbounded), re.Pattern), unbounded
    both = any_of([compile_pattern("代购"), compile_pattern("https?://")])
    assert isinstance(getattr(both, "inner", both), re.Pattern)  # Python's engine, behind a screen of the characters a match holds
    mixed = any_of([compile_pattern("代购"), compile_pattern("[?？]\\s*$")])
    assert not isinstance(mixed, re.Pattern)
    assert mixed.search("在吗？\u3000") is not None and mixed.search("代购") is not None and mixed.search("你好") is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "a", " ", "{", "}", "%", "#", "\n"]), max_size=16).map("".join))
def test_the_least_length_of_a_text_is_found_in_one_pass_as_the_obvious_reading_finds_it(source):
    """`validate` measures a text outside its tags in one pass, so a text of 40,000 `{{`
    takes no longer than its length; it agrees with the regex that said it first."""
    from playbook_engine.loading import _static_length

    assert _static_length(source) == len(re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", source, flags=re.S).strip())
