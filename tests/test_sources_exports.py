"""Exports as people have them: older layouts, whole-account files, private chats, threads,
legacy message kinds — each on a small fixture written in the tool's exact layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from playbook_engine.contract import SourceReport
from playbook_engine.errors import InvalidInput
from tests.test_sources import FIXTURES, REJECTED, read

ACCOUNT = FIXTURES / "telegram_account" / "result.json"


def fails(registry, source: str, path: Path | str, **options) -> str:
    with pytest.raises(InvalidInput) as caught:
        read(registry, source, path, **options)
    return str(caught.value)


# -- Telegram -------------------------------------------------------------------------------

GO = {"group": "1034567890", "group_name": "Go 夜读 2016"}


def test_telegram_before_2020_integer_ids_self_removal_and_the_group_as_inviter(registry):
    """from_id/actor_id as bare numbers are the same users as `user…`; Bob removing himself left;
    `"inviter": "Group"` (the group's own link) names nobody; a `mention_name` piece of `text`
    (no `text_entities` then) is a mention."""
    assert read(registry, "telegram", FIXTURES / "telegram_2016_result.json") == [
        (1, {"ts": "2016-05-01T10:00:00+08:00", **GO, "type": "member_joined", "member": "user11111111", "name": "Alice"}),
        (1, {"ts": "2016-05-01T10:00:00+08:00", **GO, "type": "member_joined", "member": "user22222222", "name": "Bob", "inviter": "user11111111"}),
        (2, {"ts": "2016-05-01T10:01:00+08:00", **GO, "type": "message", "member": "user22222222", "id": "2", "text": "大家好", "name": "Bob"}),
        (3, {"ts": "2016-05-01T11:00:00+08:00", **GO, "type": "member_joined", "member": "user33333333", "name": "Carol"}),
        (4, {"ts": "2016-05-01T11:02:00+08:00", **GO, "type": "message", "member": "user33333333", "id": "4", "text": "你好 Bob", "name": "Carol", "mentions": ["user22222222"], "reply_to": "2"}),
        (5, {"ts": "2016-05-02T09:00:00+08:00", **GO, "type": "member_joined", "member": "name:Dave", "name": "Dave", "inviter": "user11111111"}),
        (6, {"ts": "2016-05-03T09:00:00+08:00", **GO, "type": "member_left", "member": "user22222222", "name": "Bob", "reason": "left"}),
        (7, {"ts": "2016-05-03T10:00:00+08:00", **GO, "type": "member_left", "member": "user33333333", "name": "Carol", "reason": "removed"}),
        (8, REJECTED, "message 8 has no `from_id` (sender) — export the chat again with Telegram Desktop, format JSON"),
    ]


def test_a_whole_account_export_without_chat_lists_the_chats_and_how_to_pick_one(registry):
    assert fails(registry, "telegram", ACCOUNT) == (
        f"{ACCOUNT}: a whole-account export with 5 chats — pick the group to read with --chat NAME_OR_ID, e.g. --chat 1555000111:\n"
        "  your Saved Messages — saved_messages, id 11111111, 1 message — private, refused without --private-chats\n"
        "  Bob — personal_chat, id 22222222, 2 messages — private, refused without --private-chats\n"
        "  读书会 — private_supergroup, id 1555000111, 3 messages\n"
        "  读书会 — public_channel, id 1555000222, 0 messages — a channel, refused without --private-chats\n"
        "  Old group — private_group, id 1444000111, 1 message"
    )


class _CountingFile:
    """A file whose bytes read are counted: how many passes a source makes over it."""

    def __init__(self, path: Path, counted: list[int]):
        self._file, self._counted = open(path, "rb"), counted

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._counted[0] += len(data)
        return data

    def readinto(self, buffer) -> int:
        size = self._file.readinto(buffer)
        self._counted[0] += size or 0
        return size

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()


def test_a_chat_of_a_whole_account_export_is_read_in_one_pass_over_the_file(registry, tmp_path, monkeypatch):
    """The pass that lists the chats copies the picked chat's messages on the way: a small group
    in a large account file is not read for again twice (names, then events) — a few-GB export
    took minutes for any chat. The events are the same as before."""
    import playbook_plugins.source_telegram as telegram

    big = tmp_path / "result.json"
    friend = [{"id": n, "type": "message", "date": "2024-03-01T09:00:00", "date_unixtime": "1709254800", "from": "Friend", "from_id": "user5", "text": "x" * 200} for n in range(2000)]
    group = [
        {"id": 1, "type": "service", "date": "2024-03-01T09:00:00", "date_unixtime": "1709254800", "actor": "Alice", "actor_id": "user1", "action": "invite_members", "members": ["Bob"]},
        {"id": 2, "type": "message", "date": "2024-03-01T09:01:00", "date_unixtime": "1709254860", "from": "Bob", "from_id": "user2", "text": "大家好"},
    ]
    big.write_text(json.dumps({"personal_information": {"user_id": 1, "first_name": "Alice"}, "chats": {"list": [
        {"name": "Friend", "type": "personal_chat", "id": 5, "messages": friend},
        {"name": "小群", "type": "private_supergroup", "id": 777, "messages": group},
    ]}}, ensure_ascii=False), encoding="utf-8")
    counted = [0]
    monkeypatch.setattr(telegram, "open_binary", lambda path, source: _CountingFile(Path(path), counted))
    events = read(registry, "telegram", big, chat="777")
    assert [(number, event["type"], event["member"]) for number, event in events] == [(1, "member_joined", "user2"), (2, "message", "user2")]
    assert events[0][1]["inviter"] == "user1"  # Bob's join names him by his id, learnt from his message: the names pass ran
    size = big.stat().st_size
    assert size <= counted[0] < 1.2 * size  # one pass (it was three: list, names, events)


def test_a_chat_whose_id_follows_its_messages_is_still_read(registry, tmp_path):
    """Telegram writes a chat's name, type and id before its messages; a file with them after (a
    tool that rewrote it) cannot be copied on the way, and is read as before, by a second pass."""
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"chats": {"list": [
        {"messages": [{"id": 1, "type": "message", "date": "2024-03-01T09:01:00", "date_unixtime": "1709254860", "from": "Bob", "from_id": "user2", "text": "hi"}], "name": "小群", "type": "private_supergroup", "id": 777},
    ]}}, ensure_ascii=False), encoding="utf-8")
    assert [(number, event["text"], event["group"]) for number, event in read(registry, "telegram", path, chat="777")] == [(1, "hi", "777")]


def test_chat_picks_one_chat_by_id_or_name_including_left_chats(registry):
    by_id = read(registry, "telegram", ACCOUNT, chat="1555000111")
    assert [(number, event["type"], event.get("member"), event["group"], event["group_name"]) for number, event in by_id] == [
        (1, "member_joined", "user22222222", "1555000111", "读书会"),
        (2, "message", "user22222222", "1555000111", "读书会"),
        (3, "message", "user11111111", "1555000111", "读书会"),
    ]
    assert read(registry, "telegram", ACCOUNT, chat="Old group") == [
        (1, {"ts": "2019-03-01T18:00:00+08:00", "group": "1444000111", "type": "message", "member": "user33333333", "id": "1", "text": "bye", "name": "Carol", "group_name": "Old group"}),
    ]


@pytest.mark.parametrize(
    ("chat", "message"),
    [
        pytest.param("读书会", "2 chats are named '读书会' — pass the id instead:\n  读书会 — private_supergroup, id 1555000111", id="ambiguous-name"),
        pytest.param("nope", "no chat named or numbered 'nope' in this export — --chat takes a name or an id from this list:\n", id="unknown"),
    ],
)
def test_a_chat_that_is_not_one_chat_of_the_export_is_refused_with_the_list(registry, chat, message):
    assert message in fails(registry, "telegram", ACCOUNT, chat=chat)


def test_chat_on_a_one_chat_export_must_name_that_chat(registry):
    assert fails(registry, "telegram", FIXTURES / "telegram_result.json", chat="Other") == (
        f"{FIXTURES / 'telegram_result.json'}: this export holds one chat, '读书会 Telegram' (id 1987654321), not 'Other' — leave out --chat, or pass the export of that chat"
    )
    assert len(read(registry, "telegram", FIXTURES / "telegram_result.json", chat="1987654321")) == 12


def test_a_whole_account_export_names_its_own_account_when_it_wrote_in_the_chat(registry):
    """A whole-account export says whose it is (`personal_information`): that account's messages
    in the chat are an operator's, which community.yaml must name as staff (a warning otherwise)."""
    wrote = SourceReport()
    read(registry, "telegram", ACCOUNT, chat="1555000111", report=wrote)
    assert wrote.exporters == {"user11111111": "Alice"}
    silent = SourceReport()
    read(registry, "telegram", ACCOUNT, chat="Old group", report=silent)
    assert silent.exporters == {}  # Alice never wrote there: nothing the plan could take her for


