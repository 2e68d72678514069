"""Each event source on its fixture: the exact events produced, in time order, with bad records rejected.

The fixtures in tests/fixtures/sources/ were written for this project: one small reading
group (several members, several days, joins, leaves, replies, mentions, one malformed record)
as each platform's export tool would write it.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from playbook_engine.contract import Event, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput
from playbook_engine.events import to_event
from playbook_engine.plugins import Registry

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")
REJECTED = "rejected"
GENERIC_MAP = {"ts": "time", "member": "user_id", "name": "nickname", "type": "event", "text": "content", "id": "msg_id", "reply_to": "reply_msg", "mentions": "at_users", "group": "chat"}


def read(registry: Registry, source: str, path: Path | str, **options: Any) -> list[tuple[Any, ...]]:
    """What a source yields, as (number, event) or (number, "rejected", reason)."""
    items = registry.sources[source].read(str(path), {"timezone": SHANGHAI, **options})
    return [(item.number, item.data) if isinstance(item, SourceRecord) else (item.line, REJECTED, item.reason) for item in items]


def with_group_name(expected: list[tuple[Any, ...]], name: str) -> list[tuple[Any, ...]]:
    """The same records, each event carrying the group's name as the export gives it."""
    return [(number, {**rest[0], "group_name": name}) if isinstance(rest[0], dict) else (number, *rest) for number, *rest in expected]


TELEGRAM = with_group_name([
    (1, {'ts': '2026-03-01T09:00:00+08:00', 'group': '1987654321', 'type': 'member_joined', 'member': 'user222', 'name': 'Bob', 'inviter': 'user111'}),
    (1, {'ts': '2026-03-01T09:00:00+08:00', 'group': '1987654321', 'type': 'member_joined', 'member': 'user333', 'name': '陈晨', 'inviter': 'user111'}),
    (2, {'ts': '2026-03-01T09:02:11+08:00', 'group': '1987654321', 'type': 'message', 'member': 'user111', 'id': '102', 'text': '欢迎 Bob 和 陈晨！', 'name': 'Alice Wang', 'mentions': ['user222', 'user333']}),
    (3, {'ts': '2026-03-01T09:05:40+08:00', 'group': '1987654321', 'type': 'message', 'member': 'user222', 'id': '103', 'text': '谢谢！请问这周读哪本书？', 'name': 'Bob', 'reply_to': '102'}),
    (4, {'ts': '2026-03-01T20:15:00+08:00', 'group': '1987654321', 'type': 'message', 'member': 'user333', 'id': '104', 'text': '《置身事内》，周六晚上讨论，问 @alice_wang', 'name': '陈晨'}),
    (5, {'ts': '2026-03-02T10:30:00+08:00', 'group': '1987654321', 'type': 'member_joined', 'member': 'user444', 'name': 'Dmitri', 'inviter': 'user111'}),
    (6, {'ts': '2026-03-02T10:31:05+08:00', 'group': '1987654321', 'type': 'message', 'member': 'user444', 'id': '106', 'text': 'Hi all, 我是 Dmitri', 'name': 'Dmitri'}),
    (7, REJECTED, "message 107: `date` 'yesterday' is not a time"),
    (8, {'ts': '2026-03-03T21:00:00+08:00', 'group': '1987654321', 'type': 'message', 'member': 'user222', 'id': '108', 'text': '欢迎 Dmitri', 'name': 'Bob', 'mentions': ['user444'], 'reply_to': '106'}),
    (9, {'ts': '2026-03-04T08:00:00+08:00', 'group': '1987654321', 'type': 'member_left', 'member': 'user444', 'name': 'Dmitri', 'reason': 'left'}),
    (10, {'ts': '2026-03-05T12:00:00+08:00', 'group': '1987654321', 'type': 'telegram_pin_message', 'id': '110', 'member': 'user111', 'name': 'Alice Wang'}),
    (11, {'ts': '2026-03-05T12:01:00+08:00', 'group': '1987654321', 'type': 'member_left', 'member': 'user333', 'name': '陈晨', 'reason': 'removed'}),
], "读书会 Telegram")

