"""Giving an ended session's memory back to the system.

A session's objects (pipecat processors, the peer connection, their tasks) form
reference cycles, so they are freed by Python's cycle collector, whose full
collections become rare as a server's heap grows: ended sessions would pile up
until one runs. And glibc keeps freed memory mapped unless asked to trim. So
after sessions end (debounced) this runs a full collection, made cheap by
freezing the startup heap (imports, models) out of the collector's view, and
``malloc_trim``s in a thread.

Between those runs, Python's own thresholds would have the collector walk the
whole heap of live sessions while sessions start: a burst of 32 starts here ran
one such full collection (37-75 ms, collecting nothing) and some 140 young and
middle ones, together 96-150 ms of the event loop, about 12% of the burst,
when every session's audio waits. While serving, :meth:`MemoryReclaimer.set_thresholds`
has young collections run every 10,000 net allocations instead of 700 and
leaves full collections to the reclaimer (Python's still runs one, rarely):
the same burst then spent 26-45 ms in the collector and ran no full one.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable

from loguru import logger

RECLAIM_DELAY_SECS = 1.0
DEFAULT_MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter
_frozen = False


def limit_malloc_arenas(arenas: int = DEFAULT_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` does), before threads start.

    glibc gives threads arenas of their own (up to 8 per core); the model threads
    (turn analysis, transcription, synthesis) then leave memory spread over arenas
    that ``malloc_trim`` cannot give back. Measured here, 16 spoken turns grew the
    process by 60-180 MB with glibc's default and stayed within 2-40 MB with 2
    arenas. An operator's own ``MALLOC_ARENA_MAX`` wins. Returns whether it applied.
    """
    if arenas <= 0 or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    return bool(mallopt(_M_ARENA_MAX, arenas))


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


class MemoryReclaimer:
    def __init__(self, delay_secs: float = RECLAIM_DELAY_SECS) -> None:
        self._delay = delay_secs
        self._trim = _malloc_trim()
        self._scheduled: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    @staticmethod
    def freeze_startup_heap() -> None:
        """Collect once, then keep what exists now out of every later collection
        (once per process: later servers in the same process share the freeze)."""
        global _frozen
        if not _frozen:
            _frozen = True
            gc.collect()
            gc.freeze()

    @staticmethod
    def set_thresholds(thresholds: tuple[int, int, int]) -> None:
        """The collector's thresholds while serving (``ServerSettings.gc_thresholds``)."""
        gc.set_threshold(*thresholds)

    def session_ended(self) -> None:
        """Reclaim soon (one run for a burst of ends)."""
        if self._scheduled is not None or (self._task is not None and not self._task.done()):
            return
        loop = asyncio.get_running_loop()
        self._scheduled = loop.call_later(self._delay, self._start)

    def _start(self) -> None:
        self._scheduled = None
        self._task = asyncio.create_task(self.reclaim(), name="reclaim-memory")

    async def reclaim(self) -> None:
        gc.collect()
        if self._trim is not None:
            try:
                await asyncio.to_thread(self._trim)
            except Exception as exc:  # a failed trim only means memory stays mapped
                logger.debug(f"malloc_trim failed: {exc!r}")
        self.runs += 1

    def close(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
