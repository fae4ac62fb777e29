"""Tests for the CLI's text output helpers and upload progress."""

import io

import pytest

from fazt.cli.formatting import human_duration, human_size, render_table, size_with_bytes
from fazt.cli.progress import UploadProgress, progress_for


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
     (5 * 1024 ** 2, "5.0 MiB"), (3 * 1024 ** 3, "3.0 GiB"), (2 * 1024 ** 5, "2048.0 TiB")],
)
def test_human_size(size, text):
    assert human_size(size) == text


def test_size_with_bytes():
    assert size_with_bytes(2048) == "2.0 KiB (2048 bytes)"


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0s"), (5, "5s"), (61, "1m 1s"), (3600, "1h 0m"), (93784, "1d 2h"), (12.7, "12s")],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_render_table_aligns_columns_and_marks_missing_cells():
    table = render_table(("A", "LONG NAME"), [("xyz", None), ("q", True)])
    assert table.splitlines() == ["A    LONG NAME", "xyz  -", "q    yes"]


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


def test_progress_on_a_terminal_rewrites_one_line():
    stream = FakeTerminal()
    progress = UploadProgress(4 * 1024 * 1024, stream)
    for sent in range(0, 4 * 1024 * 1024 + 1, 16 * 1024):
        progress(sent)
    progress.finish()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 101
    assert "100% (4.0 MiB of 4.0 MiB)" in text
    updates = text.rstrip("\n").split("\r")[1:]
    lengths = [len(update) for update in updates]
    assert lengths == sorted(lengths), "a shorter line must blank out the longer one before it"


def test_progress_elsewhere_writes_a_few_plain_lines():
    stream = io.StringIO()
    progress = UploadProgress(1000, stream)
    for sent in (10, 300, 600, 999, 1000):
        progress(sent)
    progress.finish()
    assert [line.split()[1] for line in stream.getvalue().splitlines()] == [
        "25%", "50%", "75%", "100%"]


def test_no_progress_for_small_uploads():
    assert progress_for(1024 * 1024, io.StringIO()) is None
    assert progress_for(1024 * 1024 + 1, io.StringIO()) is not None