SLACK = [(number, {**rest[0], "group_name": {"C01GENERAL": "#general", "C02BOOKS": "#books"}[rest[0]["group"]]}) if isinstance(rest[0], dict) else (number, *rest) for number, *rest in [
    (1, {'ts': '2026-03-01T09:00:00+08:00', 'group': 'C01GENERAL', 'type': 'member_joined', 'member': 'U02BOB', 'name': 'Bob Li', 'inviter': 'U01ALICE'}),
    (2, {'ts': '2026-03-01T09:02:11+08:00', 'group': 'C01GENERAL', 'type': 'message', 'member': 'U01ALICE', 'name': 'Alice 王', 'id': '1772326931.000100', 'text': '欢迎 @Bob Li！本周读《置身事内》', 'mentions': ['U02BOB']}),
    (3, {'ts': '2026-03-01T09:03:00+08:00', 'group': 'C02BOOKS', 'type': 'message', 'member': 'U03CHEN', 'name': '陈晨', 'id': '1772326980.000100', 'text': '@Alice 王 书单我放在置顶了', 'mentions': ['U01ALICE']}),
    (4, {'ts': '2026-03-01T09:05:40+08:00', 'group': 'C01GENERAL', 'type': 'message', 'member': 'U02BOB', 'name': 'Bob Li', 'id': '1772327140.000100', 'text': '谢谢！请问周几讨论？', 'reply_to': '1772326931.000100'}),
    (5, {'ts': '2026-03-01T12:00:00+08:00', 'group': 'C01GENERAL', 'type': 'bot_message', 'id': '1772337600.000100', 'text': 'Reminder: 周六读书会', 'name': 'Reminder'}),
    (6, {'ts': '2026-03-02T10:30:00+08:00', 'group': 'C01GENERAL', 'type': 'member_joined', 'member': 'U04DMITRI', 'name': 'dmitri'}),
    (7, {'ts': '2026-03-02T10:31:05+08:00', 'group': 'C01GENERAL', 'type': 'message', 'member': 'U04DMITRI', 'name': 'dmitri', 'id': '1772418665.000100', 'text': 'Hi all, 我是 Dmitri'}),
    (8, REJECTED, 'general/2026-03-02.json message 3: message without `user`'),
    (9, {'ts': '2026-03-03T20:00:00+08:00', 'group': 'C02BOOKS', 'type': 'message', 'member': 'U01ALICE', 'name': 'Alice 王', 'id': '1772539200.000100', 'text': '@陈晨 周六你来主持？', 'mentions': ['U03CHEN']}),
    (10, {'ts': '2026-03-03T20:05:00+08:00', 'group': 'C02BOOKS', 'type': 'slack_channel_topic', 'member': 'U01ALICE', 'name': 'Alice 王', 'id': '1772539500.000100'}),
    (11, {'ts': '2026-03-04T08:00:00+08:00', 'group': 'C01GENERAL', 'type': 'member_left', 'member': 'U04DMITRI', 'name': 'dmitri', 'reason': 'left'}),
]]

