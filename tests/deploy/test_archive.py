"""Tests for fazt.deploy.archive: real zip files, many of them hostile."""

import io
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fazt.deploy.archive import (
    ArchiveError,
    Entry,
    Limits,
    inspect_archive,
    open_archive,
    read_entry,
)
from fazt.deploy.archive import _count_central_records  # the pre-count that guards zipfile's memory
from fazt.deploy.multipart import FileWindow

MIB = 1024 * 1024
DEFAULT_LIMITS = Limits()


def write_zip(path: Path, files, compression=zipfile.ZIP_DEFLATED) -> Path:
    """Write C{files} (name -> bytes, or ZipInfo -> bytes) to a zip at C{path}."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def open_path(path: Path, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    handle = open(path, "rb")
    try:
        return open_archive(handle, path.stat().st_size, limits)
    except BaseException:
        handle.close()
        raise


def load_all(path: Path, limits: Limits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Run the whole pipeline: open, inspect, read every entry."""
    with open_path(path, limits) as archive:
        entries = inspect_archive(archive, limits)
        return {entry.path: read_entry(archive, entry, limits) for entry in entries}


def expect_error(code: str, path: Path, limits: Limits = DEFAULT_LIMITS) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        load_all(path, limits)
    assert caught.value.code == code, caught.value.message
    return caught.value


def patch(path: Path, old: bytes, new: bytes, count: int = -1) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, count))


def central_record_offsets(data: bytes) -> list[int]:
    offsets, start = [], 0
    while (found := data.find(b"PK\x01\x02", start)) >= 0:
        offsets.append(found)
        start = found + 4
    return offsets


def patch_central_field(path: Path, index: int, field_offset: int, value: int) -> None:
    """Overwrite a 4-byte field of the index-th central directory record."""
    data = bytearray(path.read_bytes())
    record = central_record_offsets(bytes(data))[index]
    struct.pack_into("<L", data, record + field_offset, value)
    path.write_bytes(bytes(data))


CD_CRC, CD_COMPRESSED_SIZE, CD_FILE_SIZE, CD_HEADER_OFFSET = 16, 20, 24, 42


# --- well-formed archives -------------------------------------------------


def test_valid_archive_normalises_paths_and_reads_entries(tmp_path):
    path = write_zip(tmp_path / "site.zip", {
        "index.html": b"<h1>hi</h1>",
        "css/": b"",
        "css/app.css": b"body{}" * 100,
        "./js//app.js": b"console.log(1)",
        "_redirects": b"/* /index.html 200",
    })
    with open_path(path) as archive:
        entries = inspect_archive(archive, DEFAULT_LIMITS)
        assert [entry.path for entry in entries] == ["index.html", "css/app.css", "js/app.js", "_redirects"]
        assert all(isinstance(entry, Entry) for entry in entries)
        assert entries[1].size == 600
        assert read_entry(archive, entries[1], DEFAULT_LIMITS) == b"body{}" * 100


def test_stored_entries_are_read(tmp_path):
    path = write_zip(tmp_path / "s.zip", {"a.txt": b"abc" * 1000}, zipfile.ZIP_STORED)
    assert load_all(path) == {"a.txt": b"abc" * 1000}


def test_hidden_and_macos_metadata_are_skipped_but_well_known_is_kept(tmp_path):
    path = write_zip(tmp_path / "s.zip", {
        "index.html": b"x",
        "__MACOSX/._index.html": b"junk",
        ".DS_Store": b"junk",
        ".git/config": b"secret",
        "assets/.env": b"secret",
        ".well-known/security.txt": b"Contact: me",
        ".well-known/.hidden": b"no",
    })
    assert sorted(load_all(path)) == [".well-known/security.txt", "index.html"]


