"""libopus straight to and from the pipeline's rate: the same sound aiortc's codecs give."""

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs.opus import OpusDecoder as AiortcOpusDecoder
from aiortc.codecs.opus import OpusEncoder as AiortcOpusEncoder
from aiortc.jitterbuffer import JitterFrame

from rtvi_server.audio.opus import OpusDecoder, OpusEncoder, opus_available

RATE = 48000


def encoded_tone(seconds=1.0, hz=440.0):
    """Opus packets exactly as an aiortc peer sends them."""
    encoder = AiortcOpusEncoder()
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


def tone_pcm(rate, seconds=1.0, hz=440.0):
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16).tobytes()


@pytest.mark.parametrize("rate", [16000, 24000, 48000])
def test_encodes_mono_at_its_own_rate_to_packets_aiortcs_decoder_plays(rate):
    pcm = tone_pcm(rate)
    encoder = OpusEncoder(rate)
    step = encoder.packet_samples * 2
    packets = [encoder.encode(pcm[i : i + step]) for i in range(0, len(pcm), step)]
    assert len(packets) == 50
    assert 24000 <= sum(len(p) for p in packets) * 8 <= 40000  # about 32 kbit/s
    reference = AiortcOpusDecoder()  # what a browser or an aiortc peer decodes
    frames = [f for i, p in enumerate(packets) for f in reference.decode(JitterFrame(p, i * 960))]
    stereo = np.concatenate([f.to_ndarray().reshape(-1, 2) for f in frames]).astype(np.float64)
    left = stereo[4800:, 0]
    spectrum = np.abs(np.fft.rfft(left))
    assert np.argmax(spectrum) * 48000 / len(left) == pytest.approx(440, abs=2)
    source = np.frombuffer(pcm, np.int16).astype(np.float64)
    assert left.std() == pytest.approx(source.std(), rel=0.05)


def test_an_encoder_takes_exactly_one_packet_and_only_opus_rates():
    encoder = OpusEncoder(24000)
    with pytest.raises(ValueError, match="480 samples, not 240"):
        encoder.encode(bytes(480))
    with pytest.raises(ValueError, match="44100"):
        OpusEncoder(44100)
    encoder.close()
    with pytest.raises(RuntimeError):
        encoder.encode(bytes(960))