@pytest.mark.parametrize(("path", "chat"), [(FIXTURES / "telegram_personal.json", None), (ACCOUNT, "Bob")], ids=["personal-export", "personal-chat-of-account"])
def test_telegram_private_chats_are_refused_unless_asked_for(registry, path, chat):
    options = {"chat": chat} if chat else {}
    assert fails(registry, "telegram", path, **options) == (
        f"{path}: Bob is a chat between two people (personal_chat), not a group — playbooks plan group work (welcomes, group posts, rankings), "
        "which a private chat would get one of every week; export a group instead, or pass --private-chats to plan for it anyway"
    )
    events = read(registry, "telegram", path, private_chats=True, **options)
    assert events[0][1]["member"] == "user22222222" and events[0][1]["group"] == "22222222"


def telegram_chat(tmp_path: Path, messages: list[dict], kind: str = "public_supergroup") -> Path:
    """A one-chat Telegram Desktop export, written as the exporter does."""
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "TG读书会", "type": kind, "id": 1888, "messages": messages}, ensure_ascii=False), encoding="utf-8")
    return path


def tg_message(number: int, sender: str, name: str, text: object, **extra: object) -> dict:
    return {"id": number, "type": "message", "date": "2024-03-01T09:15:00", "date_unixtime": str(1709255700 + number), "from": name, "from_id": sender, "text": text, **extra}


