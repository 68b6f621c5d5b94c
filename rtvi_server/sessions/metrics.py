"""Server metrics in the Prometheus text format, without a client library."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

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


class ServerMetrics:
    def __init__(self, active: Callable[[], int]) -> None:
        self._active = active
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
            "# HELP rtvi_active_sessions Sessions starting, running or ending.",
            "# TYPE rtvi_active_sessions gauge",
            f"rtvi_active_sessions {self._active()}",
            "# HELP rtvi_session_starts_total Sessions admitted.",
            "# TYPE rtvi_session_starts_total counter",
            f"rtvi_session_starts_total {self.starts}",
            "# HELP rtvi_start_rejections_total Start requests refused, by reason.",
            "# TYPE rtvi_start_rejections_total counter",
        ]
        out += _labelled("rtvi_start_rejections_total", self.rejections)
        out += [
            "# HELP rtvi_session_errors_total Sessions ended by a bot error.",
            "# TYPE rtvi_session_errors_total counter",
            f"rtvi_session_errors_total {self.errors}",
            "# HELP rtvi_sessions_ended_total Sessions ended, by reason.",
            "# TYPE rtvi_sessions_ended_total counter",
        ]
        out += _labelled("rtvi_sessions_ended_total", self.ended)
        out += [
            "# HELP rtvi_session_duration_seconds Length of ended sessions.",
            "# TYPE rtvi_session_duration_seconds histogram",
            *self.session_duration.render("rtvi_session_duration_seconds"),
            "# HELP rtvi_user_stop_to_bot_audio_seconds User stop to bot speech.",
            "# TYPE rtvi_user_stop_to_bot_audio_seconds histogram",
            *self.turn_latency.render("rtvi_user_stop_to_bot_audio_seconds"),
        ]
        return "\n".join(out) + "\n"


def _labelled(name: str, counts: Counter[str]) -> list[str]:
    return [f'{name}{{reason="{r}"}} {n}' for r, n in sorted(counts.items())]
