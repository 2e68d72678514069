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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import yaml

from playbook_engine import hookimpl
from playbook_engine.api import registry_from, source_options
from playbook_engine.contract import Event, Rejected, SourceRecord
from playbook_engine.errors import InvalidInput, PlaybookError
from playbook_engine.events import to_event

DEFAULT_COMMUNITY = Path("playbooks") / "community.yaml"
LEADING_FIELDS = ("ts", "type", "group", "member", "name")


@dataclass
class ImportResult:
    """What one import read and wrote; ``read`` always equals ``written + rejected``."""

    rejected: list[Rejected] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        types = ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items()) if name not in ("read", "written", "rejected"))
        written = f"{self.counts['written']} written" + (f" ({types})" if types else "")
        return f"read {self.counts['read']} events: {written}, {self.counts['rejected']} rejected"


def import_events(items: Iterable[SourceRecord | Rejected], tz: ZoneInfo, out: IO[str]) -> ImportResult:
    """Write each record that passes the event contract, in time order, as one JSON line."""
    result = ImportResult()
    last = float("-inf")
    for item in items:
        result.counts["read"] += 1
        checked = to_event(item, tz)
        if isinstance(checked, Event) and checked.t < last:
            checked = Rejected(checked.line, "older than the event before it: the export is not in time order", _line(checked.raw))
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
    """Compact JSON with the fields people scan for first, as in the SPEC's example."""
    ordered = {name: record[name] for name in LEADING_FIELDS if name in record} | record
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"), default=str)


def community_timezone(explicit: str | None, community_file: Path = DEFAULT_COMMUNITY) -> tuple[ZoneInfo, str]:
    """The zone for times without an offset: ``--timezone``, else ``playbooks/community.yaml``'s, else UTC."""
    name, origin = explicit, "--timezone"
    if name is None and community_file.is_file():
        data = yaml.safe_load(community_file.read_text(encoding="utf-8")) or {}
        name, origin = (data.get("community") or {}).get("timezone"), str(community_file)
    if not name:
        return ZoneInfo("UTC"), "UTC (no --timezone and no playbooks/community.yaml)"
    try:
        return ZoneInfo(str(name)), f"{name} (from {origin})"
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{origin}: unknown time zone `{name}` — write an IANA name such as Asia/Shanghai") from None


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="import")
    @click.argument("input_path", metavar="INPUT")
    @click.option("--source", required=True, help="Event-source plugin that reads INPUT: telegram, slack, discord, wechat, csv, json, jsonl (see `playbook plugins`).")
    @click.option("--map", "column_map", help="For csv and wechat: which input column is which event field, e.g. ts=time,member=user_id,text=content.")
    @click.option("--timezone", help="Zone for times without an offset (default: playbooks/community.yaml's, else UTC).")
    @click.option("--rejects", type=click.Path(dir_okay=False), help="Also write rejected records here as JSON Lines.")
    @click.pass_context
    def import_command(ctx: click.Context, input_path: str, source: str, column_map: str | None, timezone: str | None, rejects: str | None) -> None:
        """Convert an export (Telegram, Slack, Discord, WeChat CSV, CSV) to native JSON Lines events.

        Events go to standard output; rejected records (with their record number) and the
        summary go to standard error. Exit 1 if the input cannot be read at all.

        Example: playbook import --source telegram result.json > events.jsonl
        """
        from playbook_engine.runner import read_source

        try:
            tz, tz_origin = community_timezone(timezone)
            records = read_source(registry_from(ctx), source, input_path, source_options(column_map, tz))
            result = import_events(records, tz, sys.stdout)
        except PlaybookError as exc:
            raise click.ClickException(str(exc)) from None
        for rejected in result.rejected:
            click.echo(f"{input_path}:{rejected.line}: rejected: {rejected.reason}", err=True)
        if rejects:
            with open(rejects, "w", encoding="utf-8") as stream:
                for rejected in result.rejected:
                    stream.write(_line({"line": rejected.line, "reason": rejected.reason, "text": rejected.text}) + "\n")
        click.echo(f"playbook import: {result.summary()} · times in {tz_origin}", err=True)
