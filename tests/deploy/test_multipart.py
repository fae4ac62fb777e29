"""Tests for fazt.deploy.multipart: real bodies on disk, and hostile ones."""

import io
import os
import time
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fazt.deploy.multipart import (
    CHUNK_SIZE,
    FilePart,
    FileWindow,
    MultipartError,
    boundary_from_content_type,
    parse_multipart,
)

CURL_BOUNDARY = b"------------------------d74496d66958873e"
CHROME_BOUNDARY = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"


def part(disposition: str, content: bytes, content_type: str | None = None) -> bytes:
    headers = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        headers += f"Content-Type: {content_type}\r\n"
    return headers.encode() + b"\r\n" + content


def encode(parts: list[bytes], boundary: bytes, preamble: bytes = b"", epilogue: bytes = b"\r\n") -> bytes:
    """Assemble a body the way curl and browsers do: CRLF line ends throughout."""
    body = preamble
    for index, one in enumerate(parts):
        body += (b"\r\n" if index or preamble else b"") + b"--" + boundary + b"\r\n" + one
    return body + b"\r\n--" + boundary + b"--" + epilogue


@pytest.fixture
def on_disk(tmp_path):
    """Write bytes to a file and return it opened for reading."""
    opened = []

    def write(data: bytes):
        path = tmp_path / f"body{len(opened)}"
        path.write_bytes(data)
        opened.append(open(path, "rb"))
        return opened[-1]

    yield write
    for handle in opened:
        handle.close()


def window_bytes(body, file_part: FilePart) -> bytes:
    return FileWindow(body, file_part.offset, file_part.length).read()


CURL_BODY = encode([
    part('form-data; name="site_name"', b"blog"),
    part('form-data; name="file"; filename="site.zip"', b"PK\x03\x04 zip bytes \r\n--not-a-boundary", "application/zip"),
], CURL_BOUNDARY)


# --- well-formed bodies ------------------------------------------------------


def test_curl_style_body(on_disk):
    body = on_disk(CURL_BODY)
    fields, files = parse_multipart(body, CURL_BOUNDARY)
    assert fields == {"site_name": "blog"}
    assert files["file"].name == "file" and files["file"].filename == "site.zip"
    assert window_bytes(body, files["file"]) == b"PK\x03\x04 zip bytes \r\n--not-a-boundary"


def test_browser_style_body_with_unicode_and_extended_filename(on_disk):
    body = on_disk(encode([
        part('form-data; name="site_name"', "café".encode()),
        part("form-data; name=\"file\"; filename=\"fallback.zip\"; filename*=UTF-8''na%C3%AFve%20site.zip",
             b"data", "application/zip"),
        part('form-data; name="windows"; filename="C:\\fakepath\\x.zip"', b""),
        part('form-data; name="quoted\\"name"; filename="a\\\\b"', b"q"),
        part("form-data; name=bare", b"token value"),
    ], CHROME_BOUNDARY))
    fields, files = parse_multipart(body, CHROME_BOUNDARY)
    assert fields == {"site_name": "café", "bare": "token value"}
    assert files["file"].filename == "naïve site.zip"
    assert files["windows"].filename == "C:\\fakepath\\x.zip"
    assert files["windows"].length == 0
    assert files['quoted"name'].filename == "a\\b"


def test_empty_filename_is_still_a_file_part(on_disk):
    data = encode([part('form-data; name="file"; filename=""', b"")], CURL_BOUNDARY)
    expected = FilePart("file", "", data.index(b"\r\n\r\n") + 4, 0)
    assert parse_multipart(on_disk(data), CURL_BOUNDARY) == ({}, {"file": expected})


def test_preamble_epilogue_and_transport_padding(on_disk):
    data = (b"This is a preamble.\r\n--B \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1"
            b"\r\n--B\r\ncontent-disposition: FORM-DATA; NAME=\"b\"\r\n\r\n2\r\n"
            b"\r\n--B--  and an epilogue\r\n--B\r\nignored")
    assert parse_multipart(on_disk(data), b"B") == ({"a": "1", "b": "2\r\n"}, {})


def test_closing_boundary_without_trailing_newline(on_disk):
    data = encode([part("form-data; name=a", b"x")], b"B", epilogue=b"")
    assert parse_multipart(on_disk(data), b"B") == ({"a": "x"}, {})


def test_no_parts_at_all(on_disk):
    assert parse_multipart(on_disk(b"--B--\r\n"), b"B") == ({}, {})


def test_duplicate_names_first_wins(on_disk):
    body = on_disk(encode([
        part("form-data; name=site_name", b"first"),
        part("form-data; name=site_name", b"second" * 100_000),
        part('form-data; name=file; filename="a.zip"', b"A"),
        part("form-data; name=file", b"text"),
        part('form-data; name=file; filename="b.zip"', b"B"),
    ], b"B"))
    fields, files = parse_multipart(body, b"B", max_field_bytes=100)
    assert fields == {"site_name": "first"}
    assert window_bytes(body, files["file"]) == b"A"