DISCORD_GUILD = with_group_name([
    (1, {'ts': '2026-03-01T09:00:00+08:00', 'group': '880011223344556677', 'type': 'member_joined', 'member': '310000000000000002', 'name': 'Bob'}),
    (2, {'ts': '2026-03-01T09:00:01+08:00', 'group': '880011223344556677', 'type': 'bot_message', 'id': '1200000000000000002', 'text': 'Welcome @Bob! Read #rules', 'name': 'Carl-bot'}),
    (3, {'ts': '2026-03-01T09:02:11+08:00', 'group': '880011223344556677', 'type': 'message', 'member': '310000000000000001', 'name': 'Alice 王', 'id': '1200000000000000003', 'text': '欢迎 @Bob ！本周读《置身事内》', 'mentions': ['310000000000000002'], 'mention_names': {'310000000000000002': 'Bob'}}),
    (4, {'ts': '2026-03-01T09:05:40.250+08:00', 'group': '880011223344556677', 'type': 'message', 'member': '310000000000000002', 'name': 'Bob', 'id': '1200000000000000004', 'text': '谢谢！请问周几讨论？', 'mentions': ['310000000000000001'], 'mention_names': {'310000000000000001': 'Alice 王'}, 'reply_to': '1200000000000000003'}),
    (5, {'ts': '2026-03-02T10:30:00+08:00', 'group': '880011223344556677', 'type': 'member_joined', 'member': '310000000000000004', 'name': 'dmitri'}),
    (6, {'ts': '2026-03-02T20:15:00+08:00', 'group': '880011223344556677', 'type': 'message', 'member': '310000000000000003', 'name': '陈晨', 'id': '1200000000000000006', 'text': '周六晚上八点，@dmitri 也来吧', 'mentions': ['310000000000000004'], 'mention_names': {'310000000000000004': 'dmitri'}}),
    (7, REJECTED, 'general.json: message 1200000000000000007 has no `author` id'),
    (8, {'ts': '2026-03-03T21:00:00+08:00', 'group': '880011223344556677', 'type': 'message', 'member': '310000000000000004', 'name': 'dmitri', 'id': '1200000000000000008', 'text': "I'll be there", 'mentions': ['310000000000000003'], 'mention_names': {'310000000000000003': '陈晨'}, 'reply_to': '1200000000000000006'}),
    (9, {'ts': '2026-03-04T12:00:00+08:00', 'group': '880011223344556677', 'type': 'discord_ChannelPinnedMessage', 'id': '1200000000000000009', 'member': '310000000000000001', 'name': 'Alice 王'}),
], "读书会 Discord")

DISCORD_GROUP_DM = with_group_name([
    (1, {'ts': '2026-03-01T09:00:00+08:00', 'group': '950000000000000001', 'type': 'member_joined', 'member': '310000000000000002', 'name': 'Bob', 'inviter': '310000000000000001'}),
    (2, {'ts': '2026-03-01T09:10:00+08:00', 'group': '950000000000000001', 'type': 'message', 'member': '310000000000000002', 'name': 'Bob', 'id': '1300000000000000002', 'text': '谢谢拉我进来'}),
    (3, {'ts': '2026-03-02T09:10:00+08:00', 'group': '950000000000000001', 'type': 'message', 'member': '310000000000000003', 'name': '陈晨', 'id': '1300000000000000003', 'text': '这周我忙'}),
    (4, REJECTED, "message 1300000000000000004: `timestamp` 'not a time' is not a time"),
    (5, {'ts': '2026-03-03T08:00:00+08:00', 'group': '950000000000000001', 'type': 'member_left', 'member': '310000000000000002', 'name': 'Bob', 'reason': 'left'}),
    (6, {'ts': '2026-03-04T08:00:00+08:00', 'group': '950000000000000001', 'type': 'member_left', 'member': '310000000000000003', 'name': '陈晨', 'reason': 'removed'}),
], "读书会核心组")

