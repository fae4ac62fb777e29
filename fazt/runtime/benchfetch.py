"""The benchmark-only loopback allowance for script C{fetch} (C{twistd fazt --unsafe-bench-fetch-allow}).

SPEC §7 refuses every loopback address to a script's C{fetch}, and it must: a script that could reach
127.0.0.1 could talk to the admin API, to a database or to anything else listening on the server. The
I/O-bound case of C{bench/js.py} needs exactly that, though: an upstream on this machine that answers
after 100 ms, since the benchmark may reach nothing else. So the allowance is as narrow as it can be:

  - one literal loopback address and one port (C{127.0.0.1:PORT}, C{[::1]:PORT}); a name such as
    C{localhost}, another port, another loopback address or any private range stays refused;
  - C{http} only, and no redirect is followed from it (a redirect cannot lead to another port);
  - only from the C{twistd fazt} command line: it is not read from C{FAZT_*} variables (C{fazt.tac},
    containers), it is refused with C{--env production}, and a warning is logged at start.

Every other URL goes to the normal L{SafeFetcher} with every rule of SPEC §7 in force.
"""

from __future__ import annotations

import ipaddress
from typing import Optional

from twisted.internet.defer import gatherResults
from twisted.logger import Logger

from fazt.runtime.fetch import SafeFetcher
from fazt.runtime.ssrf import AddressPolicy, FetchBlocked, ParsedTarget, check_url

OPTION = "unsafe-bench-fetch-allow"

_log = Logger()


class AllowanceError(ValueError):
    """An allowance that is not one literal loopback address with a port; the message says why."""


def parse_allowance(text: str) -> tuple[str, int]:
    """C{(address, port)} of C{"127.0.0.1:PORT"} or C{"[::1]:PORT"}, or L{AllowanceError}.

    Only loopback addresses: the allowance exists for an upstream the benchmark runs on this machine.
    """
    text = text.strip() if isinstance(text, str) else ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.rpartition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise AllowanceError(f"--{OPTION} takes a literal loopback address and a port, such as "
                             f"127.0.0.1:8080, not {text!r}") from None
    if not address.is_loopback or (isinstance(address, ipaddress.IPv6Address) and not text.startswith("[")):
        raise AllowanceError(f"--{OPTION} allows only a loopback address (127.0.0.0/8 or [::1]), not {host}")
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise AllowanceError(f"--{OPTION} needs a port 1-65535 after the address, as in 127.0.0.1:8080")
    return str(address), int(port_text)


class BenchLoopbackFetcher:
    """A fetcher that reaches one loopback C{address:port} besides what C{fetcher} reaches.

    @param fetcher: the normal fetcher (a L{SafeFetcher}); every URL but the allowed one goes to it.
    @param reactor: the reactor, for the fetcher of the allowed target.
    @param address: the loopback address, as L{parse_allowance} gives it.
    @param port: the one port allowed on it.
    """

    def __init__(self, fetcher, reactor, address: str, port: int) -> None:
        self._fetcher = fetcher
        self._address, self._port = address, port
        self._policy = AddressPolicy(allowed_networks=(ipaddress.ip_network(address),))
        # No redirects: every hop of this fetcher would be allowed the whole address, any port.
        self._allowed = SafeFetcher(reactor, policy=self._policy, max_redirects=0)

    def allows(self, url: str) -> bool:
        """Whether C{url} names exactly the allowed C{http://address:port}."""
        return self._allowed_target(url) is not None

    def fetch(self, url, *args, **kwargs):
        """Fetch C{url}: the allowed target directly, anything else under the normal rules."""
        target = self._allowed_target(url)
        if target is not None:
            # Checked just now under the allowed fetcher's own policy: no need to parse it twice.
            return self._allowed.fetch_checked(target, *args, **kwargs)
        return self._fetcher.fetch(url, *args, **kwargs)

    def close(self):
        """Close the idle connections of both fetchers."""
        return gatherResults([self._fetcher.close(), self._allowed.close()]).addCallback(lambda _: None)

    def _allowed_target(self, url: str) -> Optional[ParsedTarget]:
        try:
            target = check_url(url, self._policy)
        except FetchBlocked:
            return None
        if (target.scheme == "http" and target.is_ip_literal and target.host == self._address
                and target.port == self._port):
            return target
        return None


def with_bench_allowance(fetcher, reactor, allowance: Optional[str]):
    """C{fetcher} itself when C{allowance} is C{None} (always, outside benchmarks), else the allowance.

    @param allowance: the value of C{--unsafe-bench-fetch-allow} (C{"127.0.0.1:PORT"}), or C{None}.
    """
    if allowance is None:
        return fetcher
    address, port = parse_allowance(allowance)
    _log.warn("--{option} {allowance}: scripts may fetch this loopback port (benchmarks only; "
              "never use it on a server that hosts other people's code)", option=OPTION, allowance=allowance)
    return BenchLoopbackFetcher(fetcher, reactor, address, port)
