"""Durations as operators write them: ``30m``, ``2h``, ``7d``, ``2w`` and sums such as ``1d12h``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Ten years: longer than any delay, silence or window means anything, and short enough that
# any instant plus it is a date (99999999d is year 275816, which no datetime can hold).
MAX_SECONDS = 3650 * 86400
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")


class DurationError(ValueError):
    pass


def parse_duration(text: str | int | float) -> int:
    """Return the number of seconds in ``text``; raise DurationError saying what to write."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise DurationError(f"{text!r} is not a duration — write e.g. 30m, 2h, 7d, 2w or 1d12h")
    if isinstance(text, (int, float)):
        raise DurationError(f"{text} has no unit — write e.g. {int(text)}d for days or {int(text)}h for hours")
    if not _WHOLE.match(text):
        raise DurationError(f"`{text}` is not a duration — write a number and a unit (m, h, d, w), e.g. 30m, 2h, 7d or 1d12h")
    parts = _PART.findall(text)
    if any(len(number) > 12 for number, _ in parts):  # no int() of a thousand digits
        raise DurationError(f"`{text[:40]}…` is more than 10 years — write at most 3650d")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise DurationError(f"`{text}` is zero — a duration must be longer than that")
    if seconds > MAX_SECONDS:
        raise DurationError(f"`{text}` is more than 10 years — write at most 3650d")
    return seconds


def format_duration(seconds: float) -> str:
    """The spelling operators read best: 604800 → ``7d``, 5400 → ``1h30m``."""
    seconds = int(seconds)
    if seconds == 0:
        return "0m"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
