"""Converters for C{twistd fazt} option values: each refuses a bad value with a clear UsageError."""

from __future__ import annotations

from typing import Callable

from twisted.python import usage


def whole_number(name: str, minimum: int = 1) -> Callable[[str], int]:
    """A converter for a whole-number option C{--NAME} of at least C{minimum}."""

    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise usage.UsageError(f"--{name} must be a whole number, not {value!r}") from None
        if number < minimum:
            raise usage.UsageError(f"--{name} must be at least {minimum}")
        return number

    return convert


def seconds(name: str, minimum: float = 0.001, maximum: float = 3600) -> Callable[[str], float]:
    """A converter for a duration option C{--NAME} in seconds (fractions allowed), within bounds."""

    def convert(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise usage.UsageError(f"--{name} must be a number of seconds, not {value!r}") from None
        if not minimum <= number <= maximum:
            raise usage.UsageError(f"--{name} must be between {minimum:g} and {maximum:g}")
        return number

    return convert
