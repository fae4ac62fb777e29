"""The C{cron} list of a site's C{fazt.json}, read and checked (pure, synchronous).

C{{"cron": [{"schedule": "*/5 * * * *", "path": "/tasks/x"}]}}. Deploys refuse a C{fazt.json}
that is not JSON or whose entries are wrong (as Cloudflare refuses an invalid cron trigger),
so the scheduler only ever sees entries that parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fazt.cron.schedule import Schedule, ScheduleError, parse_schedule

CONFIG_FILE = "fazt.json"
MAX_CONFIG_BYTES = 64 * 1024
MAX_ENTRIES = 20
MAX_PATH = 1024


class ConfigError(ValueError):
    """A C{fazt.json} that cannot be used; the message names the entry and the problem."""


@dataclass(frozen=True)
class CronEntry:
    """One scheduled run: when, and which path of the site's handler to request."""

    schedule: Schedule
    path: str

    @property
    def key(self) -> str:
        """The entry's identity across deploys: an unchanged entry keeps its run history."""
        return f"{self.schedule.text} {self.path}"


def _check_path(path: object, where: str) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"{where}: \"path\" must be a string starting with /")
    if len(path) > MAX_PATH or not all(33 <= ord(c) <= 126 for c in path):
        raise ConfigError(f"{where}: \"path\" must be at most {MAX_PATH} printable ASCII characters "
                          "without spaces (percent-encode the others)")
    return path


def parse_config(data: bytes) -> list[CronEntry]:
    """The cron entries of a C{fazt.json}'s bytes; raises L{ConfigError}."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{CONFIG_FILE} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{CONFIG_FILE} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{CONFIG_FILE} is not valid JSON: nested too deeply") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{CONFIG_FILE} must hold a JSON object")
    entries = config.get("cron", [])
    if not isinstance(entries, list):
        raise ConfigError("\"cron\" must be a list of {\"schedule\", \"path\"} objects")
    if len(entries) > MAX_ENTRIES:
        raise ConfigError(f"\"cron\" may hold at most {MAX_ENTRIES} entries")
    parsed: list[CronEntry] = []
    for number, entry in enumerate(entries):
        where = f"cron[{number}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be an object with \"schedule\" and \"path\"")
        if "schedule" not in entry:
            raise ConfigError(f"{where}: \"schedule\" is missing")
        try:
            schedule = parse_schedule(entry["schedule"])
        except ScheduleError as exc:
            raise ConfigError(f"{where}: invalid schedule: {exc}") from None
        cron = CronEntry(schedule, _check_path(entry.get("path", "/"), where))
        if any(other.key == cron.key for other in parsed):
            raise ConfigError(f"{where} repeats an earlier entry")
        parsed.append(cron)
    return parsed


def check_deploy(config: bytes, is_app: bool) -> list[CronEntry]:
    """Check a deploy's C{fazt.json}: it must parse, and cron entries need a C{main.js}."""
    entries = parse_config(config)
    if entries and not is_app:
        raise ConfigError("\"cron\" entries run the site's main.js, and this deploy has none")
    return entries
