"""The plugin contract: every hook a plugin may implement, documented for plugin authors.

A plugin is a module (or any object) with functions decorated by ``playbook_engine.hookimpl`` whose
names match the hooks below. Built-in plugins in ``plugins/`` use exactly this contract;
third-party plugins are found through the ``playbook_engine`` entry-point group::

    [project.entry-points.playbook_engine]
    feishu = "playbook_feishu"

Collection hooks receive a ``register`` callback instead of returning values, so the engine,
not every plugin, detects two plugins claiming the same name and says which two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import click

    from playbook_engine.contract import (
        ActionType,
        Channel,
        EventSource,
        InboxType,
        OutputFormat,
        Task,
        TriggerType,
    )

hookspec = pluggy.HookspecMarker("playbook")
hookimpl = pluggy.HookimplMarker("playbook")


@hookspec
def register_channels(register: Callable[[Channel], None]) -> None:
    """Register chat platforms (channels) that groups can live on.

    Call ``register(Channel(...))`` once per channel. A channel says what an operator can do
    there (capabilities such as ``dm``, ``mention``, ``post``, ``remove``), how a mention is
    written, how long a message may be, and the JSON Schema of its options.

    :param register: call with an :class:`playbook_engine.contract.Channel`; a name registered twice is
        an error naming both plugins.
    """


@hookspec
def register_triggers(register: Callable[[type[TriggerType]], None]) -> None:
    """Register trigger kinds: the keys a rule may use under ``when:``.

    Call ``register(MyTrigger)`` with a subclass of :class:`playbook_engine.contract.TriggerType`. Its
    ``name`` is the key, its ``schema`` the JSON Schema of the value, its ``options`` the
    schemas of sibling keys it accepts (such as ``keywords`` beside ``event``).

    :param register: call with a TriggerType subclass.
    """


@hookspec
def register_actions(register: Callable[[ActionType], None]) -> None:
    """Register action kinds: the keys a rule may use in its ``do:`` list.

    Call ``register(ActionType(...))``. An action either plans an operator task (a DM, a
    mention …) or changes member state without a task (``tag``). What the engine must know
    to treat it as a built-in, it declares on the ``ActionType``: whether ``limits`` count it,
    its ``targets``, its ``scope`` (where the member must be for a task: in the task's group,
    in some group, anywhere) and ``into_group`` (an invite is not repeated); its ``apply``
    returns False when it changed nothing.

    :param register: call with an :class:`playbook_engine.contract.ActionType`.
    """


@hookspec
def register_sources(register: Callable[[EventSource], None]) -> None:
    """Register event sources: readers that turn an export format into events.

    Call ``register(EventSource(name, read, description))``. ``read(path, options)`` is a
    generator: for each input record it yields an :class:`playbook_engine.contract.SourceRecord`
    (its number in the input and a dict in the native event format: ``ts``, ``type``,
    ``member`` …; optionally the Event of that dict, when the source can build it for less than
    the event contract check costs, tested against that check) or an :class:`playbook_engine.contract.Rejected` (number, reason, the raw text) for a
    record it cannot use; in time order. ``path`` is a file or folder (``-``: standard
    input, where the format allows). Raise :class:`playbook_engine.errors.InvalidInput` when the
    whole input is unusable (a wrong file for this source, truncated JSON), naming the file.

    :param register: call with an :class:`playbook_engine.contract.EventSource`.
    """


@hookspec
def register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register output formats for ``playbook run --format NAME``.

    Call ``register(OutputFormat(name, write, description))``; ``write(tasks, stream, context)``
    writes the planned tasks to a text stream. ``tasks`` is an iterable that yields them in
    output order while the run is still going (a day's tasks once event time has left the
    day): write each as it comes, as jsonl and csv do, or ``list()`` it first to lay out the
    whole plan, as table and md do.

    :param register: call with an :class:`playbook_engine.contract.OutputFormat`.
    """


@hookspec
def register_inboxes(register: Callable[[InboxType], None]) -> None:
    """Register inbox types: the work-chat robots ``playbook deliver`` posts each operator's day to.

    Call ``register(InboxType(...))`` once per type; its ``name`` is what community.yaml
    writes as ``operators[].inbox.type``. The engine reads the day's tasks from the state,
    words them in the community's language and hands them over as
    :class:`playbook_engine.contract.DeliveryPart` records; the type turns a part into the
    platform's JSON body (``render``), says whether a body is within the platform's size limit
    (``fits``: the engine splits the day until every part does), reads the platform's answer
    (``check``: accepted, retry, or refused with the platform's reason) and, if the platform
    signs requests, signs one (``sign``). The engine sends (HTTP POST, JSON), retries with
    backoff, never shows the URL or secret, and records a part as sent only once ``check``
    accepted it.

    :param register: call with an :class:`playbook_engine.contract.InboxType`; a name
        registered twice is an error naming both plugins.
    """


@hookspec
def register_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register Jinja2 filters available in every condition and text template.

    Filters run inside the sandbox; they must not touch files, the network or the clock.

    :param register: call as ``register("name", function)``.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``playbook`` command line.

    :param cli: the top-level click group; use ``@cli.command()`` on your functions.
    """


@hookspec
def task_planned(task: Task) -> None:
    """Observe each task after planning, in output order (e.g. to count or forward them).

    Observers must not change the task; the dry run's output is the engine's, not theirs.

    :param task: the planned task.
    """
