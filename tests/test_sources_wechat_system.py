"""WeChat's system lines as real exports hold them: quoted names that contain 、 , or a quote,
"你和", QR-code joins by invitation, a client set to English, and the join template
(``<sysmsg type="sysmsgtemplate">``) that some tools write raw — each read as the joins and
removals it says, and none of them ever a member named after a placeholder. Also what Excel
does to a PyWxDump export (its 19-digit ids), a GBK file whose first rows are plain ASCII, and
PyWxDump's paged file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_sources import read

HEADER = "localId,TalkerId,Type,SubType,IsSender,CreateTime,Status,StrContent,StrTime,Remark,NickName,Sender\n"


def system_row(number: int, text: str) -> str:
    quoted = '"' + text.replace('"', '""') + '"'
    return f"{number},5,10000,0,0,{1772326800 + number},4,{quoted},,,,\n"


def message_row(number: int, name: str, wxid: str, text: str = "hi", is_sender: int = 0) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    return f"{number},5,1,0,{is_sender},{1772326800 + number},2,{text},,{quoted},{quoted},{wxid}\n"


def joins(registry, tmp_path: Path, *rows: str) -> list[tuple[str, str | None, str | None]]:
    """(type, member, inviter) of each event not a plain message."""
    export = tmp_path / "群_utf8.csv"
    export.write_text(HEADER + "".join(rows), encoding="utf-8")
    return [(event["type"], event.get("member"), event.get("inviter") or event.get("reason") or event.get("text")) for _, event in read(registry, "wechat", export) if event["type"] != "message"]


@pytest.mark.parametrize(
    "line, expected",
    [
        # a nickname with 、 or , or a quote is one member; names are split between quotes only
        ('"张老师"邀请"小"王"、"甲、乙"加入了群聊', [("member_joined", "wxid_xw", "wxid_zls"), ("member_joined", "wxid_jy", "wxid_zls")]),
        ('"Lily"邀请"阿花,Amy"加入了群聊', [("member_joined", "wxid_ahua", "name:Lily")]),
        # a name holding 邀请 ends at its closing quote
        ('"邀请达人"邀请"阿花,Amy"加入了群聊', [("member_joined", "wxid_ahua", "name:邀请达人")]),
        # you and another, invited together: two joins
        ('"张老师"邀请你和"甲、乙"加入了群聊', [("member_joined", "wxid_me", "wxid_zls"), ("member_joined", "wxid_jy", "wxid_zls")]),
        ('"小"王"通过"张老师"的邀请二维码加入群聊', [("member_joined", "wxid_xw", "wxid_zls")]),
        ('"甲、乙"通过扫描"张老师"分享的二维码加入群聊', [("member_joined", "wxid_jy", "wxid_zls")]),
        ('你邀请"甲、乙"加入了群聊  $revoke$', [("member_joined", "wxid_jy", "wxid_me")]),
        ('你将"甲、乙"移出了群聊', [("member_left", "wxid_jy", "removed")]),
        ('"甲、乙"退出了群聊', [("member_left", "wxid_jy", "left")]),
        # a client set to English writes the same lines in English
        ('"张老师" invited "甲、乙", "阿花,Amy" to the group chat', [("member_joined", "wxid_jy", "wxid_zls"), ("member_joined", "wxid_ahua", "wxid_zls")]),
        ('"甲、乙" joined the group chat via the QR Code shared by "张老师"', [("member_joined", "wxid_jy", "wxid_zls")]),
        ('You invited "甲、乙" to the group chat', [("member_joined", "wxid_jy", "wxid_me")]),
        ('You removed "甲、乙" from the group chat', [("member_left", "wxid_jy", "removed")]),
        ('"张老师" invited you and "甲、乙" to the group chat', [("member_joined", "wxid_me", "wxid_zls"), ("member_joined", "wxid_jy", "wxid_zls")]),
        # not a join: kept as the system line it is
        ('"甲、乙"与群里其他人都不是朋友关系，请注意隐私安全', [("wechat_system", None, '"甲、乙"与群里其他人都不是朋友关系，请注意隐私安全')]),
    ],
)
def test_system_lines_with_quoted_names(registry, tmp_path, line, expected):
    members = [message_row(1, "张老师", "wxid_zls"), message_row(2, "甲、乙", "wxid_jy"), message_row(3, "阿花,Amy", "wxid_ahua"), message_row(4, '小"王', "wxid_xw"), message_row(5, "Me", "wxid_me", is_sender=1)]
    assert joins(registry, tmp_path, system_row(10, line), *members) == expected


TEMPLATE = (
    '<sysmsg type="sysmsgtemplate"><sysmsgtemplate><content_template type="tmpl_type_profile"><plain><![CDATA[]]></plain>'
    '<template><![CDATA["$username$"邀请"$names$"加入了群聊]]></template><link_list>'
    '<link name="username" type="link_profile"><memberlist><member><username><![CDATA[wxid_zls]]></username><nickname><![CDATA[张老师]]></nickname></member></memberlist></link>'
    '<link name="names" type="link_profile"><memberlist>'
    '<member><username><![CDATA[wxid_b01]]></username><nickname><![CDATA[李四]]></nickname></member>'
    '<member><username><![CDATA[wxid_c01]]></username><nickname><![CDATA[王、五]]></nickname></member>'
    "</memberlist><separator><![CDATA[、]]></separator></link></link_list></content_template></sysmsgtemplate></sysmsg>"
)


def test_a_join_template_is_read_as_its_people_with_their_wxids(registry, tmp_path):
    """Some tools write the join's XML raw: its people, wxids and names, are the joiners."""
    assert joins(registry, tmp_path, system_row(1, TEMPLATE)) == [("member_joined", "wxid_b01", "wxid_zls"), ("member_joined", "wxid_c01", "wxid_zls")]