TG = {"group": "1888", "group_name": "TG读书会"}


def test_telegram_posts_by_the_group_itself_or_a_linked_channel_are_no_members(registry, tmp_path):
    """An anonymous admin posts as `channel<the group's id>`, a linked channel as `channel<its id>`:
    bot_message events (no member), as Slack's and Discord's bots; their service actions name
    no member and invite nobody, and a member named like the group is still that member."""
    export = telegram_chat(tmp_path, [
        tg_message(1, "channel1888", "TG读书会", "今日打卡", author="Lily", text_entities=[]),
        tg_message(2, "channel1777", "读书会频道", ["新文章 ", {"type": "link", "text": "https://t.me/x"}]),
        tg_message(3, "user2002", "TG读书会", "我的名字和群一样"),
        {"id": 4, "type": "service", "date_unixtime": "1709255800", "actor": "TG读书会", "actor_id": "channel1888", "action": "invite_members", "members": ["TG读书会", "Bob"]},
        {"id": 5, "type": "service", "date_unixtime": "1709255801", "actor": "TG读书会", "actor_id": "channel1888", "action": "pin_message", "message_id": 1},
        {"id": 6, "type": "service", "date_unixtime": "1709255802", "actor": "TG读书会", "actor_id": "channel1888", "action": "remove_members", "members": ["TG读书会"]},
    ])
    assert read(registry, "telegram", export) == [
        (1, {"ts": "2024-03-01T09:15:01+08:00", **TG, "type": "bot_message", "id": "1", "text": "今日打卡", "name": "TG读书会"}),
        (2, {"ts": "2024-03-01T09:15:02+08:00", **TG, "type": "bot_message", "id": "2", "text": "新文章 https://t.me/x", "name": "读书会频道"}),
        (3, {"ts": "2024-03-01T09:15:03+08:00", **TG, "type": "message", "member": "user2002", "id": "3", "text": "我的名字和群一样", "name": "TG读书会"}),
        (4, {"ts": "2024-03-01T09:16:40+08:00", **TG, "type": "member_joined", "member": "user2002", "name": "TG读书会"}),
        (4, {"ts": "2024-03-01T09:16:40+08:00", **TG, "type": "member_joined", "member": "name:Bob", "name": "Bob"}),
        (5, {"ts": "2024-03-01T09:16:41+08:00", **TG, "type": "telegram_pin_message", "id": "5", "name": "TG读书会"}),
        (6, {"ts": "2024-03-01T09:16:42+08:00", **TG, "type": "member_left", "member": "user2002", "name": "TG读书会", "reason": "removed"}),
    ]


