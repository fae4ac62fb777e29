"""Cron expressions: parsing, refusals with clear messages, and matching minutes (UTC)."""

from __future__ import annotations

import calendar

import pytest

from fazt.cron.schedule import ScheduleError, parse_schedule


def minute(text: str) -> int:
    """The Unix minute of C{"YYYY-MM-DD HH:MM"} UTC."""
    return calendar.timegm(tuple(map(int, text.replace("-", " ").replace(":", " ").split())) + (0, 0, 0, 0)) // 60


def fires(expr: str, *times: str) -> list[bool]:
    schedule = parse_schedule(expr)
    return [schedule.matches(minute(t)) for t in times]


def test_every_five_minutes():
    assert fires("*/5 * * * *", "2026-12-01 10:00", "2026-12-01 10:05", "2026-12-01 10:07") == [True, True, False]


def test_lists_ranges_and_steps():
    schedule = parse_schedule("0,30 9-17/2 * * *")
    assert schedule.minutes == {0, 30}
    assert schedule.hours == {9, 11, 13, 15, 17}
    assert parse_schedule("5/20 * * * *").minutes == {5, 25, 45}
    assert parse_schedule("10-40/10 * * * *").minutes == {10, 20, 30, 40}


def test_names_of_months_and_days():
    schedule = parse_schedule("0 12 * JAN-mar mon-fri")
    assert schedule.months == {1, 2, 3}
    assert schedule.weekdays == {1, 2, 3, 4, 5}
    # 2026-01-05 is a Monday, 2026-01-04 a Sunday, 2026-04-06 a Monday in April.
    assert fires("0 12 * jan-mar mon-fri", "2026-01-05 12:00", "2026-01-04 12:00", "2026-04-06 12:00") == [
        True, False, False]


def test_sunday_is_zero_and_seven():
    assert fires("0 0 * * 7", "2026-01-04 00:00") == [True]
    assert fires("0 0 * * 0", "2026-01-04 00:00") == [True]


def test_both_day_fields_restricted_means_either():
    # The 13th, or any Friday: 2026-02-13 is a Friday, 2026-03-13 too; 2026-03-06 is a Friday, 2026-03-12 neither.
    assert fires("0 0 13 * fri", "2026-03-06 00:00", "2026-03-13 00:00", "2026-03-12 00:00") == [True, True, False]
    # With day of week unrestricted, only the day of month counts.
    assert fires("0 0 13 * *", "2026-03-06 00:00", "2026-03-13 00:00") == [False, True]


def test_macros():
    assert fires("@hourly", "2026-12-01 10:00", "2026-12-01 10:01") == [True, False]
    assert fires("@daily", "2026-12-01 00:00", "2026-12-01 01:00") == [True, False]
    assert fires("@weekly", "2026-01-04 00:00", "2026-01-05 00:00") == [True, False]
    assert fires("@monthly", "2026-02-01 00:00") == [True]
    assert fires("@yearly", "2027-01-01 00:00", "2027-02-01 00:00") == [True, False]


@pytest.mark.parametrize("expr, words", [
    ("* * * *", "has 4 fields"),
    ("* * * * * *", "has 6 fields"),
    ("60 * * * *", "minute: 60 is outside 0-59"),
    ("* 24 * * *", "hour: 24 is outside 0-23"),
    ("* * 0 * *", "day of month: 0 is outside 1-31"),
    ("* * * 13 *", "month: 13 is outside 1-12"),
    ("* * * * 8", "day of week: 8 is outside 0-7"),
    ("*/0 * * * *", "step"),
    ("30-10 * * * *", "runs backwards"),
    ("a * * * *", "minute: 'a' is not a number"),
    ("1,,2 * * * *", "empty item"),
    ("@reboot", "unknown schedule"),
    ("", "has 0 fields"),
])
def test_invalid_schedules_say_why(expr, words):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expr)
    assert words in str(caught.value)


def test_a_schedule_must_be_a_string():
    with pytest.raises(ScheduleError):
        parse_schedule(5)