def test_archive_inside_a_larger_file_via_file_window(tmp_path):
    inner = write_zip(tmp_path / "inner.zip", {"index.html": b"hello"}).read_bytes()
    body = tmp_path / "body"
    body.write_bytes(b"preamble" * 100 + inner + b"epilogue" * 100)
    with open(body, "rb") as handle:
        window = FileWindow(handle, 800, len(inner))
        with open_archive(window, len(inner), DEFAULT_LIMITS) as archive:
            (entry,) = inspect_archive(archive, DEFAULT_LIMITS)
            assert read_entry(archive, entry, DEFAULT_LIMITS) == b"hello"


def test_archive_with_prepended_data_and_comment_is_counted(tmp_path):
    path = tmp_path / "sfx.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(5):
            archive.writestr(f"f{number}.txt", b"x")
        archive.comment = b"a comment moves the end record away from the end"
    path.write_bytes(b"#!/bin/sh stub\n" + path.read_bytes())
    assert len(load_all(path, Limits(max_entries=5))) == 5
    with open(path, "rb") as handle:
        assert _count_central_records(handle, 100) == 5
        assert _count_central_records(handle, 3) == 3
    expect_error("PAYLOAD_TOO_LARGE", path, Limits(max_entries=4))


def test_small_highly_compressible_files_are_exempt_from_the_ratio(tmp_path):
    path = write_zip(tmp_path / "s.zip", {"zeros.txt": bytes(MIB)})
    assert load_all(path) == {"zeros.txt": bytes(MIB)}


def test_error_codes_carry_statuses():
    assert ArchiveError("INVALID_ZIP", "x").status == 400
    assert ArchiveError("PAYLOAD_TOO_LARGE", "x").status == 413
    assert ArchiveError("INVALID_ZIP", "bad").message == "bad"
    with pytest.raises(ValueError):
        ArchiveError("NOPE", "x")


# --- hostile names ---------------------------------------------------------


@pytest.mark.parametrize("name", [
    "../../etc/passwd",
    "a/../../b.txt",
    "..",
    "a/..",
    "/etc/passwd",
    "a\\b.txt",
    "..\\..\\evil.txt",
    "C:/Windows/evil.txt",
    "c:evil.txt",
    "a\x01b.txt",
    "tab\there.txt",
    "del\x7f.txt",
    "__MACOSX/../../escape.txt",
    "../.hidden",
])
def test_unsafe_names_are_invalid(tmp_path, name):
    path = write_zip(tmp_path / "evil.zip", {"index.html": b"ok", name: b"pwned"})
    expect_error("INVALID_ZIP", path)


def test_nul_in_name_is_invalid(tmp_path):
    path = write_zip(tmp_path / "nul.zip", {"index.html": b"ok", "aXb.txt": b"x"})
    patch(path, b"aXb.txt", b"a\x00b.txt")
    expect_error("INVALID_ZIP", path)


def test_empty_names_are_invalid(tmp_path):
    expect_error("INVALID_ZIP", write_zip(tmp_path / "e.zip", {"index.html": b"ok", zipfile.ZipInfo(""): b"x"}))
    expect_error("INVALID_ZIP", write_zip(tmp_path / "dot.zip", {"index.html": b"ok", "./.": b"x"}))


def test_duplicate_paths_after_normalisation_are_invalid(tmp_path):
    path = write_zip(tmp_path / "dup.zip", {"a/b.txt": b"1", "a//./b.txt": b"2"})
    assert "duplicate" in expect_error("INVALID_ZIP", path).message


