"""Durations as operators write them: C{90}, C{90s}, C{30m}, C{6h}, C{1d}, C{2w}."""

from __future__ import annotations

import re

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds in C{text}; a bare number is seconds. Raises C{ValueError} for anything else."""
    match = _DURATION.match(text or "")
    if match is None:
        raise ValueError(f"{text!r} is not a duration (such as 90, 30m, 6h, 1d or 2w)")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def describe(seconds: float) -> str:
    """C{seconds} in the largest unit that divides it: C{21600} is C{6h}."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
