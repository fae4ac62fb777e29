"""Tests for fazt.web.conditional."""

import calendar
import email.utils

import pytest
from hypothesis import given, strategies as st

from fazt.web.conditional import (
    UNSATISFIABLE,
    _expand_two_digit_year,
    Unsatisfiable,
    etag_for,
    http_date,
    if_none_match_hits,
    if_range_allows,
    not_modified_since,
    parse_http_date,
    parse_range,
)

# RFC 9110 §5.6.7 example instant: Sun, 06 Nov 1994 08:49:37 GMT
T = 784111777.0
SHA = "3f9a1c2b" * 8  # 64 hex digits, like a SHA-256
TAG = '"' + SHA[:32] + '"'


# --- dates -----------------------------------------------------------------

def test_http_date_format():
    assert http_date(T) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_http_date_truncates_fractions():
    assert http_date(T + 0.999) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_http_date_matches_stdlib_formatter():
    for ts in (0, 951782400, 1700000000, 4102444799):  # includes 29 Feb 2000
        assert http_date(ts) == email.utils.formatdate(ts, usegmt=True)


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850
        "Sun Nov  6 08:49:37 1994",  # asctime
        "  Sun, 06 Nov 1994 08:49:37 GMT  ",
    ],
)
def test_parse_http_date_accepts_all_three_formats(value):
    assert parse_http_date(value) == T


def test_parse_http_date_roundtrip():
    for ts in (0, 1, 951782400, 1700000000.0, 4102444799):
        assert parse_http_date(http_date(ts)) == float(int(ts))


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37",  # no zone
        "Sun, 06 Nov 1994 08:49:37 UTC",  # wrong zone name
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 6 Nov 1994 08:49:37 GMT",  # one-digit day in IMF-fixdate
        "Sun, 31 Feb 1994 08:49:37 GMT",  # no such day
        "Sun, 29 Feb 1993 08:49:37 GMT",  # not a leap year
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 0000 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",  # month names are case-sensitive
        "Sun, ０６ Nov 1994 08:49:37 GMT",  # non-ASCII digits
        "1994-11-06T08:49:37Z",
        "784111777",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
    ],
)
def test_parse_http_date_rejects_malformed(value):
    assert parse_http_date(value) is None


def test_parse_http_date_accepts_leap_second():
    assert parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == calendar.timegm((2017, 1, 1, 0, 0, 0))


def test_rfc850_two_digit_year_is_never_more_than_50_years_ahead():
    assert _expand_two_digit_year(70, this_year=2026) == 2070
    assert _expand_two_digit_year(77, this_year=2026) == 1977
    assert _expand_two_digit_year(94, this_year=2026) == 1994
    assert _expand_two_digit_year(0, this_year=2026) == 2000
    assert _expand_two_digit_year(99, this_year=2049) == 2099
    assert _expand_two_digit_year(0, this_year=2099) == 2100
    assert parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT") == calendar.timegm((2000, 1, 1, 0, 0, 0))


# --- ETags -----------------------------------------------------------------

def test_etag_for_representations():
    assert etag_for(SHA, None) == TAG
    assert etag_for(SHA, "identity") == TAG
    assert etag_for(SHA, "gzip") == '"' + SHA[:32] + '-gz"'
    assert etag_for(SHA, "br") == '"' + SHA[:32] + '-br"'
    assert len({etag_for(SHA, e) for e in (None, "gzip", "br")}) == 3


def test_etag_for_lowercases_hash():
    assert etag_for(SHA.upper(), None) == TAG


@pytest.mark.parametrize("bad", ["", "abc", "z" * 64, "3f9a1c2b" * 3])
def test_etag_for_rejects_bad_hash(bad):
    with pytest.raises(ValueError):
        etag_for(bad, None)


def test_etag_for_rejects_unknown_encoding():
    with pytest.raises(ValueError):
        etag_for(SHA, "compress")


# --- If-None-Match ---------------------------------------------------------

@pytest.mark.parametrize(
    "header",
    [
        TAG,
        "*",
        " * ",
        "W/" + TAG,
        'W/"abc", ' + TAG,
        '"abc",' + TAG + ',"def"',
        '"abc", W/' + TAG,
        'W/"abc",W/' + TAG,
        '"with,comma", ' + TAG,
        SHA[:32],  # unquoted, as some sloppy clients send
    ],
)
def test_if_none_match_hits(header):
    assert if_none_match_hits(header, TAG)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        'W/"abc", "def"',
        '"' + SHA[:32] + '-gz"',  # other representation
        '"' + SHA[:31] + '"',
        '"' + SHA[:32],  # unterminated
        ",,, ,",
        '"*"',  # a tag that happens to be an asterisk is not the wildcard
    ],
)
def test_if_none_match_misses(header):
    assert not if_none_match_hits(header, TAG)


def test_if_none_match_weak_comparison_on_our_side():
    assert if_none_match_hits('"abc"', 'W/"abc"')


def test_if_none_match_distinguishes_encodings():
    gz = etag_for(SHA, "gzip")
    assert if_none_match_hits(gz, gz)
    assert not if_none_match_hits(gz, etag_for(SHA, "br"))
    assert not if_none_match_hits(gz, TAG)


