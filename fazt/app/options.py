"""Command-line options of C{twistd fazt} (SPEC §2)."""

from __future__ import annotations

import ipaddress
import os

from twisted.python import usage

from fazt.acme.policy import LETS_ENCRYPT
from fazt.app.listeners import LISTEN_BACKLOG
from fazt.app.processoptions import PROCESS_PARAMETERS, ProcessOptions
from fazt.base.converters import rate as _rate
from fazt.base.converters import seconds as _seconds
from fazt.base.converters import whole_number as _whole_number
from fazt.base.names import SITE_NAME
from fazt.deploy.gitdeploy import GIT_PARAMETERS
from fazt.deploy.gitfetch import ALLOW_OPTION as GIT_FETCH_OPTION
from fazt.deploy.gitfetch import allowance as git_allowance
from fazt.ops.options import OPS_PARAMETERS, check_ops_options
from fazt.runtime.benchfetch import OPTION as BENCH_FETCH_OPTION
from fazt.runtime.benchfetch import AllowanceError, parse_allowance
from fazt.web.frontdoor import MAX_CONNECTIONS, MAX_PER_ADDRESS
from fazt.web.options import HTTP_PARAMETERS
from fazt.web.ratelimit import API_BURST, API_RATE, LOGIN_BURST, LOGIN_RATE
from fazt.ws.options import WS_PARAMETERS

DEFAULT_HTTP = "tcp:4698"


def _ping_seconds(value: str) -> float:
    """The WebSocket ping interval: 0 (off) or at least 2 seconds.

    Autobahn's timers round to whole seconds, so a shorter interval would drop healthy peers.
    """
    if value.strip() in ("0", "0.0"):
        return 0.0
    seconds = _seconds("ws-ping-seconds")(value)
    if seconds < 2:
        raise usage.UsageError("--ws-ping-seconds must be 0 (off) or at least 2")
    return seconds