WECHAT = [
    (2, {'ts': '2026-03-01T09:00:00+08:00', 'group': 'wechat_读书会', 'type': 'member_joined', 'member': 'wxid_xw', 'inviter': 'wxid_lily', 'name': '小王'}),
    (2, {'ts': '2026-03-01T09:00:00+08:00', 'group': 'wechat_读书会', 'type': 'member_joined', 'member': 'wxid_cc', 'inviter': 'wxid_lily', 'name': '陈晨'}),
    (3, {'ts': '2026-03-01T09:02:11+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_lily', 'name': '王丽', 'id': '2', 'text': '欢迎@小王\u2005@陈晨\u2005！本周读《置身事内》', 'mentions': ['wxid_xw', 'wxid_cc']}),
    (4, {'ts': '2026-03-01T09:05:40+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_xw', 'name': '小王', 'id': '3', 'text': '谢谢！请问周几讨论？'}),
    (5, {'ts': '2026-03-01T20:15:00+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_cc', 'name': '陈晨', 'id': '4', 'text': '[图片]'}),
    (6, {'ts': '2026-03-02T10:30:00+08:00', 'group': 'wechat_读书会', 'type': 'member_joined', 'member': 'wxid_lz', 'inviter': 'wxid_cc', 'name': '老张'}),
    (7, {'ts': '2026-03-02T10:31:05+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_lz', 'name': '老张', 'id': '6', 'text': '大家好，我是老张，做产品的'}),
    (8, {'ts': '2026-03-02T11:00:00+08:00', 'group': 'wechat_读书会', 'type': 'member_joined', 'member': 'name:阿梅', 'inviter': 'wxid_lily', 'name': '阿梅'}),
    (9, REJECTED, "'昨天' is not a time (write e.g. 2026-03-01 09:15:02, 2026-03-01T09:15:02+08:00 or epoch seconds)"),
    (10, REJECTED, '8 cells, but the header has 12 columns (an unquoted comma or line break?)'),
    (11, {'ts': '2026-03-03T21:00:00+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_xw', 'name': '小王', 'id': '9', 'text': '@老张\u2005周六来主持吗？', 'mentions': ['wxid_lz']}),
    (12, {'ts': '2026-03-03T21:05:00+08:00', 'group': 'wechat_读书会', 'type': 'message', 'member': 'wxid_lz', 'name': '老张', 'id': '10', 'text': '[引用回复]'}),
    (13, {'ts': '2026-03-04T08:00:00+08:00', 'group': 'wechat_读书会', 'type': 'member_left', 'member': 'name:阿梅', 'reason': 'left', 'name': '阿梅'}),
    (14, {'ts': '2026-03-05T12:00:00+08:00', 'group': 'wechat_读书会', 'type': 'member_left', 'member': 'wxid_lz', 'reason': 'removed', 'name': '老张'}),
    (15, {'ts': '2026-03-05T12:01:00+08:00', 'group': 'wechat_读书会', 'type': 'wechat_system', 'text': '"王丽"修改群名为"读书会·第12期"'}),
]

GENERIC_CSV = [
    (2, {'ts': '2026-03-01T09:00:00+08:00', 'type': 'member_joined', 'member': 'u-1002', 'name': '小王', 'group': 'readers-sh'}),
    (3, {'ts': '2026-03-01T09:02:11+08:00', 'type': 'message', 'member': 'u-1001', 'name': 'Lily', 'text': '欢迎小王！本周读《置身事内》', 'id': 'm-1', 'mentions': ['u-1002'], 'group': 'readers-sh'}),
    (4, {'ts': '2026-03-01T09:05:40+08:00', 'type': 'message', 'member': 'u-1002', 'name': '小王', 'text': '谢谢！请问周几讨论？', 'id': 'm-2', 'reply_to': 'm-1', 'group': 'readers-sh'}),
    (5, {'ts': '2026-03-02T10:30:00+08:00', 'type': 'member_joined', 'member': 'u-1003', 'name': '老张', 'group': 'readers-sh'}),
    (6, {'ts': '2026-03-02T10:31:05+08:00', 'type': 'message', 'member': 'u-1003', 'name': '老张', 'text': '大家好，我是老张, 做产品的', 'id': 'm-3', 'group': 'readers-sh'}),
    (7, REJECTED, "'2026-03-02 25:61:00' is not a time (write e.g. 2026-03-01 09:15:02, 2026-03-01T09:15:02+08:00 or epoch seconds)"),
    (8, {'ts': '2026-03-03T21:00:00+08:00', 'type': 'message', 'text': '没有发送人', 'id': 'm-5', 'group': 'readers-sh'}),
    (9, {'ts': '2026-03-03T21:05:00+08:00', 'type': 'message', 'member': 'u-1001', 'name': 'Lily', 'text': '周六谁来主持？', 'id': 'm-6', 'mentions': ['u-1002', 'u-1003'], 'group': 'readers-sh'}),
    (10, {'ts': '2026-03-04T08:00:00+08:00', 'type': 'member_left', 'member': 'u-1003', 'name': '老张', 'group': 'readers-sh'}),
    (11, {'ts': '2026-03-05T12:00:00+08:00', 'type': 'purchase', 'member': 'u-1002', 'name': '小王', 'text': '年卡', 'group': 'readers-sh'}),
]

