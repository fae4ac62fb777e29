"""Scheduled JS: C{cron} entries in a site's C{fazt.json} run its handler on a schedule."""