def test_symlink_entry_is_invalid(tmp_path):
    link = zipfile.ZipInfo("link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = write_zip(tmp_path / "link.zip", {"index.html": b"ok", link: b"/etc/passwd"})
    assert "symlink" in expect_error("INVALID_ZIP", path).message


def test_encrypted_flag_is_invalid(tmp_path):
    path = write_zip(tmp_path / "enc.zip", {"secret.txt": b"x" * 100})
    data = bytearray(path.read_bytes())
    data[6] |= 0x01  # local header general purpose flags
    data[central_record_offsets(bytes(data))[0] + 8] |= 0x01
    path.write_bytes(bytes(data))
    assert "encrypted" in expect_error("INVALID_ZIP", path).message


def test_unsupported_compression_is_invalid(tmp_path):
    path = write_zip(tmp_path / "bz.zip", {"a.txt": b"x" * 1000}, zipfile.ZIP_BZIP2)
    assert "compression" in expect_error("INVALID_ZIP", path).message


# --- not zips, broken zips ---------------------------------------------------


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"this is not a zip file at all\n" * 100)
    expect_error("INVALID_ZIP", path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"")
    expect_error("INVALID_ZIP", path)


@pytest.mark.parametrize("keep", [4, 30, 0.5, -1, -22, -30])
def test_truncated_zip(tmp_path, keep):
    path = write_zip(tmp_path / "t.zip", {"index.html": b"<p>" * 500, "b.txt": b"b" * 5000})
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:cut])
    expect_error("INVALID_ZIP", path)


def test_empty_zip_has_no_files(tmp_path):
    path = write_zip(tmp_path / "empty.zip", {})
    assert expect_error("INVALID_ZIP", path).message == "archive has no files"


def test_only_directories_and_metadata_has_no_files(tmp_path):
    path = write_zip(tmp_path / "dirs.zip", {"a/": b"", "a/b/": b"", "__MACOSX/x": b"", ".DS_Store": b""})
    assert expect_error("INVALID_ZIP", path).message == "archive has no files"


def test_crc_mismatch_is_invalid(tmp_path):
    path = write_zip(tmp_path / "crc.zip", {"a.txt": b"hello world" * 100})
    patch_central_field(path, 0, CD_CRC, 0xDEADBEEF)
    assert "corrupt" in expect_error("INVALID_ZIP", path).message


def test_declared_size_larger_than_data_is_invalid(tmp_path):
    path = write_zip(tmp_path / "short.zip", {"a.txt": b"hello world" * 100})
    patch_central_field(path, 0, CD_FILE_SIZE, 5000)
    expect_error("INVALID_ZIP", path)


def test_overlapping_entries_are_invalid(tmp_path):
    path = write_zip(tmp_path / "overlap.zip", {"a.txt": b"a" * 100, "b.txt": b"b" * 100})
    patch_central_field(path, 1, CD_HEADER_OFFSET, 0)
    assert "overlap" in expect_error("INVALID_ZIP", path).message


# --- size limits -------------------------------------------------------------


def test_archive_over_the_size_limit(tmp_path):
    path = write_zip(tmp_path / "big.zip", {"a.txt": b"x" * 5000})
    with pytest.raises(ArchiveError) as caught:
        open_path(path, Limits(max_archive_bytes=100))
    assert (caught.value.code, caught.value.status) == ("PAYLOAD_TOO_LARGE", 413)


def test_zip_bomb_is_refused_by_ratio(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w") as member:
            for _ in range(50):
                member.write(bytes(MIB))
    assert path.stat().st_size < 100_000
    assert "compressed more than" in expect_error("PAYLOAD_TOO_LARGE", path).message


def test_too_many_entries(tmp_path):
    path = write_zip(tmp_path / "many.zip", {f"f{number}.txt": b"x" for number in range(11)})
    expect_error("PAYLOAD_TOO_LARGE", path, Limits(max_entries=10))
    assert len(load_all(path, Limits(max_entries=11))) == 11


def test_too_many_entries_despite_a_lying_end_record(tmp_path):
    path = write_zip(tmp_path / "many.zip", {f"f{number}.txt": b"x" for number in range(11)})
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)  # entries on this disk, total entries
    path.write_bytes(bytes(data))
    expect_error("PAYLOAD_TOO_LARGE", path, Limits(max_entries=10))


