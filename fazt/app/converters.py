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
