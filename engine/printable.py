"""Text from the history (member names, messages) made inert where people read it.

A name is whatever a member typed. Printed raw on a terminal, ``\\x1b]0;…\\x07`` retitles the
window and ``\\x1b[2J`` clears it; rendered raw as Markdown, ``<script>``, ``# 标题``,
``[点我](https://…)`` or ``- [ ] 转账`` would add markup, links or checklist items of the
member's choosing to the operator's plan.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

# An escape sequence whole (CSI, OSC up to its terminator, any other ESC + one character),
# then every other C0/C1 control except newline and tab, and DEL; and the bidirectional
# overrides and isolates, with which a name can make the rest of a line read backwards.
_TERMINAL_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|\x9b[0-?]*[ -/]*[@-~]?|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Markdown: characters that start inline markup anywhere; what starts a block at a line's start.
_INLINE = re.compile(r"([\\`*_\[\]!~|])")
_BLOCK_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# A web address whole, as a text holds it: up to a space, a quote, a bracket, a template's
# braces or Chinese punctuation.
_URL = re.compile(r"https?://[^\s<>\"'{}()\[\]，。；！？、（）【】「」《》]+", re.IGNORECASE)
# GFM turns bare URLs, www. names and e-mail addresses into links: an entity breaks the pattern.
_AUTOLINK = re.compile(r"(?<=[A-Za-z0-9])(:)(?=//)|(?<=www)(\.)|(@)(?=[A-Za-z0-9.-]+\.[A-Za-z])", re.IGNORECASE)


def terminal_text(text: str) -> str:
    """``text`` without terminal control: escape sequences and C0/C1 controls but newline and tab."""
    return _TERMINAL_SEQUENCE.sub("", text)


def markdown_text(text: str, *, links: bool | Collection[str] = False) -> str:
    """``text`` as literal Markdown: no HTML, no emphasis, headings, lists or quotes, and no
    links unless ``links`` — True: any (the playbook's own values, such as a survey form's
    address); a collection: the addresses it holds, written whole (those the playbooks write:
    a task's text keeps its course schedule link, not a member's)."""
    lines = []
    for line in terminal_text(text).split("\n"):
        if links is True or not links or "://" not in line:
            line = _inert(line, links is True)
        else:
            kept = links if isinstance(links, (set, frozenset)) else frozenset(links)
            pieces, start = [], 0
            for found in _URL.finditer(line):
                if found.group(0) in kept:
                    pieces += [_inert(line[start : found.start()], False), _inert(found.group(0), True)]
                    start = found.end()
            line = "".join(pieces) + _inert(line[start:], False)
        line = _BLOCK_START.sub(lambda match: match.group(1) + "\\" + match.group(2) if not match.group(2)[0].isdigit() else match.group(1) + match.group(2)[:-1] + "\\" + match.group(2)[-1], line)
        lines.append(line)
    return "\n".join(lines)


def _inert(text: str, links: bool) -> str:
    text = "".join(_HTML.get(char, char) for char in text)
    text = _INLINE.sub(r"\\\1", text)
    if not links:
        text = _AUTOLINK.sub(lambda match: f"&#{ord(match.group(0))};", text)
    return text


def links_in(text: str) -> list[str]:
    """The web addresses written in ``text``, whole (``markdown_text`` keeps those it is given)."""
    return _URL.findall(text)


def markdown_line(text: str, *, links: bool | Collection[str] = False) -> str:
    """``text`` as literal Markdown on one line (a name: its line breaks become spaces)."""
    return markdown_text(" ".join(text.splitlines()), links=links)


def sheet_time(t: float | None, tz: Any) -> str | None:
    """A moment as a spreadsheet cell: local date and time, ``2026-03-02 12:30`` (seconds only
    when there are some), which Excel, WPS and 腾讯文档 read as a date and time to sort and
    filter by — an ISO time with its ``T`` and offset stays text there. The plan says once which
    time zone its times are in."""
    if t is None:
        return None
    moment = datetime.fromtimestamp(t, tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")
