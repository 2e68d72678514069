"""`playbook import` and `playbook run --source` on real-export fixtures, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from playbook_engine.cli import cli
from playbook_plugins import importer
from tests.test_sources import FIXTURES, GENERIC_MAP, WECHAT

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def playbook_cli() -> click.Group:
    """The CLI with the import command added, on a copy so the shared `cli` group is left as it was."""
    group = click.Group("playbook", commands=dict(cli.commands))
    importer.register_commands(cli=group)
    return group


def invoke(group: click.Group, registry, *args: str):
    return CliRunner().invoke(group, list(args), obj={"registry": registry})


def test_import_writes_native_json_lines_and_reports_rejects_with_record_numbers(playbook_cli, registry, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = invoke(playbook_cli, registry, "import", "--source", "wechat", "--timezone", "Asia/Shanghai", "--playbooks", str(ROOT / "examples" / "community-en"), "--rejects", str(rejects), str(FIXTURES / "wechat_读书会.csv"))
    assert result.exit_code == 0
    written = [json.loads(line) for line in result.stdout.splitlines()]
    assert written == [event for _, event, *rest in WECHAT if not rest]
    assert result.stdout.splitlines()[0] == '{"ts":"2026-03-01T09:00:00+08:00","type":"member_joined","group":"wechat_读书会","member":"wxid_xw","name":"小王","inviter":"wxid_lily"}'
    source = FIXTURES / "wechat_读书会.csv"
    assert result.stderr.splitlines() == [
        f"{source}:9: rejected: '昨天' is not a time (write e.g. 2026-03-01 09:15:02, 2026-03-01T09:15:02+08:00 or epoch seconds)",
        f"{source}:10: rejected: 8 cells, but the header has 12 columns (an unquoted comma or line break?)",
        f"warning: the account that made this export, 王丽 (wxid_lily), is neither in {ROOT / 'examples' / 'community-en' / 'community.yaml'} `staff:` nor any operator's `member:`,"
        " so the plan treats it as a member (welcomed, messaged, ranked) — it is the exporter's own account: write `member: wxid_lily` on that operator, or add it to `staff: [wxid_lily]`",
        "playbook import: read 15 events: 13 written (member_joined 4, member_left 2, message 6, wechat_system 1), 2 rejected · times in Asia/Shanghai (from --timezone)",
    ]
    assert [json.loads(line)["line"] for line in rejects.read_text(encoding="utf-8").splitlines()] == [9, 10]


def test_import_output_round_trips_through_the_native_source(playbook_cli, registry, tmp_path):
    """A converted file is read back by `--source jsonl` with nothing rejected."""
    result = invoke(playbook_cli, registry, "import", "--source", "csv", "--map", ",".join(f"{k}={v}" for k, v in GENERIC_MAP.items()), "--timezone", "Asia/Shanghai", "--playbooks", str(ROOT / "examples" / "community-en"), str(FIXTURES / "generic_activity.csv"))
    assert result.exit_code == 0
    converted = tmp_path / "events.jsonl"
    converted.write_text(result.stdout, encoding="utf-8")
    items = list(registry.sources["jsonl"].read(str(converted), {}))
    assert len(items) == 8 and all(type(item).__name__ == "SourceRecord" for item in items)
    assert "read 10 events: 8 written (member_joined 2, member_left 1, message 4, purchase 1), 2 rejected" in result.stderr


def test_the_import_summary_is_in_the_communitys_language(playbook_cli, registry):
    """The shipped community is zh-CN: the summary and the time-zone line are Chinese, as
    `playbook run` writes its own; rejects stay as they are (errors about the input)."""
    result = invoke(playbook_cli, registry, "import", "--source", "wechat", "--playbooks", str(ROOT / "playbooks"), str(FIXTURES / "wechat_读书会.csv"))
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == (
        f"playbook import: 读取 15 条事件：写出 13（member_joined 4，member_left 2，message 6，wechat_system 1），拒绝 2 · 时间按 Asia/Shanghai（取自 {ROOT / 'playbooks' / 'community.yaml'}）"
    )


def test_import_of_a_truncated_export_exits_1_naming_the_file(playbook_cli, registry, tmp_path):
    cut = tmp_path / "result.json"
    cut.write_bytes((FIXTURES / "telegram_result.json").read_bytes()[:1500])
    result = invoke(playbook_cli, registry, "import", "--source", "telegram", str(cut))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {cut}: the JSON ends too early (near byte ")


def test_import_takes_the_time_zone_from_playbooks_community_yaml(playbook_cli, registry, tmp_path, monkeypatch):
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "community.yaml").write_text("community:\n  name: x\n  timezone: America/New_York\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke(playbook_cli, registry, "import", "--source", "discord", "--private-chats", str(FIXTURES / "discord_group_dm.json"))
    assert result.stdout.splitlines()[0].startswith('{"ts":"2026-02-28T20:00:00-05:00"')
    assert result.stderr.rstrip().endswith("times in America/New_York (from playbooks/community.yaml)")


WELCOME = """\
playbook: welcome
rules:
  - id: hello
    when: {event: member_joined}
    do:
      - mention: "欢迎 {{ member.name }}"