def test_telegram_channel_posts_plan_nothing_for_the_channel_but_keep_the_group_alive(workspace, tmp_path):
    """A month of the group posting as itself while one member goes quiet: the quiet member gets
    the silence DM, the group its weekly post; the group itself and the channel get nothing."""
    folder, elsewhere = workspace
    posts = [tg_message(day, "channel1888" if day % 2 else "channel1777", "TG读书会" if day % 2 else "读书会频道", f"第 {day} 天", date_unixtime=str(1709255700 + day * 86400)) for day in range(1, 15)]
    export = telegram_chat(tmp_path, [tg_message(0, "user2002", "Alice", "打卡"), *posts])
    result = playbook("run", str(folder), "--source", "telegram", "--events", str(export), "--format", "jsonl", "--until", "2024-03-16", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    tasks = [json.loads(line) for line in result.stdout.splitlines()]
    assert {task["member"] for task in tasks} == {None, "user2002"}
    assert [task["text"] for task in tasks if task["member"] == "user2002"] == ["Alice 好久不见"]
    assert sum(task["text"] == "本周话题" and task["group"] == "1888" for task in tasks) == 2


def test_a_telegram_channel_export_is_refused_as_a_private_chat_is(registry, tmp_path):
    """A channel's export has only the channel's posts: nothing to welcome, answer or rank."""
    export = telegram_chat(tmp_path, [tg_message(1, "channel1888", "TG读书会", "频道新文章")], kind="public_channel")
    assert fails(registry, "telegram", export) == (
        f"{export}: TG读书会 is a public channel (public_channel), not a group — its posts are the channel's own, with no members' messages "
        "to plan welcomes, answers or rankings from; export the channel's discussion group instead, or pass --private-chats to read its posts anyway (as bot_message events)"
    )
    assert [event["type"] for _, event in read(registry, "telegram", export, private_chats=True)] == ["bot_message"]
    assert "is a private channel (private_channel)" in fails(registry, "telegram", telegram_chat(tmp_path, [], kind="private_channel"))
    assert "is a public channel (public_channel)" in fails(registry, "telegram", ACCOUNT, chat="1555000222")


def test_telegram_mentions_in_an_export_before_text_entities_are_read_from_the_text(registry, tmp_path):
    """Exports before about 2020-10 have no `text_entities`: a `mention_name` piece of `text`
    is the mention a newer export lists there; a plain `@username` still has no id."""
    old = {"text": ["Welcome ", {"type": "mention_name", "text": "Alice", "user_id": 2002}, " and ", {"type": "mention", "text": "@bob"}, "!"]}
    new = {**old, "text_entities": [{"type": "plain", "text": "Welcome "}, {"type": "mention_name", "text": "Alice", "user_id": 2002}, {"type": "plain", "text": " and "}, {"type": "mention", "text": "@bob"}, {"type": "plain", "text": "!"}]}
    events = [read(registry, "telegram", telegram_chat(tmp_path, [tg_message(1, "user1001", "Lily", **layout)]))[0][1] for layout in (old, new)]
    assert events[0] == events[1] == {"ts": "2024-03-01T09:15:01+08:00", **TG, "type": "message", "member": "user1001", "id": "1", "text": "Welcome Alice and @bob!", "name": "Lily", "mentions": ["user2002"]}
    assert "mentions" not in read(registry, "telegram", telegram_chat(tmp_path, [tg_message(1, "user1001", "Lily", old["text"], text_entities=[])]))[0][1]


# -- Discord --------------------------------------------------------------------------------

FRONTEND = FIXTURES / "discord_frontend"
SERVER = {"group": "880011223344556677", "group_name": "读书会 Discord"}


def test_discord_frontend_folder_reads_threads_keeps_a_repeated_message_once_and_leaves_dms_out(registry):
    """The thread's file repeats its starter message (same id): read once, counted as a duplicate."""
    report = SourceReport()
    assert read(registry, "discord", FRONTEND, report=report) == [
        (1, {"ts": "2026-03-01T09:00:00+08:00", **SERVER, "type": "message", "member": "310000000000000002", "name": "Bob", "id": "1400000000000000001", "text": "早上好"}),
        (2, {"ts": "2026-03-01T09:10:00+08:00", **SERVER, "type": "message", "member": "310000000000000001", "name": "Alice 王", "id": "1400000000000000002", "text": "周六讨论第三章，在帖子里报名"}),
        (4, {"ts": "2026-03-01T09:10:05+08:00", **SERVER, "type": "discord_ThreadCreated", "id": "1400000000000000003", "member": "310000000000000001", "name": "Alice 王"}),
        (5, {"ts": "2026-03-01T09:20:00+08:00", **SERVER, "type": "message", "member": "310000000000000003", "name": "陈晨", "id": "1400000000000000004", "text": "我报名 @Alice 王", "mentions": ["310000000000000001"], "mention_names": {"310000000000000001": "Alice 王"}, "reply_to": "1400000000000000002"}),
        (6, {"ts": "2026-03-01T09:30:00+08:00", **SERVER, "type": "message", "member": "310000000000000002", "name": "Bob", "id": "1400000000000000005", "text": "+1"}),
    ]
    assert report.counts["duplicates"] == 1
    assert report.warnings == ["Direct Messages - Private - bob [960000000000000001].json: a direct message (bob), left out — pass --private-chats to plan for private conversations too"]


def test_discord_dms_in_a_folder_are_read_when_asked_for(registry):
    events = read(registry, "discord", FRONTEND, private_chats=True)
    assert events[0] == (1, {"ts": "2026-03-01T08:00:00+08:00", "group": "960000000000000001", "group_name": "bob", "type": "message", "member": "310000000000000002", "name": "Bob", "id": "1500000000000000001", "text": "私聊"})


def test_a_discord_group_dm_file_is_refused_unless_asked_for(registry):
    path = FIXTURES / "discord_group_dm.json"
    assert fails(registry, "discord", path) == (
        f"{path}: 读书会核心组 is a group DM, not a server channel — playbooks plan group work (welcomes, group posts, rankings), "
        "which a private conversation would get one of every week; export a server, or pass --private-chats to plan for it anyway"
    )


def test_duplicates_are_counted_in_the_import_and_the_run_summaries(workspace):
    folder, elsewhere = workspace
    imported = playbook("import", "--source", "discord", "--playbooks", str(folder), str(FRONTEND), cwd=elsewhere)
    assert imported.stdout.count("\n") == 5
    assert imported.stderr.splitlines()[-2:] == [
        "warning: Direct Messages - Private - bob [960000000000000001].json: a direct message (bob), left out — pass --private-chats to plan for private conversations too",
        f"playbook import: read 5 events: 5 written (discord_ThreadCreated 1, message 4), 0 rejected · 1 duplicate message (same id) kept once · times in Asia/Shanghai (from {folder / 'community.yaml'})",
    ]
    ran = playbook("run", str(folder), "--source", "discord", "--events", str(FRONTEND), "--format", "jsonl", cwd=elsewhere)
    assert "read 5 events: 5 accepted, 0 rejected" in ran.stderr and "1 duplicate message (same id) kept once" in ran.stderr


# -- Slack ----------------------------------------------------------------------------------

SLACK_2017 = FIXTURES / "slack_2017_export"


def test_slack_file_comments_are_their_authors_messages_with_mentions_and_dms_are_left_out(registry):
    report = SourceReport()
    assert read(registry, "slack", SLACK_2017, report=report) == [
        (1, {"ts": "2017-06-01T15:00:00+08:00", "group": "C01GENERAL", "type": "message", "member": "U02BOB", "name": "Bob Li", "id": "1496300400.000002", "text": "书单我传上来了", "group_name": "#general"}),
        (2, {"ts": "2017-06-01T15:10:00+08:00", "group": "C01GENERAL", "type": "message", "member": "U03CHEN", "name": "陈晨", "id": "1496301000.000003", "text": "第二本我读过 @Alice 王", "mentions": ["U01ALICE"], "group_name": "#general"}),
        (3, REJECTED, "general/2017-06-01.json message 3: file comment without `comment.user`"),
    ]
    assert report.warnings == ["2 direct message conversations (dms.json, mpims.json) left out — playbooks plan group work; pass --private-chats to plan for them too"]


def test_slack_dms_and_group_dms_are_read_when_asked_for_named_by_their_people(registry):
    events = read(registry, "slack", SLACK_2017, private_chats=True)
    assert [(event["group"], event["group_name"]) for _, event, *_ in events[:2]] == [("D0DMBOB", "Alice 王、Bob Li"), ("G0MPIM", "Alice 王、Bob Li、陈晨")]


def slack_export(tmp_path: Path, messages: list[dict]) -> Path:
    """A one-channel, one-day Slack export: Lily and Alice, a current app's bot user, Slackbot
    left out of users.json (as it often is), and a user created for an app."""
    folder = tmp_path / "slack"
    (folder / "general").mkdir(parents=True)
    users = [
        {"id": "U01LILY", "name": "lily", "is_bot": False, "profile": {"display_name": "Lily"}},
        {"id": "U02ALICE", "name": "alice", "is_bot": False, "profile": {"display_name": "", "real_name": "Alice Wang"}},
        {"id": "U09APP", "name": "standup-bot", "is_bot": True, "profile": {"real_name": "Standup Bot", "bot_id": "B09APP"}},
        {"id": "U08WF", "name": "workflow", "is_bot": False, "is_app_user": True, "profile": {"real_name": "Workflow"}},
    ]
    (folder / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (folder / "channels.json").write_text(json.dumps([{"id": "C0GENERAL", "name": "general"}]), encoding="utf-8")
    (folder / "general" / "2024-03-01.json").write_text(json.dumps(messages, ensure_ascii=False), encoding="utf-8")
    return folder


GENERAL = {"group": "C0GENERAL", "group_name": "#general"}


def test_slack_app_bots_and_slackbot_are_bots_even_with_a_user(registry, tmp_path):
    """Apps post as their bot user *with* `bot_id`/`bot_profile` and no subtype; users.json marks
    bot users `is_bot` (app users `is_app_user`); Slackbot is `USLACKBOT`. All are bot_message,
    a bot's channel_join joins nobody, and a mention of a bot is no member's mention."""
    export = slack_export(tmp_path, [
        {"type": "message", "subtype": "channel_join", "ts": "1709255702.000100", "user": "U09APP", "text": "<@U09APP> has joined the channel", "inviter": "U01LILY"},
        {"type": "message", "ts": "1709255760.000100", "user": "U09APP", "bot_id": "B09APP", "app_id": "A09", "text": "Daily standup: post your update", "bot_profile": {"id": "B09APP", "name": "Standup Bot", "app_id": "A09"}},
        {"type": "message", "ts": "1709255761.000100", "user": "USLACKBOT", "text": "Reminder: read 20 pages."},
        {"type": "message", "ts": "1709255762.000100", "user": "U08WF", "text": "Form submitted"},
        {"type": "message", "ts": "1709255763.000100", "user": "U02ALICE", "bot_profile": {"id": "B07", "name": "Polly"}, "text": "Poll: which book?"},
        {"type": "message", "subtype": "channel_leave", "ts": "1709255764.000100", "user": "U09APP", "text": "<@U09APP> has left the channel"},
        {"type": "message", "ts": "1709255800.000100", "user": "U02ALICE", "text": "thanks <@U09APP> and <@U01LILY>"},
        {"type": "message", "subtype": "channel_join", "ts": "1709255900.000100", "user": "U02ALICE", "text": "<@U02ALICE> has joined the channel"},
    ])
    assert read(registry, "slack", export) == [
        (1, {"ts": "2024-03-01T09:15:02+08:00", **GENERAL, "type": "slack_channel_join", "id": "1709255702.000100", "name": "Standup Bot"}),
        (2, {"ts": "2024-03-01T09:16:00+08:00", **GENERAL, "type": "bot_message", "id": "1709255760.000100", "text": "Daily standup: post your update", "name": "Standup Bot"}),
        (3, {"ts": "2024-03-01T09:16:01+08:00", **GENERAL, "type": "bot_message", "id": "1709255761.000100", "text": "Reminder: read 20 pages.", "name": "Slackbot"}),
        (4, {"ts": "2024-03-01T09:16:02+08:00", **GENERAL, "type": "bot_message", "id": "1709255762.000100", "text": "Form submitted", "name": "Workflow"}),
        (5, {"ts": "2024-03-01T09:16:03+08:00", **GENERAL, "type": "bot_message", "id": "1709255763.000100", "text": "Poll: which book?", "name": "Polly"}),
        (6, {"ts": "2024-03-01T09:16:04+08:00", **GENERAL, "type": "slack_channel_leave", "id": "1709255764.000100", "name": "Standup Bot"}),
        (7, {"ts": "2024-03-01T09:16:40+08:00", **GENERAL, "type": "message", "member": "U02ALICE", "name": "Alice Wang", "id": "1709255800.000100", "text": "thanks @Standup Bot and @Lily", "mentions": ["U01LILY"]}),
        (8, {"ts": "2024-03-01T09:18:20+08:00", **GENERAL, "type": "member_joined", "member": "U02ALICE", "name": "Alice Wang"}),
    ]


@pytest.mark.parametrize(("text", "shown"), [
    pytest.param("<@U02ALICE> it's at <#C0GENERAL|general> pinned", "@Alice it's at #general pinned", id="channel-link"),
    pytest.param("see <#C0GENERAL>", "see #C0GENERAL", id="channel-link-without-name"),
    pytest.param("<!here> <!channel> <!everyone>", "@here @channel @everyone", id="broadcast"),
    pytest.param("ask <!subteam^S012|@editors>, due <!date^1709255702^{date_short}|Mar 1>", "ask @editors, due Mar 1", id="group-and-date"),
    pytest.param("see <https://example.com/a?b=1&amp;c=2|the page> or <https://example.com>", "see the page or https://example.com", id="links"),
    pytest.param("mail <mailto:lily@example.com|Lily>", "mail Lily", id="mailto"),
    pytest.param("1 &lt; 2 &amp;&amp; 3 &gt; 2, <not markup", "1 < 2 && 3 > 2, <not markup", id="escapes"),
])
def test_slack_markup_is_shown_as_people_read_it(text, shown):
    from playbook_plugins.source_slack import readable_text

    assert readable_text(text, {"U02ALICE": "Alice"}) == shown


# -- WeChat (PyWxDump CSV) ------------------------------------------------------------------

ROOM = {"group": "20001@chatroom", "group_name": "pywxdump_读书群"}


def test_pywxdump_old_layout_json_cells_system_lines_quotes_and_recalls(registry):
    """Older PyWxDump: `content` cells hold {"src", "msg"} JSON and `talker` is the wxid (我 for
    yours); a 引用回复 keeps the member's own words and points at the quoted message."""
    assert read(registry, "wechat", FIXTURES / "pywxdump_读书群.csv") == [
        (2, {"ts": "2024-10-04T21:00:00+08:00", **ROOM, "type": "member_joined", "member": "name:阿梅", "inviter": "name:小虫", "name": "阿梅"}),
        (3, {"ts": "2024-10-04T21:25:04+08:00", **ROOM, "type": "message", "member": "wxid_amei01", "id": "7002", "text": "哦吼"}),
        (4, {"ts": "2024-10-04T21:26:00+08:00", **ROOM, "type": "message", "member": "wxid_xiaochong", "id": "7003", "text": "欢迎@阿梅\u2005"}),
        (5, {"ts": "2024-10-04T21:27:30+08:00", **ROOM, "type": "message", "member": "wxid_xiaochong", "id": "7004", "text": "这是我们的读书群", "reply_to": "7002"}),
        (6, {"ts": "2024-10-04T21:30:00+08:00", **ROOM, "type": "message", "member": "me", "id": "7005", "text": "[图片]"}),
        (7, {"ts": "2024-10-04T21:31:00+08:00", **ROOM, "type": "wechat_revoke", "text": '"小虫" 撤回了一条消息', "member": "name:小虫", "name": "小虫", "revoked": "7003"}),
        (8, {"ts": "2024-10-05T08:00:00+08:00", **ROOM, "type": "member_left", "member": "name:阿梅", "reason": "left", "name": "阿梅"}),
        (9, {"ts": "2024-10-05T08:01:00+08:00", **ROOM, "type": "wechat_system", "text": '"小虫" 拍了拍 "阿梅"'}),
    ]


def test_memotrace_app_messages_by_subtype_and_a_recall_as_a_plain_system_line(registry, tmp_path):
    """MemoTrace's type 49 is told by its SubType: a quote reply (57, whose words its CSV does not
    keep) is a reply, not a file; a file, a link. A recall written as a plain system line
    (type 10000) is the same wechat_revoke as PyWxDump's 消息撤回 row, not a wechat_system."""
    export = tmp_path / "群_utf8.csv"
    export.write_text(
        "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender\n"
        "1,5,1,0,0,1709255702,2,请问周末活动在哪？,2024-03-01 09:15:02,阿花,阿花,wxid_ahua\n"
        "2,5,49,57,0,1709255760,2,,2024-03-01 09:16:00,Lily,Lily,wxid_lily\n"
        "3,5,49,6,0,1709255770,2,,2024-03-01 09:16:10,Lily,Lily,wxid_lily\n"
        "4,5,49,5,0,1709255775,2,,2024-03-01 09:16:15,Lily,Lily,wxid_lily\n"
        "5,5,49,99,0,1709255776,2,,2024-03-01 09:16:16,Lily,Lily,wxid_lily\n"
        '6,5,10000,0,0,1709255780,4,"""Lily"" 撤回了一条消息",2024-03-01 09:16:20,,,\n',
        encoding="utf-8",
    )
    events = read(registry, "wechat", export)
    assert [event.get("text") for _, event in events[1:5]] == ["[引用回复]", "[文件]", "[链接]", "[链接/文件]"]
    assert events[5][1] == {"ts": "2024-03-01T09:16:20+08:00", "group": "群", "type": "wechat_revoke", "text": '"Lily" 撤回了一条消息', "member": "wxid_lily", "name": "Lily"}


def test_a_quote_of_a_message_not_in_the_file_keeps_the_text_without_a_link(registry, tmp_path):
    export = tmp_path / "群.csv"
    export.write_text(
        "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n"
        '1,8001,引用回复,0,wxid_abc123,1@chatroom,"同意\n\n[引用](2024-01-01 10:00:00)老张:明天见",,2024-10-04 21:00:00\n',
        encoding="utf-8",
    )
    assert read(registry, "wechat", export) == [(2, {"ts": "2024-10-04T21:00:00+08:00", "group": "1@chatroom", "group_name": "群", "type": "message", "member": "wxid_abc123", "id": "8001", "text": "同意"})]


# -- the command line: import then run, run --source, from anywhere --------------------------

COMMUNITY = """\
community:
  name: 夜读
  timezone: Asia/Shanghai
  channel: telegram
  groups:
    - {id: g1, name: 一群}
"""

PLAYBOOKS = {
    "welcome.yaml": 'playbook: welcome\nrules:\n  - id: hello\n    when: {event: member_joined}\n    do:\n      - mention: "欢迎 {{ member.name }} 加入{{ group.name }}"\n',
    "weekly.yaml": 'playbook: weekly\nrules:\n  - id: topic\n    when: {schedule: "0 9 * * 1"}\n    do:\n      - post: "本周话题"\n',
    "quiet.yaml": 'playbook: quiet\nrules:\n  - id: nudge\n    when: {silence: 1d}\n    do:\n      - dm: "{{ member.name }} 好久不见"\n',
}


def playbook(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point (plugin commands included), started in ``cwd``."""
    return subprocess.run([sys.executable, "-c", "from playbook_engine.cli import main; main()", *args], capture_output=True, text=True, cwd=cwd, input=stdin, check=False)


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A playbooks folder, and another folder to start the commands from."""
    folder = tmp_path / "club"
    folder.mkdir()
    (folder / "community.yaml").write_text(COMMUNITY, encoding="utf-8")
    for name, text in PLAYBOOKS.items():
        (folder / name).write_text(text, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return folder, elsewhere


def test_import_then_run_plans_what_run_source_plans_from_any_working_directory(workspace):
    """The 2016 export has times without an offset: both paths read them in the community's zone."""
    folder, elsewhere = workspace
    export = str(FIXTURES / "telegram_2016_result.json")
    direct = playbook("run", str(folder), "--source", "telegram", "--events", export, "--format", "jsonl", "--until", "2016-05-20", cwd=elsewhere)
    assert direct.returncode == 0, direct.stderr
    converted = playbook("import", "--source", "telegram", "--playbooks", str(folder), export, cwd=elsewhere)
    assert converted.returncode == 0, converted.stderr
    events = elsewhere / "events.jsonl"
    events.write_text(converted.stdout, encoding="utf-8")
    again = playbook("run", str(folder), "--events", str(events), "--format", "jsonl", "--until", "2016-05-20", cwd=elsewhere)
    assert again.stdout == direct.stdout
    assert direct.stdout.count("\n") == len(json.loads(f"[{','.join(direct.stdout.splitlines())}]")) > 5
    origin = f"times in Asia/Shanghai (from {folder / 'community.yaml'})"
    assert origin in converted.stderr and origin in direct.stderr and origin in again.stderr
    texts = [json.loads(line)["text"] for line in direct.stdout.splitlines()]
    assert "欢迎 Bob 加入Go 夜读 2016" in texts and not any("1034567890" in text for text in texts)


def test_import_without_a_community_to_take_the_zone_from_says_what_to_pass(workspace):
    _, elsewhere = workspace
    result = playbook("import", "--source", "telegram", str(FIXTURES / "telegram_2016_result.json"), cwd=elsewhere)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "error: no community.yaml in playbooks/ to take the time zone from — pass --playbooks DIR (the folder you give `playbook run`) "
        "or --timezone ZONE (e.g. Asia/Shanghai): times without an offset must be read in the zone the run uses\n"
    )


def test_import_and_run_say_an_error_the_same_way(workspace):
    folder, elsewhere = workspace
    missing = str(elsewhere / "nope.json")
    imported = playbook("import", "--source", "telegram", "--playbooks", str(folder), missing, cwd=elsewhere)
    ran = playbook("run", str(folder), "--source", "telegram", "--events", missing, cwd=elsewhere)
    assert imported.stderr == ran.stderr == f"error: {missing}: no such file or directory\n"
    assert imported.returncode == ran.returncode == 1
    usage = playbook("run", str(folder), "--events", missing, "--format", "pdf", cwd=elsewhere)
    assert usage.stderr.splitlines()[-1].startswith("error: Invalid value for --format: unknown format `pdf`") and "Error" not in usage.stderr


def test_run_lists_the_chats_of_a_whole_account_export_and_reads_the_one_picked(workspace):
    folder, elsewhere = workspace
    listed = playbook("run", str(folder), "--source", "telegram", "--events", str(ACCOUNT), cwd=elsewhere)
    assert listed.returncode == 1
    assert listed.stderr.startswith(f"error: {ACCOUNT}: a whole-account export with 5 chats — pick the group to read with --chat NAME_OR_ID")
    picked = playbook("run", str(folder), "--source", "telegram", "--events", str(ACCOUNT), "--chat", "1555000111", "--format", "jsonl", cwd=elsewhere)
    assert picked.returncode == 0, picked.stderr
    assert "欢迎 Bob 加入读书会" in [json.loads(line)["text"] for line in picked.stdout.splitlines()]
    assert "Alice (user11111111)" in picked.stderr and "`staff: [user11111111]`" in picked.stderr  # the exporter wrote there


def test_groups_missing_from_community_yaml_are_named_once_with_their_message_counts(workspace):
    folder, elsewhere = workspace
    result = playbook("run", str(folder), "--source", "telegram", "--events", str(FIXTURES / "telegram_2016_result.json"), "--format", "jsonl", cwd=elsewhere)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings[0] == f"warning: 1 group not in {folder / 'community.yaml'} `groups:`: 1034567890 「Go 夜读 2016」 (2 messages) — list them there (id, name) to name them and give them operators"
    # Its tasks go to nobody: the one operator looks after g1 only.
    assert warnings[1:] == [f"warning: 9 tasks with no operator: no operator in {folder / 'community.yaml'} lists this group under `groups:`: 1034567890 「Go 夜读 2016」 (9 tasks) — add each to an operator's `groups:`, or give one operator no `groups:` to take every group the others do not"]
    assert {json.loads(line)["assignee"] for line in result.stdout.splitlines()} == {None}
    assert '"group":"g1"' not in result.stdout.replace(" ", "")  # declared, but not in this export: no weekly post there


def test_a_private_chat_is_refused_for_planning_unless_asked_for(workspace):
    folder, elsewhere = workspace
    personal = str(FIXTURES / "telegram_personal.json")
    refused = playbook("run", str(folder), "--source", "telegram", "--events", personal, cwd=elsewhere)
    assert refused.returncode == 1 and "not a group — playbooks plan group work" in refused.stderr
    asked = playbook("run", str(folder), "--source", "telegram", "--events", personal, "--private-chats", "--format", "jsonl", cwd=elsewhere)
    assert asked.returncode == 0, asked.stderr


@pytest.mark.parametrize("cells", [["a", "b"], ["", "  "], ["x\udcff", "y"], ["\udc80"], ["ok", "\t"], ["中文", "\udcfe字"]])
def test_csv_row_checks_match_the_obvious_per_character_ones(tmp_path, cells):
    """The fast row checks (one join, one search) decide as a loop over every character would."""
    from playbook_plugins.source_csv import BAD_BYTES

    joined = "".join(cells)
    assert (not joined or joined.isspace()) == (not any(cell.strip() for cell in cells))
    assert (BAD_BYTES.search(joined) is not None) == any("\udc80" <= char <= "\udcff" for cell in cells for char in cell)
