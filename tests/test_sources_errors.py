"""Malformed inputs: a clear error naming the file when the whole input is unusable, a counted reject otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbook_engine.errors import InvalidInput
from tests.test_sources import FIXTURES, REJECTED, SHANGHAI, read


def truncated(tmp_path: Path, fixture: Path, keep: float = 0.6) -> Path:
    data = fixture.read_bytes()
    cut = tmp_path / fixture.name
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


def fails(registry, source: str, path: Path | str, **options) -> str:
    with pytest.raises(InvalidInput) as caught:
        list(registry.sources[source].read(str(path), {"timezone": SHANGHAI, **options}))
    return str(caught.value)


@pytest.mark.parametrize(("source", "fixture"), [("telegram", "telegram_result.json"), ("discord", "discord_group_dm.json")])
def test_truncated_json_export_is_an_error_naming_the_file(registry, tmp_path, source, fixture):
    cut = truncated(tmp_path, FIXTURES / fixture)
    message = fails(registry, source, cut, private_chats=True)
    assert message.startswith(f"{cut}: the JSON ends too early (near byte ")
    assert message.endswith("the file is truncated (an interrupted export or copy); export it again")


@pytest.mark.parametrize(
    ("source", "fixture", "expected"),
    [
        pytest.param("telegram", "discord_group_dm.json", "this looks like a DiscordChatExporter file — use `--source discord`", id="telegram-given-discord"),
        pytest.param("discord", "telegram_result.json", "not a DiscordChatExporter JSON file (no `guild` and `channel` before `messages`) — this looks like a Telegram Desktop export: use `--source telegram`", id="discord-given-telegram"),
        pytest.param("telegram", "slack_export/users.json", "the file is a JSON list, not an object with `messages`", id="telegram-given-a-list"),
        pytest.param("telegram", "generic_activity.csv", "not valid JSON (near byte", id="telegram-given-csv"),
        pytest.param("slack", "telegram_result.json", "not a Slack export — pass the export folder or the .zip", id="slack-given-a-file"),
        pytest.param("slack", "discord_guild", "no channels.json — this is not a Slack workspace export", id="slack-given-another-folder"),
        pytest.param("discord", "slack_export", "this looks like a Slack export (channels.json, users.json) — use `--source slack`", id="discord-given-slack-folder"),
        pytest.param("json", "telegram_result.json", "`--source json` reads a JSON list of events", id="json-given-an-object"),
    ],
)
def test_wrong_file_for_the_source_says_so(registry, source, fixture, expected):
    message = fails(registry, source, FIXTURES / fixture)
    assert message.startswith(str(FIXTURES / fixture))
    assert expected in message


def test_wechat_source_on_a_csv_without_its_columns_lists_what_is_missing(registry):
    message = fails(registry, "wechat", FIXTURES / "generic_activity.csv")
    assert message == (
        f"{FIXTURES / 'generic_activity.csv'}: missing columns `Type or type_name or 类型` (for type), "
        "`NickName or talker or Remark or 发送人` (for name); the header has: time, user_id, nickname, event, content, msg_id, reply_msg, at_users, chat — "
        "is this a WeChat chat export? Accepted columns are listed in docs/sources.md; name others with --map"
    )


def test_csv_map_naming_a_missing_column_shows_the_header(registry):
    message = fails(registry, "csv", FIXTURES / "generic_activity.csv", map={"ts": "time", "member": "uid"})
    assert message == (
        f"{FIXTURES / 'generic_activity.csv'}: missing column `uid` (for member); the header has: time, user_id, nickname, event, content, msg_id, reply_msg, at_users, chat — "
        "fix the column names in --map (they are matched exactly, case included)"
    )


def test_csv_without_a_time_column_asks_for_map(registry):
    assert "no time column — name it with --map ts=COLUMN" in fails(registry, "csv", FIXTURES / "generic_activity.csv")


def test_map_with_an_unknown_field_lists_the_fields(registry):
    assert fails(registry, "csv", FIXTURES / "generic_activity.csv", map={"timestamp": "time"}).startswith("--map: unknown event field timestamp — the fields are: ts, type, member")


@pytest.mark.parametrize("source", ["wechat", "csv"])
def test_a_csv_saved_as_gbk_by_chinese_excel_is_read_as_the_same_export(registry, tmp_path, source):
    """Excel or WPS on a Chinese Windows saves "CSV" as GB 18030 (GBK): the export is read as it
    is, with the records its UTF-8 original gives (what GBK cannot hold, an emoji, aside)."""
    text = (FIXTURES / "wechat_读书会.csv").read_text(encoding="utf-8-sig").encode("gbk", "ignore").decode("gbk")
    (tmp_path / "utf8").mkdir()
    (tmp_path / "gbk").mkdir()
    original, saved = tmp_path / "utf8" / "群聊.csv", tmp_path / "gbk" / "群聊.csv"
    original.write_text(text, encoding="utf-8")
    saved.write_bytes(text.encode("gbk"))
    options = {"map": {"ts": "CreateTime", "text": "StrContent", "member": "Sender"}} if source == "csv" else {}
    records = read(registry, source, saved, **options)
    assert records == read(registry, source, original, **options)
    assert any("置身事内" in str(item) for item in records)  # the texts, in Chinese


def test_a_utf8_csv_with_a_damaged_byte_stays_utf8_and_only_that_row_is_rejected(registry, tmp_path):
    """One bad byte in an otherwise UTF-8 export is damage, not another encoding: read as GB
    18030, every Chinese character would be garbled."""
    data = (FIXTURES / "wechat_读书会.csv").read_bytes()
    second_row = data.index(b"\n", data.index(b"\n") + 1) + 1
    damaged = tmp_path / "wechat_读书会.csv"
    damaged.write_bytes(data[:second_row] + data[second_row:].replace("，".encode(), b"\xff", 1))
    original = read(registry, "wechat", FIXTURES / "wechat_读书会.csv")
    assert [number for number, *_ in original].count(7) == 1  # the line "大家好，我是老张"
    assert read(registry, "wechat", damaged) == [(7, REJECTED, "not UTF-8 text") if item[0] == 7 else item for item in original]


@pytest.mark.parametrize("source", ["wechat", "csv"])
def test_a_csv_neither_utf8_nor_gbk_is_an_error_with_the_fix(registry, tmp_path, source):
    export = tmp_path / "export.csv"
    export.write_bytes("CreateTime,StrContent,NickName,Sender,Type,IsSender\n2026-03-01 09:00:00,café naïve déjà vu,André,wxid_a,1,0\n".encode("latin-1"))
    message = fails(registry, source, export, **({"map": {"ts": "CreateTime"}} if source == "csv" else {}))
    assert message.startswith(f"{export}: not UTF-8 text (byte ")
    assert "iconv -f GBK -t UTF-8" in message


def test_non_utf8_json_is_an_error(registry, tmp_path):
    export = tmp_path / "result.json"
    export.write_bytes((FIXTURES / "telegram_result.json").read_text(encoding="utf-8").encode("gb18030"))
    assert fails(registry, "telegram", export).startswith(f"{export}: not UTF-8 text (near byte ")


def test_a_few_bad_bytes_late_in_a_csv_reject_only_their_row(registry, tmp_path):
    export = tmp_path / "big.csv"
    padding = "".join(f"2026-03-01 09:{i // 60:02d}:{i % 60:02d},m1,早上好 第{i}条\n" for i in range(2000))
    export.write_bytes(b"ts,member,text\n" + padding.encode() + b"2026-03-02 09:00:00,m2,\xd6\xd0\xce\xc4\n2026-03-02 09:01:00,m3,ok\n")
    items = read(registry, "csv", export)
    assert len(items) == 2002
    assert items[-2] == (2002, REJECTED, "not UTF-8 text")
    assert items[-1][1]["member"] == "m3"


@pytest.mark.parametrize("source", ["telegram", "wechat", "slack", "discord"])
def test_sources_that_need_a_path_refuse_standard_input(registry, source):
    assert fails(registry, source, "-").startswith(f"-: `--source {source}` ")


def test_a_folder_given_to_a_one_file_source_is_an_error(registry):
    assert fails(registry, "csv", FIXTURES / "slack_export") == f"{FIXTURES / 'slack_export'}: is a folder — pass the .csv file"