def test_inspect_checks_the_entry_count_itself(tmp_path):
    path = write_zip(tmp_path / "many.zip", {f"f{number}.txt": b"x" for number in range(11)})
    with open_path(path) as archive, pytest.raises(ArchiveError) as caught:
        inspect_archive(archive, Limits(max_entries=10))
    assert caught.value.code == "PAYLOAD_TOO_LARGE"


def test_declared_total_too_large(tmp_path):
    path = write_zip(tmp_path / "total.zip", {"a.bin": b"a" * 600, "b.bin": b"b" * 600})
    expect_error("PAYLOAD_TOO_LARGE", path, Limits(max_total_bytes=1000))
    assert len(load_all(path, Limits(max_total_bytes=1200))) == 2


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_lying_header_that_inflates_beyond_its_declared_size(tmp_path, compression):
    path = write_zip(tmp_path / "liar.zip", {"a.txt": b"0123456789" * 20_000}, compression)
    patch_central_field(path, 0, CD_FILE_SIZE, 100)
    assert "declared size" in expect_error("PAYLOAD_TOO_LARGE", path).message


def test_lying_header_reads_at_most_declared_plus_one(tmp_path):
    path = write_zip(tmp_path / "liar.zip", {"a.txt": bytes(10 * MIB)})
    patch_central_field(path, 0, CD_FILE_SIZE, 10)
    reads = []
    with open_path(path) as archive:
        (entry,) = inspect_archive(archive, DEFAULT_LIMITS)
        original_open = archive.open

        def spying_open(info, *args, **kwargs):
            stream = original_open(info, *args, **kwargs)
            original_read = stream.read
            stream.read = lambda size=-1: reads.append(len(data := original_read(size))) or data
            return stream

        archive.open = spying_open
        with pytest.raises(ArchiveError) as caught:
            read_entry(archive, entry, DEFAULT_LIMITS)
    assert caught.value.code == "PAYLOAD_TOO_LARGE"
    assert sum(reads) == 11


def test_read_entry_refuses_an_entry_over_the_total_limit(tmp_path):
    path = write_zip(tmp_path / "a.zip", {"a.txt": b"x" * 2000})
    with open_path(path) as archive:
        (entry,) = inspect_archive(archive, DEFAULT_LIMITS)
        with pytest.raises(ArchiveError) as caught:
            read_entry(archive, entry, Limits(max_total_bytes=1000))
    assert caught.value.code == "PAYLOAD_TOO_LARGE"


# --- fuzzing -------------------------------------------------------------------


def _sample_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", b"<html>" + b"hello " * 50)
        archive.writestr("css/app.css", b"body{color:red}")
        archive.writestr("raw.bin", bytes(range(256)), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


SAMPLE_ZIP = _sample_zip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, len(SAMPLE_ZIP)))
def test_mutated_archives_raise_only_archive_errors(mutations, keep):
    data = bytearray(SAMPLE_ZIP)
    for offset, value in mutations:
        data[offset] = value
    data = bytes(data[:keep]) if keep else bytes(data)
    limits = Limits(max_total_bytes=MIB, max_entries=50)
    try:
        with open_archive(io.BytesIO(data), len(data), limits) as archive:
            for entry in inspect_archive(archive, limits):
                assert len(read_entry(archive, entry, limits)) == entry.size
    except ArchiveError as error:
        assert error.code in ("INVALID_ZIP", "PAYLOAD_TOO_LARGE")


def test_entry_count_is_checked_in_zip64_archives(tmp_path, monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 3)  # makes zipfile write zip64 end records
    path = write_zip(tmp_path / "z64.zip", {f"f{number}.txt": b"x" for number in range(11)})
    monkeypatch.undo()
    assert b"PK\x06\x06" in path.read_bytes()
    with open(path, "rb") as handle:
        assert _count_central_records(handle, 100) == 11
    expect_error("PAYLOAD_TOO_LARGE", path, Limits(max_entries=10))
    assert len(load_all(path, Limits(max_entries=11))) == 11