class Options(ProcessOptions, usage.Options):
    """C{twistd -n fazt --domain D [--db PATH] [--http ENDPOINT]... [--https ENDPOINT]...}"""

    synopsis = "[options]"
    longdesc = (
        "Serves every site, app and the admin API of one fazt cartridge (a SQLite file). "
        "--http and --https take Twisted endpoint strings and may be repeated."
    )
    optParameters = [
        ["domain", "d", "localhost", "The domain: sites are NAME.DOMAIN, the admin API is admin.DOMAIN."],
        ["db", None, "data.db", "The cartridge: a SQLite file, created on first start, or a postgresql://USER:PASS@HOST/DB "
         "URL that several nodes may share (docs/SCALING.md)."],
        ["env", None, "development", "development or production."],
        ["cache-mb", None, 64, "Memory for hot files, in MiB.", _whole_number("cache-mb")],
        ["keep-deployments", None, 20, "Deployments kept per site.", _whole_number("keep-deployments")],
        ["image-max-mpx", None, 40, "Largest image /.fazt/image/ resizes, in millions of pixels.",
         _whole_number("image-max-mpx")],
        ["max-archive-mb", None, 100, "Largest deploy archive, in MiB.", _whole_number("max-archive-mb")],
        ["max-unpacked-mb", None, 500, "Largest unpacked deploy, in MiB.", _whole_number("max-unpacked-mb")],
        ["max-entries", None, 20000, "Most files in one deploy.", _whole_number("max-entries")],
        *GIT_PARAMETERS,
        ["js-workers", None, 0, "JavaScript worker processes (default: one per core, at least 2).", _whole_number("js-workers", 0)],
        ["js-cpu-ms", None, 100, "CPU time a script may use per request, in ms.", _whole_number("js-cpu-ms")],
        ["js-wall-seconds", None, 10, "Wall-clock time a script may take per request.", _whole_number("js-wall-seconds")],
        ["ws-max-per-site", None, 1000, "WebSocket connections per site (every process together).", _whole_number("ws-max-per-site")],
        ["ws-max-total", None, 10000, "WebSocket connections in all, per serving process.", _whole_number("ws-max-total")],
        ["ws-ping-seconds", None, 30.0, "WebSocket ping interval; 0 turns pings off.", _ping_seconds],
        *WS_PARAMETERS,
        ["analytics-flush-seconds", None, 5.0, "How often buffered analytics events are written.", _seconds("analytics-flush-seconds")],
        ["max-connections", None, MAX_CONNECTIONS, "Open connections in all, per serving process; more are refused at once.",
         _whole_number("max-connections")],
        ["max-connections-per-address", None, MAX_PER_ADDRESS,
         "Open connections from one client address (IPv6: one /64), per serving process; more are refused at once.",
         _whole_number("max-connections-per-address")],
        ["listen-backlog", None, LISTEN_BACKLOG,
         "The listen backlog of tcp: and ssl: listeners that set none.", _whole_number("listen-backlog")],
        ["api-rate-limit", None, API_RATE,
         "Admin API requests per second per client address, sustained, every process and node together; 0: no limit.", _rate("api-rate-limit")],
        ["api-rate-burst", None, API_BURST, "Admin API requests one client address may make at once.",
         _whole_number("api-rate-burst")],
        ["login-rate-limit", None, LOGIN_RATE,
         "Sign-in attempts per second per client address, sustained, every process and node together; 0: no limit.", _rate("login-rate-limit")],
        ["login-rate-burst", None, LOGIN_BURST, "Sign-in attempts one client address may make at once.",
         _whole_number("login-rate-burst")],
        ["metrics-token", None, None, "A bearer token that may read /metrics (besides admin keys)."],
        ["grace-seconds", None, 10.0, "On stop, how long in-flight requests may take to finish.", _seconds("grace-seconds")],
        *OPS_PARAMETERS,
        *PROCESS_PARAMETERS,
        *HTTP_PARAMETERS,
        ["acme-directory", None, LETS_ENCRYPT, "The ACME directory certificates come from (e.g. staging or Pebble)."],
        ["acme-email", None, None, "A contact e-mail for the ACME account (optional)."],
        ["acme-ca-bundle", None, None, "A PEM file of CAs to trust for the ACME directory (e.g. Pebble's)."],
        ["on-demand-per-minute", None, 10, "Certificates ordered on demand for custom domains, per minute in all.",
         _whole_number("on-demand-per-minute")],
        ["check-dns", None, None, "HOST:PORT of the DNS server 'fazt domain check' asks (default: the system's)."],
    ]
    optFlags = [
        ["access-log", None, "Log every request (costs about a third of static throughput)."],
        ["no-acme", None, "Order no certificates: --https tcp: listeners serve stored ones and a self-signed fallback."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["http"] = []
        self["https"] = []
        self["trusted-proxy"] = []
        self[BENCH_FETCH_OPTION] = None
        self[GIT_FETCH_OPTION] = None

    def opt_http(self, endpoint: str) -> None:
        """A plain-HTTP listener, as a Twisted endpoint string (repeatable). Default tcp:4698."""
        self["http"].append(endpoint)

    def opt_https(self, endpoint: str) -> None:
        """A TLS listener (repeatable): tcp:443 gets certificates by ACME, chosen by SNI;
        ssl:443:privateKey=k.pem:certKey=c.pem serves one's own certificate as given."""
        if not endpoint.strip() or endpoint.strip().isdigit():
            raise usage.UsageError(f"--https takes an endpoint string such as tcp:443, not {endpoint!r}")
        self["https"].append(endpoint)

    def opt_trusted_proxy(self, network: str) -> None:
        """A proxy network (CIDR) whose X-Forwarded-For is believed for the login lockout and rate
        limits, and which is held to --max-connections only, not the per-address cap (repeatable)."""
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            raise usage.UsageError(f"--trusted-proxy {network!r} is not an IP network (e.g. 10.0.0.0/8)") from None
        self["trusted-proxy"].append(network.strip())

    def opt_unsafe_bench_fetch_allow(self, target: str) -> None:
        """Benchmarks only: scripts may fetch this loopback ADDRESS:PORT. Not from FAZT_*; refused in production."""
        # Deliberately an opt_ method, not in optParameters: fazt.app.envconfig maps only those to FAZT_*.
        try:
            parse_allowance(target)
        except AllowanceError as error:
            raise usage.UsageError(str(error)) from None
        self[BENCH_FETCH_OPTION] = target.strip()

    def opt_unsafe_git_fetch_allow(self, target: str) -> None:
        """Tests only: deploys from Git may fetch this loopback ADDRESS:PORT. Not from FAZT_*; refused in production."""
        try:
            git_allowance(target)
        except ValueError as error:
            raise usage.UsageError(str(error)) from None
        self[GIT_FETCH_OPTION] = target.strip()

    def postOptions(self) -> None:
        domain = self["domain"].strip().lower().rstrip(".")
        labels = domain.split(".")
        if not domain or len(domain) > 253 or not all(
            len(label) <= 63 and SITE_NAME.match(label) for label in labels
        ):
            raise usage.UsageError(f"--domain {self['domain']!r} is not a valid domain name")
        self["domain"] = domain
        if self["env"] not in ("development", "production"):
            raise usage.UsageError("--env must be development or production")
        if self["env"] == "production" and self[BENCH_FETCH_OPTION] is not None:
            raise usage.UsageError(f"--{BENCH_FETCH_OPTION} is for benchmarks; it is refused with --env production")
        if self["env"] == "production" and self[GIT_FETCH_OPTION] is not None:
            raise usage.UsageError(f"--{GIT_FETCH_OPTION} is for tests; it is refused with --env production")
        if not self["acme-directory"].lower().startswith(("https://", "http://")):
            raise usage.UsageError("--acme-directory must be an http(s) URL")
        bundle = self["acme-ca-bundle"]
        if bundle is not None and not os.path.isfile(bundle):
            raise usage.UsageError(f"--acme-ca-bundle {bundle!r} is not a file")
        if bundle is not None:
            self["acme-ca-bundle"] = os.path.abspath(bundle)
        check_dns = self["check-dns"]
        if check_dns is not None:
            host, _, port = check_dns.strip().rpartition(":")
            if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise usage.UsageError("--check-dns takes HOST:PORT, such as 127.0.0.1:53")
        check_ops_options(self)
        if not self["http"] and not self["https"]:
            self["http"] = [DEFAULT_HTTP]
        self.check_processes()
