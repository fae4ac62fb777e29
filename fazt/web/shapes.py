"""Shapes shared by the public routes (C{/r/SLUG}, C{/webhook/ENDPOINT}, C{/track}) and the admin API.

The public routes look a redirect or a receiver up by the same names the admin API accepts when
it creates them, and C{/track} takes the same tags; both read the shapes from here so that the
sites' side does not import the API.
"""

from __future__ import annotations

import re

from fazt.analytics.events import MAX_TAGS, TAG_LIMIT

# A redirect's slug (C{/r/SLUG}) and a webhook receiver's endpoint (C{/webhook/ENDPOINT}).
SLUG = re.compile(r"[A-Za-z0-9_-]{1,64}")
ENDPOINT = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Tags: 1-64 characters without commas (not only spaces), at most 20 different ones.
TAGS_SCHEMA = {"type": "array", "maxItems": MAX_TAGS,
               "items": {"type": "string", "maxLength": TAG_LIMIT, "pattern": r"^[^,]*[^,\s][^,]*$"}}
