"""The native window meter reads what pipecat's ``calculate_audio_volume`` reads.

One bin of libloudness's histogram is 0.001 of pipecat's volume, so a reading
within 1e-12 of pipecat's is the same bin: the same gate, the same value.
"""

import numpy as np
import pytest
from loguru import logger
from pipecat.audio.utils import calculate_audio_volume

from rtvi_server.audio import gating_block
from rtvi_server.audio._kweighting import mean_square
from rtvi_server.audio.gating_block import BINS, block_volume, is_one_gating_block, window_meter
from rtvi_server.testing.memory_transport import read_wav_pcm16

from .test_batched_vad import FIXTURES

RATE, SPAN = 16000, 6400  # pipecat's 0.4 s meter window at the VAD's rate
SAME_BIN = 1e-12


def pipecat_volume(pcm, start, samples=SPAN, rate=RATE):
    return calculate_audio_volume(bytes(pcm[start : start + samples * 2]), rate)


def test_the_extension_is_built_and_chosen():
    assert gating_block.mean_square is not None  # pip compiles it at install
    native = window_meter(RATE, SPAN)
    assert native.__name__ == "measure_native"
    assert window_meter(RATE, SPAN, native=False).__name__ == "measure_with_pipecat"


def test_every_fixture_window_reads_as_pipecat(fixtures):
    meter = window_meter(RATE, SPAN)
    checked = 0
    for name in FIXTURES:
        pcm = bytearray(read_wav_pcm16(fixtures / name, RATE))
        for start in range(0, len(pcm) - SPAN * 2 + 1, 2 * 53):  # odd strides: any offset
            assert meter(pcm, start) == pytest.approx(pipecat_volume(pcm, start), abs=SAME_BIN)
            checked += 1
    assert checked > 1000


def signals():
    """Noise at levels from below the -70 LUFS gate to clipping, tones across the
    filter's shelf and high-pass, silence and offsets."""
    rng = np.random.default_rng(7)
    t = np.arange(SPAN) / RATE
    for level in (0, 1, 3, 8, 10, 12, 20, 100, 1000, 10000, 40000):
        yield rng.standard_normal(SPAN) * level
    for hz in (10, 38, 200, 1000, 1700, 6000, 7900):
        yield np.sin(2 * np.pi * hz * t) * 20000
    yield np.full(SPAN, 12000.0)  # DC: the high-pass leaves only its onset
    yield np.sign(np.sin(2 * np.pi * 440 * t)) * 32767  # full-scale square: the loudest
    burst = np.zeros(SPAN)
    burst[: SPAN // 8] = rng.standard_normal(SPAN // 8) * 5000  # a sound, then its tail
    yield burst


@pytest.mark.parametrize("samples", list(signals()), ids=lambda s: f"rms{np.std(s):.0f}")
def test_synthetic_windows_read_as_pipecat_at_the_gate_and_beyond(samples):
    pcm = bytearray(np.clip(samples, -32768, 32767).astype(np.int16).tobytes())
    assert window_meter(RATE, SPAN)(pcm, 0) == pytest.approx(pipecat_volume(pcm, 0), abs=SAME_BIN)


def test_levels_around_the_gate_include_gated_and_measured_windows():
    volumes = {
        window_meter(RATE, SPAN)(bytearray(np.clip(s, -32768, 32767).astype(np.int16)), 0)
        for s in signals()
    }
    assert 0.0 in volumes  # some gated out
    assert any(0 < v < 0.5 for v in volumes)  # some just above the gate (-70 LUFS is 0.4)


@pytest.mark.parametrize("rate", [8000, 22050, 24000, 48000])
def test_other_rates_read_as_pipecat(rate):
    samples = int(np.ceil(0.4 * rate))
    assert is_one_gating_block(samples, rate)
    rng = np.random.default_rng(rate)
    pcm = bytearray((rng.standard_normal(samples) * 3000).astype(np.int16).tobytes())
    assert window_meter(rate, samples)(pcm, 0) == pytest.approx(
        pipecat_volume(pcm, 0, samples, rate), abs=SAME_BIN
    )


def test_a_window_that_is_not_one_block_is_pipecats_to_read():
    samples = int(np.ceil(0.4 * 11025))  # 4410 samples; libloudness's block is 4 x 1103
    assert not is_one_gating_block(samples, 11025)
    assert window_meter(11025, samples).__name__ == "measure_with_pipecat"


def test_the_loudest_bin_holds_what_lies_above_it():
    assert block_volume(1e9) == block_volume(1e12)
    assert block_volume(0.0) == 0.0
    assert len({block_volume(10 ** (e / 100)) for e in range(-800, 300)}) <= BINS


def test_bad_arguments_raise_instead_of_reading_past_the_buffer():
    pcm = bytes(SPAN * 2)
    with pytest.raises(ValueError, match="past the end"):
        mean_square(pcm, 1, SPAN, 16000.0)
    with pytest.raises(ValueError, match="start must be"):
        mean_square(pcm, -1, SPAN, 16000.0)
    with pytest.raises(ValueError, match="sample_rate"):
        mean_square(pcm, 0, SPAN, 0.0)
    with pytest.raises(TypeError):
        mean_square(pcm, 0, SPAN)
    assert mean_square(memoryview(pcm)[1:], 0, SPAN - 1, 16000.0) == 0.0  # unaligned view


def test_without_the_extension_the_meter_is_pipecats(monkeypatch):
    monkeypatch.setattr(gating_block, "mean_square", None)  # as where no compiler built it
    gating_block._tell_fallback.cache_clear()  # as in a fresh process
    told = []
    sink = logger.add(lambda m: told.append(m.record["message"]), level="WARNING")
    try:
        meter = window_meter(RATE, SPAN)
        window_meter(RATE, SPAN)
    finally:
        logger.remove(sink)
    assert len(told) == 1  # said once per process
    assert "_kweighting is not built" in told[0]
    assert meter.__name__ == "measure_with_pipecat"
    pcm = bytearray((np.arange(SPAN * 2) % 200 * 50).astype(np.int16).tobytes())
    assert meter(pcm, 2 * SPAN // 3 * 2) == pipecat_volume(pcm, 2 * SPAN // 3 * 2)
