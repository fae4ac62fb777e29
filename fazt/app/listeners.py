"""How the process listens (SPEC §18): the listen backlog, and enough open files for the caps.

Twisted listens with a backlog of 50, so a burst of new connections overflows the kernel's
accept queue and clients wait for SYN retries (1 s, 3 s, 7 s...). Like nginx, fazt asks for 511
unless the endpoint string says otherwise. And a process started with the common soft limit of
1,024 open files runs out of them long before its connection cap: the soft limit is raised to
the hard one at start, and the cap is kept below what the process can really open.
"""

from __future__ import annotations

import re
import resource

from twisted.logger import Logger

LISTEN_BACKLOG = 511
# Descriptors the process needs besides client connections: the database and its WAL, thread
# and worker pipes, listening sockets, log files, outgoing fetches, ACME...
OPEN_FILE_HEADROOM = 512
# Endpoint types whose servers take a backlog= argument.
_BACKLOG_TYPES = ("tcp", "tcp6", "ssl")
# Endpoint strings separate arguments with ':', and a backslash escapes one.
_SEPARATOR = re.compile(r"(?<!\\):")

_log = Logger()


def with_backlog(endpoint: str, backlog: int = LISTEN_BACKLOG) -> str:
    """C{endpoint} with C{:backlog=N} added if it is a TCP or TLS server that sets none."""
    parts = _SEPARATOR.split(endpoint)
    if len(parts) < 2 or parts[0].strip().lower() not in _BACKLOG_TYPES:
        return endpoint
    if any(part.startswith("backlog=") for part in parts[1:]):
        return endpoint
    return f"{endpoint}:backlog={backlog}"


def raise_open_file_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards the hard one (once, at start); the new soft limit.

    C{wanted} is how many the process could use; an unlimited hard limit is raised only that far
    (Linux refuses an unlimited soft limit anyway).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, wanted) if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or target <= soft:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as error:
        _log.warn("Could not raise the open-file limit from {soft} to {target}: {error}",
                  soft=soft, target=target, error=error)
        return soft
    _log.info("Raised the open-file limit from {soft} to {target}", soft=soft, target=target)
    return target


def connection_cap(max_connections: int) -> int:
    """The connection cap the process can honour: C{max_connections}, or less if files run short.

    Raises the open-file limit first; warns when even the hard limit leaves too little room.
    """
    limit = raise_open_file_limit(max_connections + OPEN_FILE_HEADROOM)
    if limit == resource.RLIM_INFINITY or limit >= max_connections + OPEN_FILE_HEADROOM:
        return max_connections
    cap = max(limit // 2, limit - OPEN_FILE_HEADROOM)
    _log.warn("The open-file limit ({limit}) is below --max-connections {wanted} plus {headroom} for the "
              "process itself: at most {cap} connections will be accepted (raise the hard limit, "
              "e.g. LimitNOFILE= in the systemd unit)",
              limit=limit, wanted=max_connections, headroom=OPEN_FILE_HEADROOM, cap=cap)
    return cap
