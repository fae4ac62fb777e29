"""The byte-bounded LRU that keeps hot files in memory."""

from fazt.store.blobcache import ByteLRU


def test_evicts_least_recently_used_by_bytes():
    cache = ByteLRU(max_bytes=100, max_item_bytes=60)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # a is now the most recent
    cache.put("c", "C", 40)
    assert cache.get("b") is None
    assert cache.get("a") == "A" and cache.get("c") == "C"
    assert cache.size == 80


def test_oversized_items_are_not_kept_and_replacing_updates_size():
    cache = ByteLRU(max_bytes=100, max_item_bytes=60)
    cache.put("big", "X", 61)
    assert cache.get("big") is None and cache.size == 0
    cache.put("k", "v1", 10)
    cache.put("k", "v2", 30)
    assert cache.get("k") == "v2" and cache.size == 30 and len(cache) == 1


def test_counts_hits_and_misses():
    cache = ByteLRU(max_bytes=10)
    cache.get("nope")
    cache.put("k", 1, 1)
    cache.get("k")
    assert (cache.hits, cache.misses) == (1, 1)