CASES = [
    pytest.param("telegram", "telegram_result.json", {}, TELEGRAM, id="telegram"),
    pytest.param("slack", "slack_export", {}, SLACK, id="slack-folder"),
    pytest.param("discord", "discord_guild", {}, DISCORD_GUILD, id="discord-guild-folder"),
    pytest.param("discord", "discord_group_dm.json", {"private_chats": True}, DISCORD_GROUP_DM, id="discord-group-dm"),
    pytest.param("wechat", "wechat_读书会.csv", {}, WECHAT, id="wechat-memotrace"),
    pytest.param("csv", "generic_activity.csv", {"map": GENERIC_MAP}, GENERIC_CSV, id="csv-mapped"),
]


@pytest.mark.parametrize(("source", "fixture", "options", "expected"), CASES)
def test_source_yields_exactly_these_events(registry, source, fixture, options, expected):
    assert read(registry, source, FIXTURES / fixture, **options) == expected


@pytest.mark.parametrize(("source", "fixture", "options", "expected"), CASES)
def test_every_event_passes_the_contract_and_comes_in_time_order(registry, source, fixture, options, expected):
    """What a source yields is checked by the core like native events; only the planted bad records fail."""
    items = registry.sources[source].read(str(FIXTURES / fixture), {"timezone": SHANGHAI, **options})
    checked = [to_event(item, SHANGHAI) for item in items]
    times = [event.t for event in checked if isinstance(event, Event)]
    assert times == sorted(times)
    rejected = [item.line for item in checked if isinstance(item, Rejected)]
    planted = [number for number, *rest in expected if rest[0] == REJECTED]
    assert rejected[: len(planted)] == planted
    if source == "csv":
        assert rejected == [7, 8]  # line 8 has no member: the source passes it, the core rejects it
    else:
        assert rejected == planted


def test_slack_zip_with_a_top_folder_reads_like_the_folder(registry, tmp_path):
    archive = tmp_path / "读书会 Slack export Mar 1 2026 - Mar 5 2026.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in sorted((FIXTURES / "slack_export").rglob("*.json")):
            bundle.write(file, "export/" + file.relative_to(FIXTURES / "slack_export").as_posix())
    assert read(registry, "slack", archive) == SLACK


def test_slack_damaged_day_file_is_one_rejected_record_and_the_rest_is_read(registry, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "slack_export", export)
    (export / "books" / "2026-03-03.json").write_text('[{"type": "message", "user": "U01ALICE", "ts": "17725', encoding="utf-8")
    items = read(registry, "slack", export)
    assert [item for item in items if item[1] == REJECTED] == [
        (8, REJECTED, "general/2026-03-02.json message 3: message without `user`"),
        (9, REJECTED, "books/2026-03-03.json: not valid JSON (Unterminated string starting at, line 1) — the whole day file is skipped"),
    ]
    assert len(items) == len(SLACK) - 2 + 1


def test_discord_single_channel_file_keeps_its_own_numbers(registry):
    items = read(registry, "discord", FIXTURES / "discord_guild" / "general.json")
    assert [item[0] for item in items] == [1, 2, 3, 4, 5, 6]
    assert items[3] == (4, REJECTED, "message 1200000000000000007 has no `author` id")


