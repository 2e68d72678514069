"""Plugin discovery and the registries that plugins fill.

``get_plugin_manager()`` loads the built-in plugins (``DEFAULT_PLUGINS``) and, unless told
otherwise, every plugin in the ``playbook_engine`` entry-point group. ``Registry.collect(pm)`` then
asks every plugin to register what it provides, refusing duplicate names.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from playbook_engine import hookspecs
from playbook_engine.contract import ActionType, Channel, EventSource, InboxType, OutputFormat
from playbook_engine.errors import PluginError

if TYPE_CHECKING:
    from playbook_engine.contract import TriggerType

# The entry-point group third-party plugins declare; named after the import name, so that it
# cannot be mistaken for another project's "playbook" plugins.
ENTRY_POINT_GROUP = "playbook_engine"

DEFAULT_PLUGINS = (
    "playbook_plugins.channels",
    "playbook_plugins.inboxes",
    "playbook_plugins.core_triggers",
    "playbook_plugins.core_actions",
    "playbook_plugins.formats",
    "playbook_plugins.filters",
    "playbook_plugins.source_jsonl",
    "playbook_plugins.source_json",
    "playbook_plugins.source_telegram",
    "playbook_plugins.source_slack",
    "playbook_plugins.source_discord",
    "playbook_plugins.source_csv",
    "playbook_plugins.source_wechat",
    "playbook_plugins.importer",
    "playbook_plugins.authoring",
)


class PlaybookPluginManager(pluggy.PluginManager):
    """pluggy's plugin manager, knowing which installed project provided each entry-point plugin."""

    def __init__(self, project_name: str) -> None:
        super().__init__(project_name)
        self.distributions: dict[str, str] = {}  # plugin name → "project version", for `playbook plugins`


def get_plugin_manager(entrypoints: bool = True, *, skip_broken: bool = False, skipped: list[str] | None = None) -> PlaybookPluginManager:
    """A plugin manager with the built-ins and (if ``entrypoints``) installed plugins loaded.

    A third-party plugin that fails to import or implements a hook that does not exist is a
    PluginError naming it; with ``skip_broken`` it is left out and described in ``skipped``.
    """
    pm = PlaybookPluginManager("playbook")
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if entrypoints:
        for entry_point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
            if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:  # any import-time failure of someone else's code
                _broken(f"plugin {entry_point.name} ({entry_point.value}) failed to import: {_describe(exc)}", entry_point.name, skip_broken, skipped)
                continue
            pm.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                pm.distributions[entry_point.name] = f"{entry_point.dist.name} {entry_point.dist.version}"
    while True:
        try:
            pm.check_pending()
            return pm
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or str(exc.plugin)
            message = f"plugin {name} is invalid: {exc.args[0] if exc.args else exc}"
            hook = re.search(r"unknown hook '([^']+)'", message)
            if hook:
                hooks = [spec for spec in dir(hookspecs) if spec.startswith(("register_", "task_"))]
                close = difflib.get_close_matches(hook.group(1), hooks, n=1)
                hint = f"did you mean `{close[0]}`?" if close else f"hooks are: {', '.join(hooks)}"
                message = f"plugin {name} implements unknown hook `{hook.group(1)}` — {hint}"
            _broken(message, name, skip_broken, skipped)
            pm.unregister(exc.plugin)


def _broken(message: str, plugin: str, skip_broken: bool, skipped: list[str] | None) -> None:
    if not skip_broken:
        raise PluginError(message, plugin=plugin)
    if skipped is not None:
        skipped.append(message)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def option_name(options: Mapping[str, Mapping[str, str]], action: str, key: str) -> str:
    """How an option of ``action`` is shown (``Registry.option_names``): as the action names it,
    else as another action does — a merged message carries its parts' options (an invitation's
    group in a reward message) — else its key."""
    return options.get(action, {}).get(key) or next((names[key] for names in options.values() if key in names), key)