def test_field_size_limit_is_inclusive(on_disk):
    body = on_disk(encode([part("form-data; name=a", b"x" * 10)], b"B"))
    assert parse_multipart(body, b"B", max_field_bytes=10) == ({"a": "x" * 10}, {})
    with pytest.raises(MultipartError, match="longer"):
        parse_multipart(body, b"B", max_field_bytes=9)


def test_part_count_limit(on_disk):
    body = on_disk(encode([part(f"form-data; name=f{number}", b"x") for number in range(4)], b"B"))
    assert len(parse_multipart(body, b"B", max_parts=4)[0]) == 4
    with pytest.raises(MultipartError, match="parts"):
        parse_multipart(body, b"B", max_parts=3)


@pytest.mark.parametrize("chunk_size", list(range(1, 48)) + [61, 64, 127, 1000])
def test_boundaries_spanning_chunk_edges(on_disk, chunk_size):
    body = on_disk(b"preamble\r\n" + CURL_BODY)
    expected = parse_multipart(body, CURL_BOUNDARY)
    assert parse_multipart(body, CURL_BOUNDARY, chunk_size=chunk_size) == expected


class ReadSpy(io.RawIOBase):
    """A file wrapper recording the largest single read."""

    def __init__(self, wrapped):
        self.wrapped, self.largest_read = wrapped, 0

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self.wrapped.seek(offset, whence)

    def read(self, size=-1):
        data = self.wrapped.read(size)
        self.largest_read = max(self.largest_read, len(data))
        return data


def test_large_file_part_is_streamed_not_loaded(on_disk):
    payload = os.urandom(5 * 1024 * 1024)
    data = encode([part("form-data; name=site_name", b"big"),
                   part('form-data; name=file; filename="big.bin"', payload)], CHROME_BOUNDARY)
    body = ReadSpy(on_disk(data))
    fields, files = parse_multipart(body, CHROME_BOUNDARY)
    assert fields == {"site_name": "big"}
    assert files["file"].length == len(payload)
    assert body.largest_read <= CHUNK_SIZE
    window = FileWindow(body.wrapped, files["file"].offset, files["file"].length)
    assert window.read() == payload


def test_zip_file_part_opens_through_a_window(on_disk):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", b"<h1>hello</h1>")
    body = on_disk(encode([part('form-data; name=file; filename="s.zip"', buffer.getvalue())], b"B"))
    file_part = parse_multipart(body, b"B")[1]["file"]
    with zipfile.ZipFile(FileWindow(body, file_part.offset, file_part.length)) as archive:
        assert archive.read("index.html") == b"<h1>hello</h1>"


# --- malformed bodies ----------------------------------------------------------


