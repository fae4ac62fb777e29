"""The supervisor's pure decisions: how many processes, when to restart one, which descriptors it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["process_count", "RestartPolicy", "ChildFds", "child_fds", "parse_inherited", "LISTENER_TYPES",
           "shareable"]

# The first descriptor a serving process gets beyond stdin, stdout and stderr.
FIRST_FD = 3
# Endpoint types whose listening socket the supervisor binds and shares (stream sockets over IP).
LISTENER_TYPES = ("tcp", "tcp6", "ssl")


def process_count(value: str, cores: Optional[int]) -> int:
    """The number of serving processes C{--processes} asks for: a whole number ≥ 1, or C{auto}
    (the number of C{cores}, 1 if unknown). Raises ValueError for anything else."""
    text = value.strip().lower()
    if text == "auto":
        return max(1, cores or 1)
    number = int(text)
    if number < 1:
        raise ValueError(value)
    return number


def shareable(endpoint: str) -> bool:
    """Whether a listener's endpoint string is of a type the supervisor can bind and share."""
    return endpoint.split(":", 1)[0].strip().lower() in LISTENER_TYPES


@dataclass
class RestartPolicy:
    """When to replace a serving process that died: at once after a run of C{stable} seconds or
    more, else after a delay that doubles from C{first} up to C{longest} (a crash loop must not spin)."""

    first: float = 0.5
    factor: float = 2.0
    longest: float = 30.0
    stable: float = 30.0

    def delay(self, ran_for: float, previous: float) -> float:
        """Seconds to wait before restarting, given how long the dead process ran and the delay
        before its own start (0 for a first start or after a stable run)."""
        if ran_for >= self.stable:
            return 0.0
        if previous <= 0:
            return self.first
        return min(self.longest, previous * self.factor)


@dataclass(frozen=True)
class ChildFds:
    """A serving process's descriptors: the map for C{spawnProcess(childFDs=...)}, and the numbers
    (as the child sees them) of its bus connection and of the listeners, in order."""

    child_fds: dict
    bus: int
    listeners: tuple

    def argument(self) -> str:
        """The value of the child's C{--inherited-fds}: C{BUS,LISTENER,...}."""
        return ",".join(str(fd) for fd in (self.bus, *self.listeners))


def child_fds(stdin: int, bus: int, listeners: list) -> ChildFds:
    """Where a child's descriptors go: C{stdin} (e.g. /dev/null) as 0, the supervisor's own stdout
    and stderr as 1 and 2 (the child logs where the supervisor does), its end of the bus socket as
    3, then the listening sockets, in the order the listeners are declared."""
    layout = {0: stdin, 1: 1, 2: 2, FIRST_FD: bus}
    numbers = []
    for offset, fd in enumerate(listeners, start=FIRST_FD + 1):
        layout[offset] = fd
        numbers.append(offset)
    return ChildFds(layout, FIRST_FD, tuple(numbers))


def parse_inherited(value: str) -> tuple[int, tuple]:
    """(bus, listeners) from C{--inherited-fds BUS,LISTENER,...}; ValueError if malformed."""
    numbers = [int(part) for part in value.split(",")]
    if not numbers or any(n < FIRST_FD for n in numbers) or len(set(numbers)) != len(numbers):
        raise ValueError(value)
    return numbers[0], tuple(numbers[1:])
