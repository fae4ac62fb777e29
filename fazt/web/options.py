"""The HTTP connection options of C{twistd fazt} (SPEC §18): timeouts, head limits, draining.

Declared here and spliced into L{fazt.app.options.Options}; L{channel_limits} turns the parsed
options into the L{ChannelLimits} that L{fazt.web.root.FaztSite} gives each connection.
"""

from __future__ import annotations

from typing import Any, Mapping

from fazt.base.converters import seconds as _seconds
from fazt.base.converters import whole_number
from fazt.web.framing import KIB, MIB, ChannelLimits

_DEFAULT = ChannelLimits()


def _duration(name: str):
    return _seconds(name, 0.01, 86400)

HTTP_PARAMETERS = [
    ["header-timeout", None, _DEFAULT.header_timeout,
     "Seconds a request's line and headers may take to arrive (then 408).", _duration("header-timeout")],
    ["keepalive-timeout", None, _DEFAULT.idle_timeout,
     "Seconds an idle kept-alive connection stays open.", _duration("keepalive-timeout")],
    ["max-request-line-kb", None, _DEFAULT.max_request_line // KIB,
     "Longest request line, in KiB (longer: 414).", whole_number("max-request-line-kb")],
    ["max-headers-kb", None, _DEFAULT.max_header_bytes // KIB,
     "Most header bytes in one request, in KiB (more: 431).", whole_number("max-headers-kb")],
    ["max-header-lines", None, _DEFAULT.max_header_lines,
     "Most header lines in one request (more: 431).", whole_number("max-header-lines")],
    ["drain-seconds", None, _DEFAULT.drain_seconds,
     "After refusing a request (e.g. 413), how long its body is still read and dropped.", _duration("drain-seconds")],
    ["drain-mb", None, _DEFAULT.drain_bytes // MIB,
     "After refusing a request, how much of its body is still read and dropped, in MiB.", whole_number("drain-mb", 0)],
]


def channel_limits(config: Mapping[str, Any]) -> ChannelLimits:
    """The L{ChannelLimits} that parsed C{twistd fazt} options ask for."""
    return ChannelLimits(
        header_timeout=config["header-timeout"],
        idle_timeout=config["keepalive-timeout"],
        max_request_line=config["max-request-line-kb"] * KIB,
        max_header_bytes=config["max-headers-kb"] * KIB,
        max_header_lines=config["max-header-lines"],
        drain_seconds=config["drain-seconds"],
        drain_bytes=config["drain-mb"] * MIB,
    )
