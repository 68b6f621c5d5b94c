"""Saying where the event loop was when it stopped answering.

Every session's audio waits on one event loop: a callback that holds it for half a
second makes every bot in the process half a second late, and the loop-lag gauge
only says *that* it happened. This watch says *where*: the loop beats a clock
every few tens of milliseconds; a thread of its own samples the loop thread's
Python stack while the beat is overdue, and when the loop comes back it logs the
stall's length and the stack it was sampled in most often. The thread reads the
clock and, only during a stall, the stack, so an unstalled loop pays one timer
callback per beat.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

DEFAULT_STALL_SECS = 0.25
BEAT_SECS = 0.05
#: Innermost frames kept per sample: enough to name the callback and what it called.
STACK_DEPTH = 12


@dataclass
class Stall:
    """One stall: how long the loop did not run, and where it was seen."""

    secs: float
    samples: Counter[tuple[str, ...]] = field(default_factory=Counter)

    @property
    def where(self) -> tuple[str, ...]:
        """The stack seen most often (innermost last), or () if none was sampled."""
        if not self.samples:
            return ()
        return self.samples.most_common(1)[0][0]

    def describe(self) -> str:
        head = f"event loop stalled {self.secs * 1000:.0f} ms"
        if not self.samples:
            return head + " (not sampled)"
        seen, top = sum(self.samples.values()), self.samples.most_common(1)[0][1]
        return "\n  ".join([f"{head} ({top}/{seen} samples in):", *self.where])


class LoopStallWatch:
    """Reports each time the running loop misses its beat by ``stall_secs`` or more."""

    def __init__(
        self,
        stall_secs: float = DEFAULT_STALL_SECS,
        *,
        report: Callable[[Stall], None] | None = None,
    ) -> None:
        if stall_secs <= 0:
            raise ValueError("stall_secs must be positive")
        self._stall_secs = stall_secs
        self._report = report or _log_stall
        self._last_beat = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._current: Stall | None = None
        self._loop_thread = 0
        self.stalls = 0
        self.stalled_secs = 0.0

    def start(self) -> None:
        """Start watching the running loop (call from it)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._last_beat = time.monotonic()  # the time before start is no stall
        self._beat()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-stall-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _beat(self) -> None:
        now = time.monotonic()
        gap = now - self._last_beat
        self._last_beat = now
        stall, self._current = self._current, None
        if gap >= self._stall_secs + BEAT_SECS:  # else a sample raced this beat: drop it
            self._ended(stall or Stall(0.0), gap - BEAT_SECS)
        assert self._loop is not None
        self._timer = self._loop.call_later(BEAT_SECS, self._beat)

    def _ended(self, stall: Stall, secs: float) -> None:
        stall.secs = secs
        self.stalls += 1
        self.stalled_secs += secs
        try:
            self._report(stall)
        except Exception as exc:  # a broken reporter must not stop the beat
            logger.debug(f"stall report failed: {exc!r}")

    def _watch(self) -> None:
        poll = min(BEAT_SECS, self._stall_secs / 4)
        while not self._stop.wait(poll):
            overdue = time.monotonic() - self._last_beat - BEAT_SECS
            if overdue < self._stall_secs:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None:
                continue
            stall = self._current or Stall(overdue)
            stall.samples[_stack(frame)] += 1
            self._current = stall


def _stack(frame: object) -> tuple[str, ...]:
    summary = traceback.extract_stack(frame, limit=STACK_DEPTH)  # type: ignore[arg-type]
    return tuple(f"{_short(f.filename)}:{f.lineno} {f.name}" for f in summary)


def _short(filename: str) -> str:
    """A path from its package on (``aiortc/rtcdtlstransport.py``), not the install's."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages", "lib"):
        if marker in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(marker) :])
    return "/".join(parts[-3:])


def _log_stall(stall: Stall) -> None:
    logger.warning(stall.describe())
