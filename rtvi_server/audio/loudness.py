"""pipecat's smoothed VAD loudness, measured only when a decision reads it.

pipecat's ``VADAnalyzer`` measures the loudness (ITU-R BS.1770, over the last
0.4 s) of every model window and smooths it exponentially, though the value
only matters when the voice confidence is above its threshold; on a listening
session that is rarely. This meter ingests every window as pipecat's does, but
measures the loudness only when :meth:`read` is called: it then replays the
windows it skipped, from the audio it kept, through the same smoothing. Windows
older than :data:`BACKLOG` are replayed as silence; their weight in the value is
at most ``(1 - SMOOTHING) ** BACKLOG`` (about 2e-5), so decisions stay
pipecat's (tests/audio holds them to it on every fixture). Each measure is
``gating_block``'s: pipecat's arithmetic, its filter in C.
"""

from __future__ import annotations

import math

from pipecat.audio.utils import exp_smoothing
from pipecat.audio.volume import VOLUME_WINDOW_SECS

from rtvi_server.audio.gating_block import Meter, window_meter

SMOOTHING = 0.2  # pipecat's VADAnalyzer smoothing factor for the volume
#: Skipped windows replayed exactly at the next read.
BACKLOG = 48


class LazyLoudness:
    def __init__(self, sample_rate: int, window_bytes: int, *, meter: Meter | None = None) -> None:
        """``meter``: what reads one 0.4 s window (``gating_block.window_meter``'s)."""
        self._window_bytes = window_bytes
        span_samples = math.ceil(VOLUME_WINDOW_SECS * sample_rate)  # pipecat's meter window
        self._span = span_samples * 2
        self._measure = meter or window_meter(sample_rate, span_samples)
        self._kept = bytearray()  # enough audio to measure the last BACKLOG windows
        self._seen = 0  # bytes ingested in all
        self._skipped = 0  # windows ingested since the last read
        self._smoothed = 0.0

    def ingest(self, window: bytes) -> None:
        """One model window of 16-bit mono PCM (as pipecat's meter gets each)."""
        self._kept += window
        self._seen += len(window)
        keep = self._span + BACKLOG * self._window_bytes
        if len(self._kept) > 2 * keep:  # trimmed now and then, not moved every window
            del self._kept[: len(self._kept) - keep]
        self._skipped += 1

    def read(self) -> float:
        """The smoothed loudness pipecat's analyzer would hold after the last window."""
        skipped, self._skipped = self._skipped, 0
        smoothed = self._smoothed
        if skipped > BACKLOG:
            smoothed *= (1 - SMOOTHING) ** (skipped - BACKLOG)
            skipped = BACKLOG
        for back in range(skipped - 1, -1, -1):
            smoothed = float(exp_smoothing(self._loudness(back), smoothed, SMOOTHING))
        self._smoothed = smoothed
        return smoothed

    def _loudness(self, back: int) -> float:
        """The meter's reading ``back`` windows before the last: 0 until it has 0.4 s."""
        if self._seen - back * self._window_bytes < self._span:
            return 0.0
        end = len(self._kept) - back * self._window_bytes
        return self._measure(self._kept, end - self._span)
