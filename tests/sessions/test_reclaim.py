"""While serving, a growing heap of live objects (sessions starting) runs no
full collection of the cycle collector; Python's own thresholds run several.

The collector's own callbacks count the collections by generation.
"""

import gc
from collections.abc import Iterator

import pytest

from rtvi_server.sessions.reclaim import MemoryReclaimer
from rtvi_server.settings import GC_THRESHOLDS

PYTHON_OWN = (700, 10, 10)


@pytest.fixture(autouse=True)
def restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def full_collections_while_growing(objects: int) -> int:
    """Full collections while ``objects`` live containers are made (in small
    reference cycles, as a session's processors and tasks are)."""
    full = 0

    def count(phase: str, info: dict[str, int]) -> None:
        nonlocal full
        if phase == "stop" and info["generation"] == 2:
            full += 1

    gc.collect()
    live: list[object] = []
    gc.callbacks.append(count)
    try:
        for _ in range(objects // 2):
            a: list[object] = []
            b = [a]
            a.append(b)
            live.append(a)
    finally:
        gc.callbacks.remove(count)
    return full


def test_pythons_own_thresholds_walk_the_whole_heap_as_it_grows():
    MemoryReclaimer.set_thresholds(PYTHON_OWN)
    assert full_collections_while_growing(400_000) >= 2


def test_serving_thresholds_leave_full_collections_to_the_reclaimer():
    MemoryReclaimer.set_thresholds(GC_THRESHOLDS)
    assert gc.get_threshold() == GC_THRESHOLDS
    assert full_collections_while_growing(400_000) == 0
