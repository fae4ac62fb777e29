"""Converters for C{twistd fazt} option values: each refuses a bad value with a clear UsageError."""

from __future__ import annotations

from typing import Callable, Optional, TypeVar

from twisted.python import usage

N = TypeVar("N", int, float)


def number(name: str, parse: Callable[[str], N], kind: str, low: N, high: Optional[N],
           bounds: str) -> Callable[[str], N]:
    """A converter for option C{--NAME}: C{parse(value)} between C{low} and C{high} (None: no top).

    C{kind} names what a value must be (C{"a whole number"}), C{bounds} the range
    (C{"at least 1"}); both appear in the error. NaN is refused, as it is in no range.
    """

    def convert(value: str) -> N:
        try:
            result = parse(value)
        except ValueError:
            raise usage.UsageError(f"--{name} must be {kind}, not {value!r}") from None
        if not (low <= result and (high is None or result <= high)):
            raise usage.UsageError(f"--{name} must be {bounds}")
        return result

    return convert


def whole_number(name: str, minimum: int = 1) -> Callable[[str], int]:
    """A converter for a whole-number option C{--NAME} of at least C{minimum}."""
    return number(name, int, "a whole number", minimum, None, f"at least {minimum}")


def seconds(name: str, minimum: float = 0.001, maximum: float = 3600) -> Callable[[str], float]:
    """A converter for a duration option C{--NAME} in seconds (fractions allowed), within bounds."""
    return number(name, float, "a number of seconds", minimum, maximum, f"between {minimum:g} and {maximum:g}")


def rate(name: str) -> Callable[[str], float]:
    """A converter for a rate in requests per second: 0 (no limit) or a positive number."""
    return number(name, float, "a number of requests per second", 0.0, 1_000_000.0, "between 0 and 1000000")


def switch(name: str) -> Callable[[str], bool]:
    """A converter for an C{on}/C{off} option C{--NAME} (also C{true}/C{false}, C{yes}/C{no}, C{1}/C{0})."""

    def convert(value: str) -> bool:
        word = value.strip().lower()
        if word in ("on", "true", "yes", "1"):
            return True
        if word in ("off", "false", "no", "0"):
            return False
        raise usage.UsageError(f"--{name} must be on or off, not {value!r}")

    return convert
