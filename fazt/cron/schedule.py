"""Five-field cron schedules, parsed and matched (pure, synchronous).

C{minute hour day-of-month month day-of-week}, each field C{*}, a number, a range C{a-b}, any of
those with a step (C{*/5}, C{10-40/10}, C{5/15} meaning 5-59/15), or a comma list of them.
Months and weekdays may be named (C{jan}..C{dec}, C{sun}..C{sat}); weekday 7 is Sunday, as in
Vixie cron. The macros C{@yearly} (C{@annually}), C{@monthly}, C{@weekly}, C{@daily}
(C{@midnight}) and C{@hourly} stand for their usual expansions. Times are UTC, as on
Cloudflare's cron triggers.

When both day fields are restricted a day matches if either does (the classic cron rule);
otherwise both must. As in Vixie cron, a day field that starts with C{*} (C{*/2} too) counts
as unrestricted for this rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name: n for n, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DAYS = {name: n for n, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names) for each of the five fields.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
MAX_LENGTH = 200


class ScheduleError(ValueError):
    """A schedule that is not a valid cron expression; the message says what is wrong."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed values of each field."""

    text: str
    minutes: frozenset
    hours: frozenset
    days: frozenset
    months: frozenset
    weekdays: frozenset  # 0 = Sunday; 7 is folded into 0
    any_day: bool        # day of month was C{*}
    any_weekday: bool    # day of week was C{*}

    def matches(self, unix_minute: int) -> bool:
        """Whether the schedule fires in the UTC minute C{unix_minute} (Unix seconds // 60)."""
        t = time.gmtime(unix_minute * 60)
        if t.tm_min not in self.minutes or t.tm_hour not in self.hours or t.tm_mon not in self.months:
            return False
        day = t.tm_mday in self.days
        weekday = (t.tm_wday + 1) % 7 in self.weekdays  # tm_wday: Monday is 0
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday


def _number(token: str, names: dict, field: str, low: int, high: int) -> int:
    lowered = token.lower()
    if lowered in names:
        return names[lowered]
    # isascii: str.isdigit() accepts digits such as "\u00b2" that int() refuses.
    if not (token.isascii() and token.isdigit()):
        raise ScheduleError(f"{field}: {token!r} is not a number" + (" or a name" if names else ""))
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(f"{field}: {value} is outside {low}-{high}")
    return value


def _parse_item(item: str, field: str, low: int, high: int, names: dict) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not (step_text.isascii() and step_text.isdigit()) or int(step_text) < 1:
            raise ScheduleError(f"{field}: the step in {item!r} must be a whole number of at least 1")
        step = int(step_text)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start = _number(first, names, field, low, high)
        end = _number(last, names, field, low, high)
        if start > end:
            raise ScheduleError(f"{field}: the range {base!r} runs backwards")
    else:
        start = _number(base, names, field, low, high)
        end = high if slash else start
    return set(range(start, end + 1, step))


def _parse_field(text: str, field: str, low: int, high: int, names: dict) -> frozenset:
    if not text:
        raise ScheduleError(f"{field}: empty")
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"{field}: empty item in {text!r}")
        values |= _parse_item(item, field, low, high, names)
    return frozenset(values)


def parse_schedule(text: object) -> Schedule:
    """Parse a cron expression; raises L{ScheduleError} with a clear message."""
    if not isinstance(text, str):
        raise ScheduleError("a schedule must be a string such as \"*/5 * * * *\"")
    if len(text) > MAX_LENGTH:
        raise ScheduleError(f"a schedule is at most {MAX_LENGTH} characters")
    expanded = text.strip()
    if expanded.startswith("@"):
        if expanded.lower() not in MACROS:
            raise ScheduleError(f"unknown schedule {expanded!r} (known: {', '.join(sorted(MACROS))})")
        expanded = MACROS[expanded.lower()]
    parts = expanded.split()
    if len(parts) != 5:
        raise ScheduleError(f"{text!r} has {len(parts)} fields; a schedule has 5: minute hour "
                            "day-of-month month day-of-week")
    fields = [_parse_field(part, *spec[:3], spec[3]) for part, spec in zip(parts, _FIELDS)]
    weekdays = frozenset(d % 7 for d in fields[4])
    return Schedule(text.strip(), fields[0], fields[1], fields[2], fields[3], weekdays,
                    any_day=parts[2].startswith("*"), any_weekday=parts[4].startswith("*"))