# --- If-Modified-Since -----------------------------------------------------

def test_not_modified_since():
    header = http_date(T)
    assert not_modified_since(header, T)
    assert not_modified_since(header, T + 0.9)  # sub-second mtime
    assert not_modified_since(header, T - 100)
    assert not not_modified_since(header, T + 1)
    assert not_modified_since(http_date(T + 3600), T)


@pytest.mark.parametrize("header", [None, "", "yesterday", "Sun, 31 Feb 1994 08:49:37 GMT", "0"])
def test_not_modified_since_ignores_bad_dates(header):
    assert not not_modified_since(header, 0)


# --- Range -----------------------------------------------------------------

@pytest.mark.parametrize(
    "header, size, expected",
    [
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=0-9", 10, (0, 9)),
        ("bytes=2-5", 10, (2, 5)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=0-", 10, (0, 9)),
        ("bytes=9-", 10, (9, 9)),
        ("bytes=5-100", 10, (5, 9)),  # end clamped
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-10", 10, (0, 9)),
        ("bytes=-500", 10, (0, 9)),  # suffix longer than body: whole body
        ("bytes=-1", 1, (0, 0)),
        ("Bytes=1-2", 10, (1, 2)),  # unit is case-insensitive
        ("bytes= 1-2 ", 10, (1, 2)),
        ("bytes=1-2,", 10, (1, 2)),  # empty list elements are ignored
        ("bytes=007-008", 10, (7, 8)),
        ("bytes=0-" + "9" * 40, 10, (0, 9)),
    ],
)
def test_parse_range_satisfiable(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=5-2",  # last < first: invalid, ignore
        "bytes=0-1,4-5",  # several ranges: serve whole body
        "bytes=0-1, 0-1",
        "items=0-1",
        "0-1",
        "bytes=a-b",
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=1 - 2",
        "bytes=1_0-20",
        "bytes=٣-5",  # non-ASCII digit
        "bytes=0x1-2",
        "bytes=-" + "9" * 5000,  # absurdly long numbers
    ],
)
def test_parse_range_ignored(header):
    assert parse_range(header, 10) is None


@pytest.mark.parametrize(
    "header, size",
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=" + "9" * 40 + "-", 10),
        ("bytes=-0", 10),
        ("bytes=0-0", 0),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
    ],
)
def test_parse_range_unsatisfiable(header, size):
    assert parse_range(header, size) is UNSATISFIABLE


def test_unsatisfiable_sentinel():
    assert isinstance(UNSATISFIABLE, Unsatisfiable)
    assert repr(UNSATISFIABLE) == "UNSATISFIABLE"
    assert UNSATISFIABLE != (0, 0) and UNSATISFIABLE is not None


# --- If-Range --------------------------------------------------------------

def test_if_range_absent_allows():
    assert if_range_allows(None, TAG, T)


def test_if_range_etag_strong_match():
    assert if_range_allows(TAG, TAG, T)
    assert if_range_allows(" " + TAG + " ", TAG, T)
    assert not if_range_allows('"other"', TAG, T)
    assert not if_range_allows("W/" + TAG, TAG, T)  # weak never matches strongly
    assert not if_range_allows(TAG, "W/" + TAG, T)
    assert not if_range_allows(etag_for(SHA, "gzip"), TAG, T)


def test_if_range_date_must_be_equal():
    assert if_range_allows(http_date(T), TAG, T)
    assert if_range_allows(http_date(T), TAG, T + 0.5)
    assert not if_range_allows(http_date(T + 1), TAG, T)  # newer date is not "equal"
    assert not if_range_allows(http_date(T - 1), TAG, T)


@pytest.mark.parametrize("header", ["", "garbage", SHA[:32], "Sun, 31 Feb 1994 08:49:37 GMT"])
def test_if_range_malformed_refuses(header):
    assert not if_range_allows(header, TAG, T)


# --- robustness ------------------------------------------------------------

@given(st.text())
def test_parse_http_date_never_raises(value):
    result = parse_http_date(value)
    assert result is None or isinstance(result, float)


@given(st.text())
def test_if_none_match_never_raises(value):
    assert isinstance(if_none_match_hits(value, TAG), bool)


@given(st.text())
def test_not_modified_since_never_raises(value):
    assert isinstance(not_modified_since(value, T), bool)


@given(st.text(), st.integers(min_value=0, max_value=10**12))
def test_parse_range_never_raises_and_is_in_bounds(value, size):
    result = parse_range(value, size)
    if isinstance(result, tuple):
        start, end = result
        assert 0 <= start <= end < size


@given(st.from_regex(r"\Abytes=[0-9]{0,4}-[0-9]{0,4}\Z"), st.integers(min_value=0, max_value=20000))
def test_parse_range_structured_inputs_stay_in_bounds(value, size):
    result = parse_range(value, size)
    assert result is None or result is UNSATISFIABLE or 0 <= result[0] <= result[1] < size


@given(st.text())
def test_if_range_never_raises(value):
    assert isinstance(if_range_allows(value, TAG, T), bool)
