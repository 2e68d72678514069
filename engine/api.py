"""What a plugin's command needs from the ``playbook`` command line, without importing it.

A plugin that adds commands (``register_commands``) reads playbooks and events the way the
built-in commands do: from the same default directory, with the registry this invocation has
already collected, and with the same options for event sources. The command-line module itself
is no contract — it is free to change with every release — so these live here, and
``playbook_engine.cli`` imports them from here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

import click

from playbook_engine.contract import SourceReport
from playbook_engine.words import words_for

if TYPE_CHECKING:
    from playbook_engine.plugins import Registry

__all__ = ["DEFAULT_PATHS", "CommandError", "registry_from", "source_options", "undeclared_exporters"]

DEFAULT_PATHS = ("playbooks",)
"""Where playbooks are read from when a command is given no paths."""


def registry_from(ctx: click.Context) -> Registry:
    """The plugin registry of this invocation; plugin commands use it too.

    ``playbook`` collects it once, before any command runs, and keeps it in the click context;
    a command invoked without it (click's ``CliRunner`` in a test) gets one collected on first
    use, without entry points if ``ctx.obj`` says ``{"no_entrypoints": True}``.
    """
    # Imported on first use, as cli.py always did: the plugin machinery (pluggy,
    # importlib.metadata) takes about 30 ms to import, which a caller of source_options alone
    # need not pay.
    from playbook_engine.plugins import load_registry

    obj = ctx.ensure_object(dict)
    if "registry" not in obj:
        obj["registry"] = load_registry(entrypoints=not obj.get("no_entrypoints", False))
    registry: Registry = obj["registry"]
    return registry


class CommandError(click.ClickException):
    """A command that cannot go on, said the way every ``playbook`` command says it:
    ``error: what is wrong — what to do`` on standard error, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def source_options(column_map: str | None, tz: tzinfo, *, chat: str | None = None, private_chats: bool = False, report: Any = None) -> dict[str, Any]:
    """Options every event source receives: the community time zone and, if given, ``--map``,
    ``--chat`` (one chat of a whole-account export), ``--private-chats`` (plan for private
    chats and group DMs too) and a ``contract.SourceReport`` for warnings and counts.

    ``column_map`` is the text of a ``--map`` option (``ts=time,member=user_id``); a malformed
    one is a ``click.BadParameter`` naming ``--map``.
    """
    options: dict[str, Any] = {"timezone": tz, "private_chats": private_chats}
    if chat is not None:
        options["chat"] = chat
    if report is not None:
        options["report"] = report
    if column_map:
        pairs = [item.split("=", 1) for item in column_map.split(",") if item.strip()]
        if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
            raise click.BadParameter(f"{column_map!r} — write field=column pairs separated by commas, e.g. ts=time,member=user_id", param_hint="--map")
        options["map"] = {field.strip(): column.strip() for field, column in pairs}
    return options


def undeclared_exporters(report: SourceReport, staff: Iterable[str], language: str | None, file: str) -> list[str]:
    """A warning, in ``language``, for each account that made the export (``report.exporters``)
    that community.yaml (``file``) does not name as staff (``staff``: its `staff:` and the
    operators' `member:`): the plan would take the operator's own account for a member —
    welcome it, message it, rank it first."""
    known = set(staff)
    words = words_for(language).summary
    return [words.exporter.format(name=name or member_id, id=member_id, file=file) for member_id, name in sorted(report.exporters.items()) if member_id not in known]