"""


def test_run_reads_an_export_directly_with_source(registry, tmp_path):
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "community.yaml").write_text("community:\n  name: 读书会\n  timezone: Asia/Shanghai\n  channel: wechat\n", encoding="utf-8")
    (directory / "welcome.yaml").write_text(textwrap.dedent(WELCOME), encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    result = CliRunner().invoke(cli, ["run", str(directory), "--events", str(FIXTURES / "telegram_result.json"), "--source", "telegram", "--format", "jsonl", "--rejects", str(rejects)], obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert [(task["member"], task["text"]) for task in map(json.loads, result.stdout.splitlines())] == [("user222", "欢迎 Bob"), ("user333", "欢迎 陈晨"), ("user444", "欢迎 Dmitri")]
    assert "read 12 events: 11 accepted, 1 rejected" in result.stderr
    assert json.loads(rejects.read_text(encoding="utf-8"))["line"] == 7


EXPORTER = "导出这份聊天记录的账号"
ZH_COMMUNITY = "community:\n  name: 读书会\n  timezone: Asia/Shanghai\n  channel: wechat\n  language: zh-CN\n"


def _exporter_warnings(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line for line in result.stderr.splitlines() if EXPORTER in line]


def test_the_exporters_own_account_is_named_until_community_yaml_calls_it_staff(playbook_cli, registry, tmp_path):
    """A WeChat CSV holds its exporter's own messages (`IsSender` 1): an operator's account, which
    the plan would welcome, message and rank first unless community.yaml names it as staff. The
    import and a run reading the export both say so, with the id to write; once community.yaml
    names it (`staff:`, or an operator's `member:`) they say nothing."""
    directory = tmp_path / "pb"
    directory.mkdir()
    (directory / "welcome.yaml").write_text(textwrap.dedent(WELCOME), encoding="utf-8")
    export = str(FIXTURES / "wechat_读书会.csv")

    def both() -> list[list[str]]:
        imported = invoke(playbook_cli, registry, "import", "--source", "wechat", "--playbooks", str(directory), export)
        ran = invoke(playbook_cli, registry, "run", str(directory), "--events", export, "--source", "wechat", "--format", "jsonl")
        return [_exporter_warnings(imported), _exporter_warnings(ran)]

    (directory / "community.yaml").write_text(ZH_COMMUNITY, encoding="utf-8")
    for warnings in both():
        assert warnings == [
            f"注意：导出这份聊天记录的账号 王丽（wxid_lily）不在 {directory / 'community.yaml'} 的 `staff:` 里，也不是哪位运营的 `member:`："
            "计划会把它当成普通群成员（欢迎、私信、上排行榜）。这是导出人自己的账号——在那位运营的条目里写上 `member: wxid_lily`，或加进 `staff: [wxid_lily]`"
        ]
    for declared in ("  staff: [wxid_lily]\n", "  operators:\n    - {id: op-lily, name: Lily, member: wxid_lily}\n"):
        (directory / "community.yaml").write_text(ZH_COMMUNITY + declared, encoding="utf-8")
        assert both() == [[], []], declared


def test_a_pywxdump_export_names_its_exporter_by_the_id_its_rows_get(playbook_cli, registry):
    """PyWxDump writes 我 as the talker of the exporter's rows, which become member `me`: the
    warning names that id, the one community.yaml must list."""
    result = invoke(playbook_cli, registry, "import", "--source", "wechat", "--timezone", "Asia/Shanghai", "--playbooks", str(ROOT / "playbooks"), str(FIXTURES / "pywxdump_读书群.csv"))
    [warning] = _exporter_warnings(result)
    assert "（me）" in warning and "`staff: [me]`" in warning
    assert any(json.loads(line).get("member") == "me" for line in result.stdout.splitlines())


def test_the_warnings_about_groups_are_in_the_communitys_language(playbook_cli, registry):
    """The shipped community is zh-CN: a group community.yaml does not list, and the tasks no
    operator takes, are said in Chinese, as the summary is."""
    result = invoke(playbook_cli, registry, "run", str(ROOT / "playbooks"), "--events", str(FIXTURES / "wechat_读书会.csv"), "--source", "wechat", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    community = ROOT / "playbooks" / "community.yaml"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("注意：") and EXPORTER not in line]
    assert warnings == [
        f"注意：{community} 的 `groups:` 里没有这 1 个群：wechat_读书会（6 条消息）——在那里写上它们（id、name），群才有名字、有运营负责",
        f"注意：13 个任务没有运营负责：{community} 里没有哪位运营的 `groups:` 列了这个群：wechat_读书会（13 个任务）——把它们分别加进某位运营的 `groups:`，"
        "或者让一位运营不写 `groups:`，由 TA 接下其他人没列的所有群",
    ]


@pytest.mark.parametrize(("export", "source"), [
    ("wechat_读书会.csv", "wechat"), ("pywxdump_读书群.csv", "wechat"), ("generic_activity.csv", "csv"),
    ("telegram_result.json", "telegram"), ("discord_guild/general.json", "discord"),
])
def test_an_export_run_as_json_lines_says_which_source_reads_it(playbook_cli, registry, export, source):
    """An operator's first run is often her export itself, without `--source`: its lines are
    rejected as not JSON. The run then says which source's input it looks like, and how to read it."""
    path = FIXTURES / export
    result = invoke(playbook_cli, registry, "run", str(ROOT / "playbooks"), "--events", str(path), "--format", "jsonl")
    assert result.exit_code == 1  # not one event read: no quiet day, an error (the hint says what to do)
    [hint] = [line for line in result.stderr.splitlines() if "的大多数行不是 JSON Lines 事件" in line]
    assert f"`--source {source}`" in hint and f"playbook import --source {source} {path}" in hint


def test_native_events_in_one_json_list_are_pointed_to_the_json_source(playbook_cli, registry, tmp_path):
    listed = tmp_path / "events.json"
    event = '{"ts": "2026-03-01T10:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "hi"}'
    listed.write_text(f"[\n  {event},\n  {event}\n]\n", encoding="utf-8")  # the last item's line is an event line: most are not
    result = invoke(playbook_cli, registry, "run", str(ROOT / "playbooks"), "--events", str(listed), "--format", "jsonl")
    assert "它像是 `--source json` 读的导出" in result.stderr


def test_an_export_folder_run_as_json_lines_is_an_error_naming_the_sources_that_read_folders(playbook_cli, registry):
    completed = subprocess.run([sys.executable, "-m", "playbook_engine.cli", "run", str(ROOT / "playbooks"), "--events", str(FIXTURES / "slack_export"), "--format", "jsonl"], capture_output=True, text=True, check=False)
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert "is a folder, not a file of JSON Lines events" in completed.stderr and "`--source slack`" in completed.stderr


QQ_TEXT = "\ufeff消息记录（此消息记录为文本格式，不支持重新导入）\r\n================================================================\r\n消息对象:读书会\r\n" \
    "================================================================\r\n\r\n2024-03-01 9:15:02 张三(12345678)\r\n大家好\r\n\r\n2024-03-01 9:16:40 李四(87654321)\r\n{\"a\": 1}\r\n"


@pytest.mark.parametrize("source", [None, "csv", "wechat"], ids=["default", "csv", "wechat"])
@pytest.mark.parametrize("command", ["run", "import"])
def test_qqs_own_text_export_is_one_error_line_whatever_the_source(tmp_path, source, command):
    """QQ 消息管理器's .txt is read by no source: one line saying so and what to do, exit 1 —
    not a rejection for each of its lines, nor a `--map ts=` the header cannot answer."""
    export = tmp_path / "读书会.txt"
    export.write_bytes(QQ_TEXT.encode("utf-8"))
    chosen = ["--source", source or "jsonl"] if source or command == "import" else []
    args = ["run", str(ROOT / "playbooks"), "--events", str(export), *chosen] if command == "run" else ["import", *chosen, "--timezone", "Asia/Shanghai", str(export)]
    result = subprocess.run([sys.executable, "-c", "from playbook_engine.cli import main; main()", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"error: {export}:1:1: this is QQ's own text export (消息记录（此消息记录为文本格式…), which no source reads — write its messages out as "
        "a CSV with a header (time, QQ number, nickname, text) and read that with `--source csv --map ts=…,member=…,name=…,text=…` (docs/sources.md, Generic CSV)\n"
    )


def test_a_file_that_only_quotes_qqs_header_is_read_as_usual(playbook_cli, registry, tmp_path):
    """Only a file that opens with QQ's header is refused: an event whose text quotes it is an event."""
    events = tmp_path / "events.jsonl"
    events.write_text('{"ts": "2026-03-01T10:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "消息记录（此消息记录为文本格式，不支持重新导入）"}\n', encoding="utf-8")
    result = invoke(playbook_cli, registry, "run", str(ROOT / "playbooks"), "--events", str(events), "--format", "jsonl")
    assert result.exit_code == 0 and "read 1 event" in result.stderr.replace("读取 1 条事件", "read 1 event"), result.stderr


def test_no_export_hint_when_some_lines_are_events_or_the_file_is_no_export(playbook_cli, registry, tmp_path):
    broken = tmp_path / "events.jsonl"
    broken.write_text("not json at all\nstill not\n", encoding="utf-8")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"ts": "2026-03-01T10:00:00+08:00", "type": "message", "group": "g1", "member": "m1", "text": "hi"}\na,b,c,d\n', encoding="utf-8")
    for path, status in ((broken, 1), (mixed, 0)):  # not one event in the broken file: an error, with no hint
        result = invoke(playbook_cli, registry, "run", str(ROOT / "playbooks"), "--events", str(path), "--format", "jsonl")
        assert result.exit_code == status and "JSON Lines 事件" not in result.stderr
        assert ("none of its 2 line(s) is an event" in str(result.exception)) == (status == 1)


def test_installed_command_line_has_import_and_exits_1_on_a_wrong_file(tmp_path):
    """Plugin commands are added by `main()`, so this goes through the real entry point."""
    completed = subprocess.run(
        [sys.executable, "-c", "from playbook_engine.cli import main; main()", "import", "--source", "slack", "--timezone", "UTC", str(FIXTURES / "telegram_result.json")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"error: {FIXTURES / 'telegram_result.json'}: not a Slack export")


@pytest.mark.parametrize(
    ("source", "given"),
    [
        pytest.param("json", '[{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}]', id="json"),
        pytest.param("csv", "ts,group,member\n2026-03-01 09:00:00,g1,m1\n", id="csv"),
    ],
)
def test_streamable_sources_read_standard_input(playbook_cli, registry, source, given):
    result = CliRunner().invoke(playbook_cli, ["import", "--source", source, "--timezone", "Asia/Shanghai", "-"], input=given.encode(), obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert result.stdout == '{"ts":"2026-03-01T09:00:00+08:00","type":"message","group":"g1","member":"m1"}\n'


def test_bad_bytes_in_a_csv_on_standard_input_reject_only_their_row(playbook_cli, registry):
    """Standard input is decoded as files are, counting the bytes that are not UTF-8: the row
    check looks for them once there has been one."""
    given = b"ts,group,member\n2026-03-01 09:00:00,g1,m1\n2026-03-01 09:01:00,g1,\xd6\xd0\n2026-03-01 09:02:00,g1,m3\n"
    result = CliRunner().invoke(playbook_cli, ["import", "--source", "csv", "--timezone", "Asia/Shanghai", "-"], input=given, obj={"registry": registry})
    assert result.exit_code == 0, result.output
    assert [line[-5:] for line in result.stdout.splitlines()] == ['"m1"}', '"m3"}']
    assert "-:3：已拒绝：不是 UTF-8 文本" in result.stderr  # the default playbooks' community is zh-CN


def test_a_second_wechat_groups_file_run_into_the_same_state_is_said_not_planned(playbook_cli, registry, tmp_path):
    """WeChat exports one CSV per group. Run one after the other into one --state, the second
    group's lines are all older than the watermark the first set: they cannot be planned, and
    the run says so, naming the group and what to do, instead of counting them as processed."""
    header = "localId,Type,IsSender,CreateTime,StrContent,NickName,Sender\n"
    first = tmp_path / "一群_utf8.csv"
    first.write_text(header + "1,1,0,2026-03-01 09:00:00,早,小王,wxid_xw\n2,1,0,2026-03-01 21:00:00,晚安,小王,wxid_xw\n", encoding="utf-8")
    second = tmp_path / "二群_utf8.csv"
    second.write_text(header + "1,1,0,2026-03-01 10:00:00,大家好,阿梅,wxid_am\n2,1,0,2026-03-01 20:00:00,打卡,阿梅,wxid_am\n", encoding="utf-8")
    books = str(ROOT / "examples" / "community-en")
    state = str(tmp_path / "ops.db")
    assert invoke(playbook_cli, registry, "run", books, "--source", "wechat", "--events", str(first), "--state", state, "--format", "jsonl").exit_code == 0
    result = invoke(playbook_cli, registry, "run", books, "--source", "wechat", "--events", str(second), "--state", state, "--format", "jsonl")
    assert result.exit_code == 0
    assert "warning: 2 events of a group no earlier --state run read: 二群 (2 events) — older than the state's watermark (2026-03-01T21:00:00+00:00), they were not planned;" in result.stderr
    assert "merge" in result.stderr
    # In a zh-CN community, in Chinese.
    books, state = str(ROOT / "playbooks"), str(tmp_path / "zh.db")
    assert invoke(playbook_cli, registry, "run", books, "--source", "wechat", "--events", str(first), "--state", state, "--format", "jsonl").exit_code == 0
    result = invoke(playbook_cli, registry, "run", books, "--source", "wechat", "--events", str(second), "--state", state, "--format", "jsonl")
    assert "注意：之前的 `--state` 运行都没读过这个群的 2 条事件：二群（2 条事件）——它们早于状态的水位线（2026-03-01T21:00:00+08:00），没有计划；" in result.stderr
    assert "按时间合并" in result.stderr


def test_import_with_a_broken_community_yaml_says_so_or_goes_on_with_timezone(playbook_cli, registry, tmp_path):
    """community.yaml is read for the zone (and the summary's language): broken YAML is an error
    naming the file without --timezone, and with --timezone the import goes on, in English."""
    (tmp_path / "community.yaml").write_text("community:\n  name: [x\n", encoding="utf-8")
    source = str(FIXTURES / "wechat_读书会.csv")
    refused = invoke(playbook_cli, registry, "import", "--source", "wechat", "--playbooks", str(tmp_path), source)
    assert refused.exit_code == 1 and f"{tmp_path / 'community.yaml'}: not valid YAML" in refused.output and "Traceback" not in refused.output
    given = invoke(playbook_cli, registry, "import", "--source", "wechat", "--timezone", "Asia/Shanghai", "--playbooks", str(tmp_path), source)
    assert given.exit_code == 0 and "times in Asia/Shanghai (from --timezone)" in given.stderr
