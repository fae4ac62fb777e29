"""HeapFreezer: the long-lived heap leaves the collector's walks once the process has started."""

import gc
import weakref

import pytest
from twisted.internet.task import Clock

from fazt.base.heap import HeapFreezer, freeze_heap


@pytest.fixture(autouse=True)
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def test_freezing_moves_the_tracked_objects_out_of_the_collected_generations():
    kept = [[index] for index in range(1000)]  # tracked containers that live on
    frozen = freeze_heap()
    assert frozen == gc.get_freeze_count() >= len(kept)


def test_garbage_present_at_the_freeze_is_collected_first_not_frozen():
    class Cycle:
        pass

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b  # a cycle: only the collector can free it
    assert gone() is not None
    freeze_heap()
    assert gone() is None  # collected, not kept for ever in the frozen generation


def test_the_service_freezes_at_each_delay_after_start_and_stops_cleanly():
    clock = Clock()
    freezer = HeapFreezer(clock, delays=(2.0, 30.0))
    freezer.startService()
    clock.advance(1.9)
    assert gc.get_freeze_count() == 0
    clock.advance(0.2)
    first = gc.get_freeze_count()
    assert first > 0 and freezer.frozen == first
    freezer.stopService()
    assert clock.getDelayedCalls() == []  # the second freeze is cancelled with the service