def test_wechat_pywxdump_layout_without_wxids_derives_ids_from_names(registry, tmp_path):
    """PyWxDump writes names only: every member gets the stable id ``name:<display name>``."""
    export = tmp_path / "pywxdump.csv"
    export.write_text(
        "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n"
        '1,9001,系统通知,0,,12345@chatroom,"""小王""邀请""阿梅""加入了群聊",,2026-03-01 09:00:00\n'
        "2,9002,文本,0,阿梅,12345@chatroom,大家好 @小王\u2005,,2026-03-01 09:01:00\n"
        "3,9003,图片,0,小王,12345@chatroom,,,2026-03-01 09:02:00\n"
        '4,9004,系统通知,0,,12345@chatroom,"""阿梅""退出了群聊",,2026-03-02 09:00:00\n',
        encoding="utf-8",
    )
    assert read(registry, "wechat", export) == [
        (2, {"ts": "2026-03-01T09:00:00+08:00", "group": "12345@chatroom", "group_name": "pywxdump", "type": "member_joined", "member": "name:阿梅", "inviter": "name:小王", "name": "阿梅"}),
        (3, {"ts": "2026-03-01T09:01:00+08:00", "group": "12345@chatroom", "group_name": "pywxdump", "type": "message", "member": "name:阿梅", "name": "阿梅", "id": "9002", "text": "大家好 @小王", "mentions": ["name:小王"]}),
        (4, {"ts": "2026-03-01T09:02:00+08:00", "group": "12345@chatroom", "group_name": "pywxdump", "type": "message", "member": "name:小王", "name": "小王", "id": "9003", "text": "[图片]"}),
        (5, {"ts": "2026-03-02T09:00:00+08:00", "group": "12345@chatroom", "group_name": "pywxdump", "type": "member_left", "member": "name:阿梅", "reason": "left", "name": "阿梅"}),
    ]


def test_csv_without_map_uses_columns_named_like_fields_and_the_file_name_as_group(registry, tmp_path):
    export = tmp_path / "晨读群.csv"
    export.write_text("ts;member;name;text\n1772326800;u1;小王;早\n2026-03-01T09:30:00Z;u2;阿梅;早上好\n", encoding="utf-8")
    assert read(registry, "csv", export) == [
        (2, {"ts": "2026-03-01T09:00:00+08:00", "type": "message", "member": "u1", "name": "小王", "text": "早", "group": "晨读群"}),
        (3, {"ts": "2026-03-01T17:30:00+08:00", "type": "message", "member": "u2", "name": "阿梅", "text": "早上好", "group": "晨读群"}),
    ]


def test_json_source_reads_a_list_of_native_events(registry, tmp_path):
    export = tmp_path / "events.json"
    export.write_text('[{"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}, 3]', encoding="utf-8")
    assert read(registry, "json", export) == [
        (1, {"ts": "2026-03-01T09:00:00+08:00", "type": "message", "group": "g1", "member": "m1"}),
        (2, REJECTED, "an event must be a JSON object"),
    ]


