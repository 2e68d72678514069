"""Problems found in playbooks and inputs, carrying where they are so an operator can fix them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, at one place: ``file:line:col: message``."""

    file: str
    line: int
    column: int
    message: str
    yaml_path: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        if self.yaml_path:
            return f"{where}: {self.yaml_path}: {self.message}"
        return f"{where}: {self.message}"


class PlaybookError(Exception):
    """Base of every error the core raises on bad input; never a bug in the engine itself."""


class InvalidPlaybooks(PlaybookError):
    """One or more playbook or community files are wrong; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InvalidInput(PlaybookError):
    """An input that cannot be read at all (a missing file, a broken export, a bad option value)."""


class PluginError(PlaybookError):
    """A plugin failed to load or broke the plugin contract; the message names the plugin."""

    def __init__(self, message: str, *, plugin: str | None = None):
        super().__init__(message)
        self.plugin = plugin


def suggest(word: Any, candidates: Iterable[str]) -> str:
    """`` — did you mean `x`?`` when ``word`` is close to one of ``candidates``, else ``""``."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" — did you mean `{close[0]}`?" if close else ""
