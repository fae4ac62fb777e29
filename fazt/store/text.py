"""Text PostgreSQL cannot store (SPEC §19): U+0000 (NUL).

PostgreSQL's C{text} refuses NUL, SQLite's stores it. So that both engines keep the same data, the
query modules decide per field, the same way on both: a KV value is stored in a form that reads back
as the same string (L{fazt.store.kv.encode_value}); console lines and analytics text, which are for
reading, show it as U+2400 (the Unicode symbol for NUL); names and keys refuse it. The API refuses it
in its requests' text before anything reaches the store (L{fazt.base.errors.refuse_nul}).
"""

from __future__ import annotations

from typing import Optional

NUL = "\x00"
# What a NUL is shown as in text kept for reading.
NUL_SYMBOL = "\u2400"
NUL_REFUSED = "{what} must not contain the character U+0000 (NUL)"


def visible_nul(text: Optional[str]) -> Optional[str]:
    """C{text} with each NUL shown as U+2400 (C{None} stays C{None})."""
    if text is None or NUL not in text:
        return text
    return text.replace(NUL, NUL_SYMBOL)