class Registry:
    """Everything the loaded plugins provide, by name, with the plugin that provided it."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.triggers: dict[str, type[TriggerType]] = {}
        self.actions: dict[str, ActionType] = {}
        self.sources: dict[str, EventSource] = {}
        self.formats: dict[str, OutputFormat] = {}
        self.inboxes: dict[str, InboxType] = {}
        self.filters: dict[str, Callable[..., Any]] = {}
        self.owners: dict[tuple[str, str], str] = {}
        self.pm: pluggy.PluginManager | None = None

    def action_names(self, language: str | None) -> dict[str, str]:
        """Each action's name as ``language`` shows it (``ActionType.names``; its id where the
        action gives none): what plans, lists and explanations call it."""
        return {name: kind.names.get(language or "", name) for name, kind in self.actions.items()}

    def channel_names(self, language: str | None) -> dict[str, str]:
        """Each channel's name as ``language`` shows it (``Channel.names``; its id where the
        channel gives none)."""
        return {name: channel.names.get(language or "", name) for name, channel in self.channels.items()}

    def option_names(self, language: str | None) -> dict[str, Mapping[str, str]]:
        """Each action's options as ``language`` names them (``ActionType.option_names``), for
        the actions that name any: shown beside a task's text (积分：50)."""
        return {name: kind.option_names[language] for name, kind in self.actions.items() if language is not None and language in kind.option_names}

    @classmethod
    def collect(cls, pm: pluggy.PluginManager, *, skip_broken: bool = False, skipped: list[str] | None = None) -> Registry:
        """Ask every plugin to register what it provides; with ``skip_broken``, leave out a plugin that fails."""
        while True:
            try:
                return cls._collect(pm)
            except PluginError as exc:
                if not skip_broken or exc.plugin is None or exc.plugin in DEFAULT_PLUGINS:
                    raise
                if skipped is not None:
                    skipped.append(str(exc))
                pm.unregister(name=exc.plugin)

    @classmethod
    def _collect(cls, pm: pluggy.PluginManager) -> Registry:
        registry = cls()
        registry.pm = pm
        kinds: tuple[tuple[str, str, dict[str, Any]], ...] = (
            ("channel", "register_channels", registry.channels),
            ("trigger", "register_triggers", registry.triggers),
            ("action", "register_actions", registry.actions),
            ("source", "register_sources", registry.sources),
            ("format", "register_formats", registry.formats),
            ("inbox", "register_inboxes", registry.inboxes),
        )
        for kind, hook_name, table in kinds:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                plugin = impl.plugin_name
                registry._call(impl, kind, plugin, lambda item, _t=table, _kind=kind, _p=plugin: registry._add(_kind, _t, item.name, item, _p))
        for impl in pm.hook.register_filters.get_hookimpls():
            plugin = impl.plugin_name
            registry._call(impl, "filter", plugin, lambda name, function, _p=plugin: registry._add("filter", registry.filters, name, function, _p))
        return registry

    def _call(self, impl: Any, kind: str, plugin: str, register: Callable[..., None]) -> None:
        try:
            impl.function(register)
        except PluginError:
            raise
        except Exception as exc:  # any failure inside someone else's hook names that plugin
            raise PluginError(f"plugin {plugin} failed while registering {kind}s: {_describe(exc)}", plugin=plugin) from exc

    def _add(self, kind: str, table: dict[str, Any], name: str, item: Any, plugin: str) -> None:
        if name in table:
            raise PluginError(f"{kind} `{name}` is registered by two plugins: {self.owners[(kind, name)]} and {plugin} — uninstall one of them", plugin=plugin)
        table[name] = item
        self.owners[(kind, name)] = plugin

    def limit_exempt_actions(self) -> frozenset[str]:
        """The actions that ``limits`` with ``actions: any`` do not count, as each declares."""
        return frozenset(name for name, action in self.actions.items() if not action.counts_toward_limits)


    def note_actions(self) -> frozenset[str]:
        """The actions that are notes to the operator about their firing's other tasks (``ActionType.note``)."""
        return frozenset(name for name, action in self.actions.items() if action.note)

    def slot_keeping_actions(self) -> frozenset[str]:
        """The actions whose tasks capacity keeps on their day once their effect has happened
        (``ActionType.keeps_slot``)."""
        return frozenset(name for name, action in self.actions.items() if action.keeps_slot and action.apply is not None)


def load_registry(entrypoints: bool = True) -> Registry:
    return Registry.collect(get_plugin_manager(entrypoints))
