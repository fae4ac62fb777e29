"""Image variants on demand: from the store if made before, else made on a thread pool and stored."""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from fazt.images.params import VariantSpec
from fazt.images.render import MAX_PIXELS, can_write_avif, make_variant
from fazt.store.interfaces import IStore
from fazt.store.variants import Variant, get_variant, put_variant


class ImageVariants:
    """Finds or makes variants; C{made} counts the variants this process made (tests, metrics).

    Concurrent requests for one variant share one making (a burst of visitors on a new page
    decodes the image once).
    """

    def __init__(self, reactor: IReactorTime, store: IStore, pool: ThreadPool, max_pixels: int = MAX_PIXELS) -> None:
        self._reactor = reactor
        self._store = store
        self._pool = pool
        self._max_pixels = max_pixels
        self._making: dict[tuple[str, str], list[Deferred]] = {}
        self.made = 0
        self.avif = can_write_avif()

    def variant(self, source_hash: str, load: Callable[[], Deferred], spec: VariantSpec) -> Deferred[Variant]:
        """The variant C{spec} of blob C{source_hash}, whose bytes C{load()} gives; errbacks with
        L{fazt.images.params.ImageRequestError} for a source that cannot be made into one."""
        key = (source_hash, spec.key)
        waiting: Deferred = Deferred()
        if key in self._making:
            self._making[key].append(waiting)
            return waiting
        self._making[key] = [waiting]

        def done(result):
            for d in self._making.pop(key):
                if isinstance(result, Failure):
                    d.errback(result)
                else:
                    d.callback(result)

        self._find_or_make(source_hash, load, spec).addBoth(done)
        return waiting

    @inlineCallbacks
    def _find_or_make(self, source_hash: str, load: Callable[[], Deferred], spec: VariantSpec):
        stored = yield self._store.read(get_variant, source_hash, spec.key)
        if stored is not None:
            return stored
        data = yield load()
        made = yield deferToThreadPool(self._reactor, self._pool, make_variant, data, spec, self._max_pixels)
        yield self._store.write(put_variant, source_hash, spec.key, made, self._reactor.seconds())
        self.made += 1
        return made
