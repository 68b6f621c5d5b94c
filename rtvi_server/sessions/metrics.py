"""Server metrics in the Prometheus text format, without a client library."""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from rtvi_server.sessions.stall_watch import LoopStallWatch

LATENCY_BUCKETS: Final = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
DURATION_BUCKETS: Final = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 86400.0)


class Histogram:
    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def render(self, name: str) -> list[str]:
        lines = [
            f'{name}_bucket{{le="{b:g}"}} {c}'
            for b, c in zip(self.buckets, self.counts, strict=True)
        ]
        lines += [
            f'{name}_bucket{{le="+Inf"}} {self.total}',
            f"{name}_sum {self.sum:.6f}",
            f"{name}_count {self.total}",
        ]
        return lines


def _family(name: str, kind: str, help_text: str, lines: list[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines]


def _process_gauges() -> list[str]:
    """The process's resident memory, open descriptors and threads (Linux /proc)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        fds = len(os.listdir("/proc/self/fd"))
    except (OSError, ValueError, IndexError):
        return []
    rss = pages * os.sysconf("SC_PAGE_SIZE")
    return [
        *_family("process_resident_memory_bytes", "gauge", "Resident memory.", [
            f"process_resident_memory_bytes {rss}"
        ]),
        *_family("process_open_fds", "gauge", "Open file descriptors.", [
            f"process_open_fds {fds}"
        ]),
        *_family("process_threads", "gauge", "Threads of the process.", [
            f"process_threads {threading.active_count()}"
        ]),
    ]  # fmt: skip


class LoopLagMonitor:
    """How late the event loop runs a timer: what every session's audio waits on."""

    def __init__(self, interval_secs: float = 0.25, window: int = 40) -> None:
        self._interval = interval_secs
        self._lags: deque[float] = deque(maxlen=window)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._measure(), name="loop-lag")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._lags.append(max(0.0, loop.time() - due))

    @property
    def recent_max(self) -> float:
        """The largest lag of the last ``window`` measurements (10 s by default)."""
        return max(self._lags, default=0.0)


class ServerMetrics:
    def __init__(
        self,
        active: Callable[[], int],
        *,
        capacity: int = 0,
        reclaims: Callable[[], int] | None = None,
        stall_watch: LoopStallWatch | None = None,
    ) -> None:
        self._active = active
        self._capacity = capacity
        self._reclaims = reclaims
        self.loop_lag = LoopLagMonitor()
        self.stall_watch = stall_watch
        self.starts = 0
        self.rejections: Counter[str] = Counter()
        self.errors = 0
        self.ended: Counter[str] = Counter()
        self.session_duration = Histogram(DURATION_BUCKETS)
        self.turn_latency = Histogram(LATENCY_BUCKETS)

    def session_ended(self, reason: str, duration: float) -> None:
        self.ended[reason] += 1
        self.session_duration.observe(duration)
        if reason == "error":
            self.errors += 1

    def render(self) -> str:
        out = [
            *_family("rtvi_active_sessions", "gauge", "Sessions starting, running or ending.", [
                f"rtvi_active_sessions {self._active()}"
            ]),
            *_family("rtvi_max_sessions", "gauge", "Sessions this process takes at once.", [
                f"rtvi_max_sessions {self._capacity}"
            ]),
            *_family("rtvi_session_starts_total", "counter", "Sessions admitted.", [
                f"rtvi_session_starts_total {self.starts}"
            ]),
            *_family("rtvi_start_rejections_total", "counter", "Start requests refused, by reason.",
                     _labelled("rtvi_start_rejections_total", self.rejections)),
            *_family("rtvi_session_errors_total", "counter", "Sessions ended by a bot error.", [
                f"rtvi_session_errors_total {self.errors}"
            ]),
            *_family("rtvi_sessions_ended_total", "counter", "Sessions ended, by reason.",
                     _labelled("rtvi_sessions_ended_total", self.ended)),
            *_family("rtvi_session_duration_seconds", "histogram", "Length of ended sessions.",
                     self.session_duration.render("rtvi_session_duration_seconds")),
            *_family("rtvi_user_stop_to_bot_audio_seconds", "histogram",
                     "User stop to bot speech.",
                     self.turn_latency.render("rtvi_user_stop_to_bot_audio_seconds")),
            *_family("rtvi_event_loop_lag_seconds", "gauge",
                     "Largest event-loop lag over the last 10 s.",
                     [f"rtvi_event_loop_lag_seconds {self.loop_lag.recent_max:.6f}"]),
        ]  # fmt: skip
        if self._reclaims is not None:
            out += _family("rtvi_memory_reclaims_total", "counter",
                           "Memory reclaims (GC and trim) after sessions ended.",
                           [f"rtvi_memory_reclaims_total {self._reclaims()}"])  # fmt: skip
        if self.stall_watch is not None:
            out += _stall_families(self.stall_watch)
        return "\n".join(out + _process_gauges()) + "\n"


def _stall_families(watch: LoopStallWatch) -> list[str]:
    return [
        *_family("rtvi_event_loop_stalls_total", "counter",
                 "Times the event loop missed its beat by the stall threshold or more.",
                 [f"rtvi_event_loop_stalls_total {watch.stalls}"]),
        *_family("rtvi_event_loop_stalled_seconds_total", "counter",
                 "Time the event loop spent in those stalls.",
                 [f"rtvi_event_loop_stalled_seconds_total {watch.stalled_secs:.6f}"]),
    ]  # fmt: skip


def _labelled(name: str, counts: Counter[str]) -> list[str]:
    return [f'{name}{{reason="{r}"}} {n}' for r, n in sorted(counts.items())]
