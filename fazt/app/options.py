"""Command-line options of C{twistd fazt} (SPEC §2)."""

from __future__ import annotations

from twisted.python import usage

from fazt.names import SITE_NAME

DEFAULT_HTTP = "tcp:4698"


def _positive_int(name: str):
    def convert(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise usage.UsageError(f"--{name} must be a whole number, not {value!r}") from None
        if number <= 0:
            raise usage.UsageError(f"--{name} must be positive")
        return number

    return convert


class Options(usage.Options):
    """C{twistd -n fazt --domain D [--db PATH] [--http ENDPOINT]... [--https ENDPOINT]...}"""

    synopsis = "[options]"
    longdesc = (
        "Serves every site, app and the admin API of one fazt cartridge (a SQLite file). "
        "--http and --https take Twisted endpoint strings and may be repeated."
    )
    optParameters = [
        ["domain", "d", "localhost", "The domain: sites are NAME.DOMAIN, the admin API is admin.DOMAIN."],
        ["db", None, "data.db", "The cartridge: a SQLite file, created on first start."],
        ["env", None, "development", "development or production."],
        ["cache-mb", None, 64, "Memory for hot files, in MiB.", _positive_int("cache-mb")],
        ["keep-deployments", None, 20, "Deployments kept per site.", _positive_int("keep-deployments")],
        ["max-archive-mb", None, 100, "Largest deploy archive, in MiB.", _positive_int("max-archive-mb")],
        ["max-unpacked-mb", None, 500, "Largest unpacked deploy, in MiB.", _positive_int("max-unpacked-mb")],
        ["max-entries", None, 20000, "Most files in one deploy.", _positive_int("max-entries")],
    ]
    optFlags = [
        ["access-log", None, "Log every request (costs about a third of static throughput)."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["http"] = []
        self["https"] = []

    def opt_http(self, endpoint: str) -> None:
        """A plain-HTTP listener, as a Twisted endpoint string (repeatable). Default tcp:4698."""
        self["http"].append(endpoint)

    def opt_https(self, endpoint: str) -> None:
        """A TLS listener with one's own certificate, e.g. ssl:443:privateKey=k.pem:certKey=c.pem (repeatable)."""
        if not endpoint.startswith("ssl:"):
            raise usage.UsageError(
                "--https takes an ssl: endpoint with your own certificate for now; automatic ACME "
                "certificates for tcp: endpoints are not available yet"
            )
        self["https"].append(endpoint)

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
        if not self["http"] and not self["https"]:
            self["http"] = [DEFAULT_HTTP]
