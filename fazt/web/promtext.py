"""The Prometheus text exposition format 0.0.4, written by hand (no client library at runtime)."""

from __future__ import annotations

from typing import Iterable, Optional

# Upper bounds of the latency histogram's buckets, in seconds (then +Inf).
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape_label(value: str) -> str:
    """A label value escaped per the text format: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def family(name: str, kind: str, help_text: str,
           samples: Iterable[tuple[Optional[dict], float]]) -> list[str]:
    """The lines of one metric family: HELP, TYPE and its samples (C{(labels or None, value)})."""
    help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        if labels:
            inner = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{inner}}} {_number(value)}")
        else:
            lines.append(f"{name} {_number(value)}")
    return lines


def histogram_family(name: str, help_text: str, samples: list[tuple[str, dict, float]]) -> list[str]:
    """The lines of a histogram family from L{fazt.web.figures.histogram_samples}."""
    lines = family(name, "histogram", help_text, [])
    for suffix, labels, value in samples:
        lines += family(name + suffix, "histogram", "", [(labels, value)])[2:]
    return lines
