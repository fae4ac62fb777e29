"""Tests for L{fazt.cli.zipdir}: what goes into a deploy archive."""

import os
import zipfile

import pytest

from fazt.cli.zipdir import ZipDirectoryError, zip_directory


def write(path, content=b"x"):
    """Create C{path} (and its parents) holding C{content}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


@pytest.fixture
def site(tmp_path):
    """A site directory with visible files, dot-files and dot-directories."""
    root = tmp_path / "site"
    write(root / "index.html", b"<h1>hello</h1>")
    write(root / "css" / "style.css", b"body{}" * 100)
    write(root / "a" / "b" / "c.txt", b"deep")
    write(root / ".env", b"SECRET=1")
    write(root / ".git" / "config", b"[core]")
    write(root / "css" / ".DS_Store", b"junk")
    write(root / "assets" / ".cache" / "big.bin", b"0" * 1000)
    write(root / ".well-known" / "security.txt", b"contact")
    return root


@pytest.fixture
def zipped(site):
    """The archive of L{site}, removed after the test."""
    result = zip_directory(str(site))
    yield result
    result.discard()


def test_skips_every_dot_file_and_dot_directory(zipped):
    with zipfile.ZipFile(zipped.path) as archive:
        names = sorted(archive.namelist())
    assert names == ["a/b/c.txt", "css/style.css", "index.html"]


def test_counts_files_and_unpacked_bytes(zipped):
    assert zipped.file_count == 3
    assert zipped.unpacked_size == len(b"<h1>hello</h1>") + 600 + len(b"deep")
    assert zipped.archive_size == os.path.getsize(zipped.path)


def test_entries_keep_their_content_and_are_deflated(zipped):
    with zipfile.ZipFile(zipped.path) as archive:
        assert archive.read("index.html") == b"<h1>hello</h1>"
        assert archive.read("css/style.css") == b"body{}" * 100
        assert archive.read("a/b/c.txt") == b"deep"
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
        assert archive.testzip() is None


def test_archive_is_a_temporary_file_the_caller_discards(site, tmp_path):
    result = zip_directory(str(site))
    assert os.path.isfile(result.path)
    assert not result.path.startswith(str(site))
    result.discard()
    assert not os.path.exists(result.path)
    result.discard()


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(ZipDirectoryError, match="directory not found"):
        zip_directory(str(tmp_path / "nope"))


def test_a_file_is_not_a_directory(tmp_path):
    write(tmp_path / "file.txt")
    with pytest.raises(ZipDirectoryError, match="not a directory"):
        zip_directory(str(tmp_path / "file.txt"))


@pytest.mark.parametrize("hidden_only", [False, True])
def test_empty_directory_is_an_error_and_leaves_no_temp_file(tmp_path, monkeypatch, hidden_only):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    root = tmp_path / "empty"
    root.mkdir()
    if hidden_only:
        write(root / ".htaccess")
        write(root / ".git" / "HEAD")
    with pytest.raises(ZipDirectoryError, match="nothing to deploy"):
        zip_directory(str(root))
    assert list(scratch.iterdir()) == []


def test_symlinked_directories_are_not_followed(tmp_path):
    root = tmp_path / "site"
    write(root / "index.html")
    os.symlink(root, root / "loop")
    result = zip_directory(str(root))
    try:
        with zipfile.ZipFile(result.path) as archive:
            assert archive.namelist() == ["index.html"]
    finally:
        result.discard()


def test_old_timestamps_do_not_break_the_archive(tmp_path):
    root = tmp_path / "site"
    write(root / "old.txt", b"1970")
    os.utime(root / "old.txt", (0, 0))
    result = zip_directory(str(root))
    try:
        with zipfile.ZipFile(result.path) as archive:
            assert archive.read("old.txt") == b"1970"
    finally:
        result.discard()


def test_already_compressed_files_are_stored_and_text_is_deflated(tmp_path):
    import zipfile as _zipfile

    from fazt.cli.zipdir import zip_directory

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>hello</p>" * 100)
    (site / "photo.jpg").write_bytes(os.urandom(4096))
    result = zip_directory(str(site))
    try:
        with _zipfile.ZipFile(result.path) as archive:
            methods = {info.filename: info.compress_type for info in archive.infolist()}
    finally:
        os.remove(result.path)
    assert methods == {"index.html": _zipfile.ZIP_DEFLATED, "photo.jpg": _zipfile.ZIP_STORED}
