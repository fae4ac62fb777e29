"""A site that counts its cron runs per minute, for the process tests of cron (SQLite and PostgreSQL).

Its entry runs every minute and adds one to C{ran:<minute>} (Unix seconds // 60, as the scheduler
counts minutes) with the atomic C{db.incr}, so two processes running the same minute would show as
2. C{GET /?minute=M} answers C{{"runs": N}}.

Deploying it before the serving processes start makes the first run come at once: the leader
checks the minute it starts in (fazt/cron/service.py). L{start_early_in_a_minute} keeps that start
well away from the next boundary, so that the run of the start minute also executes in it.
"""

from __future__ import annotations

import json
import time

__all__ = ["TICKER", "runs_in", "start_early_in_a_minute"]

TICKER = {
    "fazt.json": json.dumps({"cron": [{"schedule": "* * * * *", "path": "/tick"}]}),
    "main.js": """export default async function (req) {
  if (req.headers["x-fazt-cron"] === "1") {
    db.incr("ran:" + Math.floor(Date.now() / 60000));
    return new Response("ran");
  }
  return Response.json({ runs: db.get("ran:" + req.params.minute) || 0 });
}""",
}


def runs_in(node, minute: int, site: str = "ticker") -> int:
    """How many runs of C{minute} C{site} counted, asked of C{node} (a started L{Twistd})."""
    status, body = node.get(f"/?minute={minute}", host=f"{site}.example.test")
    assert status == 200, body
    return json.loads(body)["runs"]


def start_early_in_a_minute(start, latest: float = 40.0):
    """C{start()} once the clock is at most C{latest} seconds into a minute (waits for the next
    minute otherwise); its result."""
    into = time.time() % 60
    if into > latest:
        time.sleep(60 - into)
    return start()
