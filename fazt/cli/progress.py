"""
Upload progress on stderr.

On a terminal one line is rewritten in place; elsewhere (a log file, a CI
job) a plain line is written at each quarter, so the output stays short.
Small uploads show nothing.
"""

import sys
from typing import Callable, Optional, TextIO

from fazt.cli.formatting import human_size

PROGRESS_THRESHOLD = 1024 * 1024
PLAIN_STEPS = (25, 50, 75, 100)


class UploadProgress:
    """
    Reports how much of an upload of C{total} bytes was sent.

    Call it with the running count of bytes sent; call L{finish} once the
    upload is over.
    """

    def __init__(self, total: int, stream: TextIO, label: str = "uploading"):
        self.total = total
        self.stream = stream
        self.label = label
        self.in_place = _is_terminal(stream)
        self._last_percent = -1
        self._last_line_length = 0
        self._next_plain_step = 0

    def __call__(self, sent: int) -> None:
        """Report that C{sent} bytes of the upload are out."""
        percent = min(100, sent * 100 // self.total) if self.total else 100
        if self.in_place:
            if percent != self._last_percent:
                self._last_percent = percent
                line = f"{self.label}: {percent:3d}% {self._amounts(sent)}"
                self.stream.write("\r" + line.ljust(self._last_line_length))
                self._last_line_length = max(self._last_line_length, len(line))
                self.stream.flush()
            return
        while self._next_plain_step < len(PLAIN_STEPS) and percent >= PLAIN_STEPS[self._next_plain_step]:
            step = PLAIN_STEPS[self._next_plain_step]
            self._next_plain_step += 1
            self.stream.write(f"{self.label}: {step}% {self._amounts(sent)}\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the in-place line so later output starts on a fresh one."""
        if self.in_place and self._last_percent >= 0:
            self.stream.write("\n")
            self.stream.flush()

    def _amounts(self, sent: int) -> str:
        """Return C{(sent of total)} in human units."""
        return f"({human_size(min(sent, self.total))} of {human_size(self.total)})"


def progress_for(total: int, stream: Optional[TextIO] = None) -> Optional[UploadProgress]:
    """
    Return an L{UploadProgress} for an upload of C{total} bytes, or C{None}
    when the upload is too small to be worth reporting.
    """
    if total <= PROGRESS_THRESHOLD:
        return None
    return UploadProgress(total, stream if stream is not None else sys.stderr)


def _is_terminal(stream: TextIO) -> bool:
    """Return whether C{stream} is a terminal."""
    isatty: Optional[Callable[[], bool]] = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False
