"""
Text formatting for the CLI's output: sizes, durations and tables.
"""

from typing import Iterable, List, Sequence

SIZE_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(size_bytes: int) -> str:
    """
    Return C{size_bytes} in binary units: C{512 B}, C{1.5 KiB}, C{12.0 MiB}.
    """
    if size_bytes < 1024:
        return f"{size_bytes} B"
    size = float(size_bytes)
    for unit in SIZE_UNITS:
        size /= 1024
        if size < 1024 or unit == SIZE_UNITS[-1]:
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def size_with_bytes(size_bytes: int) -> str:
    """Return a size both ways, such as C{1.5 KiB (1536 bytes)}."""
    return f"{human_size(size_bytes)} ({size_bytes} bytes)"


def human_duration(seconds: float) -> str:
    """
    Return a duration as its two largest units: C{3d 4h}, C{4h 5m},
    C{5m 6s}, C{6s}.
    """
    remaining = max(0, int(seconds))
    parts = []
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, remaining = divmod(remaining, length)
        if amount or (parts and len(parts) < 2):
            parts.append(f"{amount}{unit}")
        if len(parts) == 2:
            break
    return " ".join(parts) or "0s"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """
    Return C{rows} as a plain-text table under C{headers}, each column as
    wide as its widest cell, separated by two spaces. C{None} cells show
    as C{-}.
    """
    text_rows: List[List[str]] = [list(headers)]
    text_rows.extend([_cell(value) for value in row] for row in rows)
    widths = [max(len(row[column]) for row in text_rows) for column in range(len(headers))]
    lines = []
    for row in text_rows:
        padded = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    """Return the text shown for one table cell."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
