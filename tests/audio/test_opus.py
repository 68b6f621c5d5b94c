"""libopus decoding straight to 16 kHz mono: the same sound aiortc's decoder gives."""

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs.opus import OpusDecoder as AiortcOpusDecoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.jitterbuffer import JitterFrame

from rtvi_server.audio.opus import OpusDecoder, opus_available

RATE = 48000


def encoded_tone(seconds=1.0, hz=440.0):
    """Opus packets exactly as an aiortc peer sends them."""
    encoder = OpusEncoder()
    t = np.arange(int(RATE * seconds)) / RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    packets = []
    for i in range(len(pcm) // 960):
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(pcm[i * 960 : (i + 1) * 960].tobytes())
        frame.sample_rate = RATE
        frame.pts = i * 960
        frame.time_base = fractions.Fraction(1, RATE)
        packets += encoder.encode(frame)[0]
    return packets


def test_libopus_is_found():
    assert opus_available()


def test_decodes_to_16k_mono_with_the_level_and_pitch_aiortc_decodes():
    packets = encoded_tone()
    ours = OpusDecoder(16000)
    pcm = [ours.decode(p) for p in packets]
    assert {len(p) for p in pcm} == {320 * 2}  # 20 ms of 16 kHz mono, every packet
    signal = np.frombuffer(b"".join(pcm), np.int16).astype(np.float64)[1600:]
    spectrum = np.abs(np.fft.rfft(signal))
    assert np.argmax(spectrum) * 16000 / len(signal) == pytest.approx(440, abs=2)

    reference = AiortcOpusDecoder()
    frames = [f for i, p in enumerate(packets) for f in reference.decode(JitterFrame(p, i * 960))]
    stereo = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float64)
    assert signal.std() == pytest.approx(stereo[4800:].std(), rel=0.02)


def test_garbage_is_a_gap_and_bad_rates_are_refused():
    decoder = OpusDecoder(16000)
    assert decoder.decode(b"") == b""
    assert decoder.decode(b"\xff\xff\xff\xff") == b""  # invalid framing: libopus refuses it
    assert len(decoder.decode(encoded_tone(0.1)[0])) == 640
    with pytest.raises(ValueError, match="44100"):
        OpusDecoder(44100)
    decoder.close()
    with pytest.raises(RuntimeError):
        decoder.decode(b"\x00")


def test_pyav_bundled_libopus_is_a_fallback():
    """A slim container has no system libopus; PyAV's wheel brings its own."""
    import ctypes

    from rtvi_server.audio.opus import _candidates

    bundled = [c for c in _candidates() if "av.libs" in c]
    assert bundled, "PyAV's wheel should bundle libopus"
    assert ctypes.CDLL(bundled[0]).opus_decoder_create
