"""``playbook import``: convert an export to native JSON Lines through any event source.

Converting once and running many times is faster than re-reading a large export on every dry
run, and the JSON Lines can be checked, trimmed or merged with ordinary tools. Every event
written has passed the same contract check ``playbook run`` applies, so a converted file never
holds an event that a run would reject.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import orjson
import yaml

from playbook_engine import hookimpl
from playbook_engine.api import DEFAULT_PATHS, CommandError, registry_from, source_options, undeclared_exporters
from playbook_engine.contract import Event, Rejected, SourceRecord, SourceReport
from playbook_engine.errors import InvalidInput, PlaybookError
from playbook_engine.events import to_event
from playbook_engine.loading import find_files
from playbook_engine.words import Reason, say, words_for

LEADING_FIELDS = ("ts", "type", "group", "member", "name")


@dataclass
class ImportResult:
    """What one import read and wrote; ``read`` always equals ``written + rejected``."""

    rejected: list[Rejected] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self, language: str | None = None) -> str:
        """What was read and written, in ``language`` (``community.language``; English if None)."""
        words = words_for(language).summary
        types = words.separator.join(f"{name} {count}" for name, count in sorted(self.counts.items()) if name not in ("read", "written", "rejected", "duplicates") and count)
        line = words.imported.format(read=self.counts["read"], written=self.counts["written"], types=f"{words.brackets[0]}{types}{words.brackets[1]}" if types else "", rejected=self.counts["rejected"])
        duplicates = self.counts["duplicates"]  # messages an export holds twice (threads, overlapping files): kept once
        return line + (words.duplicates.format(count=duplicates, s="s" if duplicates != 1 else "") if duplicates else "")


def import_events(items: Iterable[SourceRecord | Rejected], tz: ZoneInfo, out: IO[str]) -> ImportResult:
    """Write each record that passes the event contract, in time order, as one JSON line."""
    result = ImportResult()
    last = float("-inf")
    for item in items:
        result.counts["read"] += 1
        checked = to_event(item, tz)
        if isinstance(checked, Event) and checked.t < last:
            checked = Rejected(checked.line, Reason("export_order"), _line(checked.raw))
        if isinstance(checked, Rejected):
            result.counts["rejected"] += 1
            result.rejected.append(checked)
            continue
        last = checked.t
        result.counts["written"] += 1
        result.counts[checked.type] += 1
        out.write(_line(checked.raw) + "\n")
    return result


def _line(record: dict[str, Any]) -> str:
    """Compact JSON with the fields people scan for first, as in the SPEC's example.

    The json module took 4.5 µs an event, a third of importing a JSON Lines file; orjson
    writes the same text, in 1.6 µs with the check below, for a record of text, integers,
    true/false/null and lists of text: what sources write for nearly every event. Anything
    else (a float: orjson writes ``1e-7`` and NaN as null where json writes ``1e-07`` and
    NaN; objects; other types, which json writes with ``str``) and whatever orjson refuses (an
    integer beyond 64 bits, a lone surrogate, a key that is not text) is written by the json
    module (``_json_line``), which tests/test_source_fast_paths.py holds it to."""
    ordered = {name: record[name] for name in LEADING_FIELDS if name in record} | record
    if _flat(ordered):
        try:
            return orjson.dumps(ordered).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return _json_line(ordered)


_json_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _flat(record: dict[str, Any]) -> bool:
    """Whether every value is text, an integer, true/false/null or a list of text, by exact
    type: orjson writes dates, enums and dataclasses itself, where json writes their ``str``."""
    for value in record.values():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is list or kind is tuple:
            for item in value:
                if type(item) is not str:
                    return False
            continue
        return False
    return True


def community_timezone(explicit: str | None, playbook_paths: Sequence[str] = DEFAULT_PATHS) -> tuple[ZoneInfo, str, str, str | None, tuple[str, frozenset[str]] | None]:
    """The zone for times without an offset: ``--timezone``, else the time zone of the
    community.yaml that ``playbook run`` would load from ``playbook_paths``. Never a guess:
    ``run`` reads such times in the community's zone, so ``import`` must read them the same way
    for the two to plan alike, wherever they are started from. Returns the zone, its name,
    where it was taken from, that community.yaml's ``language`` (None without one): the
    summary is written in it, as ``playbook run`` writes its own; and the file with the ids it
    names as the community's own people (`staff:`, operators' `member:`), None without a file."""
    community_file, _ = find_files(list(playbook_paths))
    try:
        data = yaml.safe_load(community_file.read_text(encoding="utf-8")) if community_file is not None else None
    except yaml.YAMLError:
        if explicit is None:
            raise InvalidInput(f"{community_file}: not valid YAML, so its time zone cannot be read — `playbook validate` shows where, or pass --timezone ZONE (e.g. Asia/Shanghai)") from None
        data = None  # read only for its language: the summary is then English
    community = (data.get("community") or {}) if isinstance(data, dict) else {}
    language = community.get("language") if isinstance(community, dict) and isinstance(community.get("language"), str) else None
    staff = (str(community_file), _staff(community)) if community_file is not None and isinstance(community, dict) else None
    name: Any
    if explicit is not None:
        name, origin = explicit, "--timezone"
    else:
        if community_file is None:
            where = ", ".join(f"{path}/" for path in playbook_paths)
            raise InvalidInput(
                f"no community.yaml in {where} to take the time zone from — pass --playbooks DIR (the folder you give `playbook run`) "
                "or --timezone ZONE (e.g. Asia/Shanghai): times without an offset must be read in the zone the run uses"
            )
        name, origin = community.get("timezone") if isinstance(community, dict) else None, str(community_file)
        if not name:
            raise InvalidInput(f"{community_file}: no `timezone:` under `community:` — write an IANA name such as Asia/Shanghai (`playbook validate` checks the file)")
    try:
        return ZoneInfo(str(name)), str(name), origin, language, staff
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{origin}: unknown time zone `{name}` — write an IANA name such as Asia/Shanghai") from None


def _staff(community: dict[str, Any]) -> frozenset[str]:
    """The ids community.yaml names as the community's own people, read leniently: `playbook
    validate` is where a malformed list is an error, not the import."""
    staff = community.get("staff")
    ids = {str(item) for item in staff if isinstance(item, (str, int))} if isinstance(staff, list) else set()
    operators = community.get("operators")
    for operator in operators if isinstance(operators, list) else ():
        if isinstance(operator, dict) and isinstance(operator.get("member"), (str, int)):
            ids.add(str(operator["member"]))
    return frozenset(ids)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="import")
    @click.argument("input_path", metavar="INPUT")
    @click.option("--source", required=True, help="Event-source plugin that reads INPUT: telegram, slack, discord, wechat, csv, json, jsonl (see `playbook plugins`).")
    @click.option("--map", "column_map", help="For csv and wechat: which input column is which event field, e.g. ts=time,member=user_id,text=content.")
    @click.option("--playbooks", "playbook_paths", multiple=True, help="The playbooks folder `playbook run` will use: its community.yaml gives the time zone (default: playbooks).")
    @click.option("--timezone", help="Zone for times without an offset, instead of community.yaml's.")
    @click.option("--chat", help="For a Telegram whole-account export: the chat to read, by name or id (without it, the chats are listed).")
    @click.option("--private-chats", is_flag=True, help="Also read private chats, group DMs and Telegram channels (refused by default: playbooks plan group work).")
    @click.option("--rejects", type=click.Path(dir_okay=False), help="Also write rejected records here as JSON Lines.")
    @click.pass_context
    def import_command(ctx: click.Context, input_path: str, source: str, column_map: str | None, playbook_paths: tuple[str, ...], timezone: str | None, chat: str | None, private_chats: bool, rejects: str | None) -> None:
        """Convert an export (Telegram, Slack, Discord, WeChat CSV, CSV) to native JSON Lines events.

        Events go to standard output; rejected records (with their record number), warnings and
        the summary go to standard error. Times without an offset are read in the zone of the
        community.yaml `playbook run` uses (--playbooks), so both plan alike. Exit 1 if the
        input cannot be read at all.

        Example: playbook import --source telegram result.json --playbooks playbooks > events.jsonl
        """
        from playbook_engine.runner import read_source

        report = SourceReport()
        try:
            tz, tz_name, tz_origin, language, staff = community_timezone(timezone, playbook_paths or DEFAULT_PATHS)
            records = read_source(registry_from(ctx), source, input_path, source_options(column_map, tz, chat=chat, private_chats=private_chats, report=report))
            result = import_events(records, tz, sys.stdout)
        except PlaybookError as exc:
            raise CommandError(str(exc)) from None
        words = words_for(language)
        for rejected in result.rejected:
            click.echo(words.inputs.rejected.format(where=f"{input_path}:{rejected.line}", reason=say(rejected.reason, words)), err=True)
        if rejects:
            with open(rejects, "w", encoding="utf-8") as stream:
                for rejected in result.rejected:
                    stream.write(_line({"line": rejected.line, "reason": say(rejected.reason, words), "text": rejected.text}) + "\n")
        for warning in [*report.warnings, *(undeclared_exporters(report, staff[1], language, staff[0]) if staff is not None else [])]:
            click.echo(words.inputs.warning.format(warning=say(warning, words)), err=True)
        result.counts["duplicates"] += report.counts["duplicates"]
        click.echo(f"playbook import: {result.summary(language)} · {words_for(language).explain.times.format(timezone=tz_name, file=tz_origin)}", err=True)
