"""A byte-bounded LRU cache of file contents, keyed by content hash.

Content-addressed keys never go stale: a redeploy that changes a file changes its hash. Used
only from the reactor thread, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, Optional, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    """Keeps the most recently used values whose sizes add up to at most C{max_bytes}."""

    def __init__(self, max_bytes: int, max_item_bytes: Optional[int] = None) -> None:
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes if max_item_bytes is not None else max_bytes // 8
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.size = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Optional[V]:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Remember C{value}; values larger than C{max_item_bytes} are not kept."""
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= old[1]
        if size > self.max_item_bytes:
            return
        self._items[key] = (value, size)
        self.size += size
        while self.size > self.max_bytes:
            _, (_, evicted) = self._items.popitem(last=False)
            self.size -= evicted