@pytest.mark.parametrize("line", ['"$username$"邀请"$names$"加入了群聊', TEMPLATE.replace("<member><username><![CDATA[wxid_b01]]></username><nickname><![CDATA[李四]]></nickname></member><member><username><![CDATA[wxid_c01]]></username><nickname><![CDATA[王、五]]></nickname></member>", "")])
def test_a_template_nobody_filled_in_names_nobody(registry, tmp_path, line):
    """An older record shows the template unfilled: it is a system line, never a member called $names$."""
    ((kind, member, text),) = joins(registry, tmp_path, system_row(1, line))
    assert (kind, member, text) == ("wechat_system", None, '"$username$"邀请"$names$"加入了群聊')


def test_excel_s_scientific_message_ids_are_no_ids(registry, tmp_path):
    """Excel shows PyWxDump's 19-digit MsgSvrID as 7.00112E+18 and saves it so, and cuts the
    times to the minute: two members' messages of one minute are two messages, not one twice."""
    export = tmp_path / "群聊.csv"
    export.write_text(
        "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n"
        "2,7.00112E+18,文本,0,wxid_ahua001,24681357902@chatroom,大家好，我是阿花,,2024/3/1 9:16\n"
        "3,7.00112E+18,文本,0,wxid_xw0001,24681357902@chatroom,请问周末活动在哪？,,2024/3/1 9:16\n",
        encoding="utf-8",
    )
    events = [event for _, event in read(registry, "wechat", export)]
    assert [(event["member"], "id" in event) for event in events] == [("wxid_ahua001", False), ("wxid_xw0001", False)]


def test_pywxdump_s_paged_file_name_is_not_the_group_s_name(registry, tmp_path):
    """PyWxDump writes a file per 5,000 messages, <…@chatroom>_<first>_<last>.csv: the pages are one group, named by no page."""
    rows = "id,MsgSvrID,type_name,is_sender,talker,room_name,msg,src,CreateTime\n1,9001,文本,0,wxid_ahua001,24681357902@chatroom,早,,2024-03-01 09:16:00\n"
    for page in ("24681357902@chatroom_0_5001.csv", "24681357902@chatroom_5001_10002.csv"):
        (tmp_path / page).write_text(rows, encoding="utf-8")
        ((_, event),) = read(registry, "wechat", tmp_path / page)
        assert event["group"] == "24681357902@chatroom" and "group_name" not in event


def test_a_gbk_file_whose_first_64_kib_are_ascii_is_read_as_gbk(registry, tmp_path):
    """Excel on a Chinese Windows saves GBK; a file whose first thousand rows hold only ids,
    numbers and times is judged by its first Chinese bytes, not read as UTF-8 and rejected from there."""
    rows = [HEADER] + [message_row(number, "Tom", "wxid_tom", "ok") for number in range(1, 1501)]
    rows += [message_row(2000, "阿花", "wxid_ahua", "这个活动在哪里？"), system_row(2001, '"Tom"邀请"小王"加入了群聊')]
    text = "".join(rows)
    assert text[:70000].isascii()
    export = tmp_path / "群_gbk.csv"
    export.write_bytes(text.encode("gbk"))
    events = [event for _, event in read(registry, "wechat", export)]
    assert len(events) == 1502
    assert events[-2]["text"] == "这个活动在哪里？" and events[-1]["type"] == "member_joined" and events[-1]["name"] == "小王"