def test_discord_bots_deleted_accounts_and_forwards_make_no_member_and_no_reply(registry, tmp_path):
    """Review 10: a bot added to the server was welcomed and DM'd as a new member; a question
    put to a bot (`@MEE6 怎么查等级？`) counted as one for another member, so nobody followed it
    up; every deleted account's messages made one member "Deleted User", who was nudged; a
    forward was read as an empty reply, so forwarding a question answered it."""
    person = {"id": "1200000000000000011", "name": "laowang", "nickname": "老王", "isBot": False}
    bot = {"id": "1300000000000000001", "name": "MEE6", "nickname": "MEE6", "isBot": True}
    deleted = {"id": "456226577798135808", "name": "Deleted User", "isBot": False}
    at = lambda minute: f"2026-03-01T20:{minute:02d}:00+08:00"  # noqa: E731
    messages = [
        {"id": "1", "type": "GuildMemberJoin", "timestamp": at(1), "content": "Joined the server.", "author": bot},
        {"id": "2", "type": "Default", "timestamp": at(2), "content": "@MEE6 怎么查等级？", "author": person, "mentions": [bot]},
        {"id": "3", "type": "Default", "timestamp": at(3), "content": "我先读第一章", "author": deleted},
        {"id": "4", "type": "Default", "timestamp": at(4), "content": "", "author": person, "reference": {"type": "Forward", "messageId": "2"}, "forwardedMessage": {"content": "怎么查等级？"}},
        {"id": "5", "type": "Reply", "timestamp": at(5), "content": "在 #等级 频道", "author": person, "reference": {"messageId": "2"}},
    ]
    export = tmp_path / "general.json"
    export.write_text(json.dumps({"guild": {"id": "9001", "name": "读书会"}, "channel": {"id": "9101", "type": "GuildTextChat", "name": "闲聊"}, "messages": messages}, ensure_ascii=False), encoding="utf-8")
    base = {"group": "9001", "group_name": "读书会"}
    assert [item[1] for item in read(registry, "discord", export)] == [
        {"ts": at(1), **base, "type": "discord_GuildMemberJoin", "id": "1", "name": "MEE6"},
        {"ts": at(2), **base, "type": "message", "member": "1200000000000000011", "name": "老王", "id": "2", "text": "@MEE6 怎么查等级？"},
        {"ts": at(3), **base, "type": "bot_message", "id": "3", "text": "我先读第一章", "name": "Deleted User"},
        {"ts": at(4), **base, "type": "message", "member": "1200000000000000011", "name": "老王", "id": "4", "text": "怎么查等级？"},
        {"ts": at(5), **base, "type": "message", "member": "1200000000000000011", "name": "老王", "id": "5", "text": "在 #等级 频道", "reply_to": "2"},
    ]


def test_csv_reads_a_chinese_sheet_as_people_keep_it(registry, tmp_path):
    """Review 10: a sheet kept by hand in Excel/WPS/腾讯文档 writes 进群/发言 in its 类型 column
    (read as unknown types: nobody welcomed), 2026年3月1日 9:06 and 下午3:05 times and Excel
    date serials (rejected), `u2、u3` lists (one id), and ids Excel rounded to 1.2E+18
    (several people made one member)."""
    export = tmp_path / "读书会3群.csv"
    export.write_text(
        "时间,成员ID,昵称,类型,内容,提到\n"
        "2026年3月1日 9:05,u1001,阿花,进群,,\n"
        "2026/3/1 下午3:05,u1001,阿花,发言,大家好、我是阿花,u1002、u1003\n"
        "46082.6875,u1002,小李,Message,欢迎,\n"
        "2026/3/1 晚上8:00,1.2E+18,某人,发言,我是谁,\n"
        "2026年3月2日 09:00:00,u1003,老王,移出,,\n",
        encoding="utf-8",
    )
    items = read(registry, "csv", export, map={"ts": "时间", "member": "成员ID", "name": "昵称", "type": "类型", "text": "内容", "mentions": "提到"})
    group = {"group": "读书会3群"}
    assert items == [
        (2, {"ts": "2026-03-01T09:05:00+08:00", "type": "member_joined", "member": "u1001", "name": "阿花", **group}),
        (3, {"ts": "2026-03-01T15:05:00+08:00", "type": "message", "member": "u1001", "name": "阿花", "text": "大家好、我是阿花", "mentions": ["u1002", "u1003"], **group}),
        (4, {"ts": "2026-03-01T16:30:00+08:00", "type": "message", "member": "u1002", "name": "小李", "text": "欢迎", **group}),
        (5, REJECTED, "`成员ID` '1.2E+18' is an id Excel turned into scientific notation: nobody can tell whose it is — format the column as Text in Excel/WPS before saving, or export again"),
        (6, {"ts": "2026-03-02T09:00:00+08:00", "type": "member_left", "reason": "removed", "member": "u1003", "name": "老王", **group}),
    ]


