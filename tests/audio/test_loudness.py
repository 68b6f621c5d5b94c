"""The lazy meter reads what pipecat's eager one (tracker + smoothing per window) holds."""

import random

import numpy as np
import pytest
from pipecat.audio.utils import exp_smoothing
from pipecat.audio.volume import AudioVolumeTracker

from rtvi_server.audio.gating_block import window_meter
from rtvi_server.audio.loudness import BACKLOG, SMOOTHING, LazyLoudness

RATE, WINDOW_BYTES = 16000, 1024


def windows(seed, count):
    """Speech-like bursts between silences, one 32 ms window at a time."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        loud = (i // 40) % 2 == 1
        level = 6000 if loud else 30
        out.append((rng.standard_normal(WINDOW_BYTES // 2) * level).astype(np.int16).tobytes())
    return out


@pytest.mark.parametrize("native", [True, False], ids=["native", "pipecat-meter"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reads_at_any_moment_equal_the_eager_meter(seed, native):
    tracker, eager = AudioVolumeTracker(), 0.0
    lazy = LazyLoudness(RATE, WINDOW_BYTES, meter=window_meter(RATE, 6400, native=native))
    rng = random.Random(seed)
    gaps = []
    since_read = 0
    for i, window in enumerate(windows(seed, 600)):
        tracker.update(window, RATE)
        eager = exp_smoothing(tracker.volume, eager, SMOOTHING)
        lazy.ingest(window)
        since_read += 1
        quiet_spell = 100 <= i < 200  # no read for 100 windows: more than it replays
        if not quiet_spell and rng.random() < 0.08:  # read rarely, as while listening
            gaps.append(since_read)
            since_read = 0
            assert lazy.read() == pytest.approx(eager, abs=(1 - SMOOTHING) ** BACKLOG)
    assert max(gaps) > BACKLOG  # some reads came after more windows than it replays
    assert min(gaps) == 1


def test_nothing_is_measured_until_read():
    calls = []
    real = window_meter(RATE, 6400)
    lazy = LazyLoudness(
        RATE, WINDOW_BYTES, meter=lambda pcm, start: calls.append(1) or real(pcm, start)
    )
    for window in windows(4, 200):
        lazy.ingest(window)
    assert calls == []
    lazy.read()
    assert len(calls) == BACKLOG  # the skipped windows it replays, once each
    lazy.read()
    assert len(calls) == BACKLOG  # nothing new: nothing measured