@pytest.mark.parametrize("data, message", [
    (b"", "missing boundary"),
    (b"complete garbage \x00\xff" * 50, "missing boundary"),
    (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue", "closing"),
    (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--B", "closing"),
    (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue\r\n--B\r\n", "closing"),
    (b"--B\r\nContent-Disposition: form-data; name=a", "unterminated"),
    (b"--B\r\nContent-Disposition: form-data; name=a\r\n" + b"X-Pad: " + b"x" * 20_000 + b"\r\n\r\n\r\n--B--",
     "unterminated"),
    (b"--Bogus\r\n", "boundary line"),
    (b"--B\r\nno colon here\r\n\r\nx\r\n--B--", "header"),
    (b"--B\r\nBad Name: x\r\n\r\nx\r\n--B--", "header"),
    (b"--B\r\nContent-Disposition: form-data; name=a\rX: y\r\n\r\nx\r\n--B--", "header"),
    (b"--B\r\nContent-Disposition: form-data; name=\xff\r\n\r\nx\r\n--B--", "utf-8"),
    (b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", "Content-Disposition"),
    (b"--B\r\n\r\nx\r\n--B--", "Content-Disposition"),
    (b"--B\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--B--", "form-data with a name"),
    (b"--B\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--B--", "form-data with a name"),
    (b'--B\r\nContent-Disposition: form-data; name="a\r\n\r\nx\r\n--B--', "parameter"),
    (b'--B\r\nContent-Disposition: form-data; name="a"junk\r\n\r\nx\r\n--B--', "parameter"),
    (b"--B\r\nContent-Disposition: form-data; name=a; junk\r\n\r\nx\r\n--B--", "parameter"),
    (b"--B\r\nContent-Disposition: form-data; name=a; filename*=koi8-r''x\r\n\r\nx\r\n--B--", "filename"),
    (b"--B\r\nContent-Disposition: form-data; name=a; filename*=utf-8''%FF\r\n\r\nx\r\n--B--", "filename"),
    (b"--B\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\xfe\r\n--B--", "not utf-8"),
])
def test_malformed_bodies(on_disk, data, message):
    with pytest.raises(MultipartError, match=message):
        parse_multipart(on_disk(data), b"B")


@pytest.mark.parametrize("disposition", [
    b"form-data; name=a" + b" " * 16_000 + b"b",
    b'form-data; name="' + b"\\" * 16_000 + b'"',
    b"form-data;" + b" ;" * 8_000 + b" name=a",
    b'form-data; name="a' + b'\\"' * 5_000,
])
def test_pathological_headers_are_parsed_in_linear_time(on_disk, disposition):
    data = b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\nx\r\n--B--"
    started = time.monotonic()
    try:
        parse_multipart(on_disk(data), b"B")
    except MultipartError:
        pass
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("boundary", [b"", b"x" * 201, b"a\r\nb", b"trailing ", "text"])
def test_bad_boundaries_are_refused(boundary):
    with pytest.raises(MultipartError):
        parse_multipart(io.BytesIO(b"--x--"), boundary)


# --- Content-Type -----------------------------------------------------------------


@pytest.mark.parametrize("header, boundary", [
    ("multipart/form-data; boundary=" + CURL_BOUNDARY.decode(), CURL_BOUNDARY),
    (b"multipart/form-data; boundary=" + CHROME_BOUNDARY, CHROME_BOUNDARY),
    ('Multipart/Form-Data; charset=utf-8; BOUNDARY="with space and ;"', b"with space and ;"),
    ("multipart/form-data;boundary=abc", b"abc"),
])
def test_boundary_from_content_type(header, boundary):
    assert boundary_from_content_type(header) == boundary


@pytest.mark.parametrize("header", [
    None, "", "application/json", "multipart/mixed; boundary=abc", "multipart/form-data",
    "multipart/form-data; boundary=", 'multipart/form-data; boundary=""',
    "multipart/form-data; boundary=" + "x" * 201, "multipart/form-data; boundary=caf\u00e9",
])
def test_boundary_from_bad_content_type(header):
    with pytest.raises(MultipartError):
        boundary_from_content_type(header)


# --- FileWindow ---------------------------------------------------------------


def test_file_window_is_a_seekable_view(on_disk):
    window = FileWindow(on_disk(b"0123456789"), 2, 5)
    assert window.readable() and window.seekable() and not window.writable()
    assert window.read(2) == b"23" and window.tell() == 2
    assert window.read() == b"456" and window.read() == b""
    assert window.seek(-2, io.SEEK_END) == 3 and window.read(10) == b"56"
    assert window.seek(1) == 1 and window.seek(1, io.SEEK_CUR) == 2
    buffer = bytearray(10)
    assert window.readinto(buffer) == 3 and buffer[:3] == b"456"
    assert window.seek(100) == 100 and window.read(5) == b""
    with pytest.raises(OSError):
        window.seek(-1)
    with pytest.raises(ValueError):
        window.seek(0, 7)
    assert io.BufferedReader(FileWindow(on_disk(b"abcdef"), 1, 3)).read() == b"bcd"
    window.close()
    with pytest.raises(ValueError):
        window.read()
    with pytest.raises(ValueError):
        FileWindow(io.BytesIO(), -1, 3)


def test_file_window_past_the_end_of_a_short_file(on_disk):
    assert FileWindow(on_disk(b"abc"), 1, 100).read() == b"bc"


# --- properties ---------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    b"--B", b"\r\n", b"\r\n\r\n", b"--", b"Content-Disposition: form-data", b"; name=", b'"x"', b"; filename=",
    b"; filename*=UTF-8''%41", b'"', b"\\", b" ", b"\xff", b"B", b"content-type: a/b",
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.lists(st.one_of(FRAGMENTS, st.binary(max_size=5)), max_size=40)
                 .map(b"".join)),
       st.one_of(st.just(b"B"), st.binary(max_size=8)),
       st.integers(1, 50))
def test_random_bodies_raise_only_multipart_errors(data, boundary, chunk_size):
    try:
        fields, files = parse_multipart(io.BytesIO(data), boundary, chunk_size=chunk_size)
    except MultipartError:
        return
    for file_part in files.values():
        assert 0 <= file_part.offset <= file_part.offset + file_part.length <= len(data)


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters='"\\'),
                min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(NAMES, st.one_of(st.text(max_size=50), st.binary(max_size=200)), max_size=5),
       st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20).map(str.encode),
       st.integers(1, 100))
def test_round_trip(values, boundary, chunk_size):
    parts = []
    for name, value in values.items():
        if isinstance(value, str):
            parts.append(part(f'form-data; name="{name}"', value.encode()))
        else:
            parts.append(part(f'form-data; name="{name}"; filename="f"', value))
    data = encode(parts, boundary)
    payloads = [value.encode() if isinstance(value, str) else value for value in values.values()]
    if any(b"\r\n--" + boundary in payload for payload in payloads):
        return  # a delimiter inside the content is ambiguous by definition
    body = io.BytesIO(data)
    fields, files = parse_multipart(body, boundary, chunk_size=chunk_size)
    assert fields == {name: value for name, value in values.items() if isinstance(value, str)}
    assert {name: window_bytes(body, file_part) for name, file_part in files.items()} == {
        name: value for name, value in values.items() if isinstance(value, bytes)}