def test_csv_kept_newest_first_is_read_oldest_first(registry, tmp_path):
    """Review 10: a sheet sorted newest first lost every row but the first (each older than the
    one before), and the run planned from one row. Its rows come oldest first; a sheet in time
    order, or one whose first rows go both ways, is read as it is."""
    export = tmp_path / "群记录.csv"
    export.write_text("ts,member,text\n2026-03-03 21:00,u2,明天见\n2026-03-03 21:00,u3,晚安\n,u4,没有时间\n2026-03-02 09:00,u3,早\n2026-03-01 09:05,u1,大家好\n", encoding="utf-8")
    assert [item[0] for item in read(registry, "csv", export)] == [6, 5, 4, 3, 2]  # the row without a time rejected in its place
    export.write_text("ts,member,text\n2026-03-01 09:05,u1,大家好\n2026-03-03 21:00,u2,明天见\n2026-03-02 09:00,u3,早\n", encoding="utf-8")
    assert [item[0] for item in read(registry, "csv", export)] == [2, 3, 4]


def test_discord_folder_leaves_out_downloaded_media_and_names_its_csv_format(registry, tmp_path):
    """Review 10: an export made with --media keeps attachments in `<channel file>_Files/`; a
    member's posted .json there stopped the whole folder as "no `messages` list". And
    DiscordChatExporter's CSV format, which has no types, bots or mentions, was "not valid JSON"."""
    export = tmp_path / "guild"
    (export / "闲聊.json_Files").mkdir(parents=True)
    shutil.copy(FIXTURES / "discord_guild" / "general.json", export / "闲聊.json")
    (export / "闲聊.json_Files" / "reading-list-5A1B2.json").write_text('{"books": ["活着"]}', encoding="utf-8")
    assert read(registry, "discord", export) == read(registry, "discord", FIXTURES / "discord_guild" / "general.json")
    csv_export = tmp_path / "闲聊.csv"
    csv_export.write_text('\ufeff"AuthorID","Author","Date","Content","Attachments","Reactions"\n"1","a","2026/3/1 20:00","hi","",""\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match="DiscordChatExporter's CSV format, which keeps no message types, bots, nicknames or mentions — export the channels again in JSON"):
        read(registry, "discord", csv_export)


def test_csv_with_a_title_above_its_header_says_so(registry, tmp_path):
    """Review 10: a sheet's heading exported above its column names was met with "fix the column
    names in --map", which were right."""
    export = tmp_path / "记录.csv"
    export.write_text("读书会聊天记录（3月）,,\n时间,成员,内容\n2026-03-01 09:00,u1,早\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"记录.csv:2: the column names are on this line \(时间, 成员, 内容\); the line above them, 读书会聊天记录（3月）, is a title — delete it and save again"):
        read(registry, "csv", export, map={"ts": "时间", "member": "成员", "text": "内容"})


def test_csv_group_cell_merged_over_rows_is_their_group(registry, tmp_path):
    """Review 10: a 群 cell merged over several rows (合并单元格) keeps its value in the first row
    only; the rows below fell to the file's name as their group, one group split in two (a
    welcome in 读书会3群, the answer to the introduction in `sheet`)."""
    export = tmp_path / "sheet.csv"
    export.write_text("时间,群,成员ID,类型,内容\n2026/3/1 9:05,读书会3群,u1,进群,\n2026/3/1 9:07,,u1,发言,大家好\n2026/3/1 9:08,读书会4群,u2,发言,早\n2026/3/1 9:09,,u2,资料,\n", encoding="utf-8")
    items = read(registry, "csv", export, map={"ts": "时间", "group": "群", "member": "成员ID", "type": "类型", "text": "内容"})
    assert [(item[1]["type"], item[1]["group"]) for item in items] == [("member_joined", "读书会3群"), ("message", "读书会3群"), ("message", "读书会4群"), ("profile", "sheet")]
    export.write_text("时间,成员ID,内容\n2026/3/1 9:07,u1,大家好\n", encoding="utf-8")  # no group column at all: the file's name
    assert read(registry, "csv", export, map={"ts": "时间", "member": "成员ID", "text": "内容"})[0][1]["group"] == "sheet"
