"""The bot's voice encoder: what aiortc's sender asks of an encoder, from the bot
track's own frames (10 ms, mono, at the pipeline's rate), one packet per 20 ms."""

import fractions

import av
import numpy as np
import pytest
from aiortc.codecs.opus import OpusDecoder as AiortcOpusDecoder
from aiortc.jitterbuffer import JitterFrame

from rtvi_server.sessions.voice_encoder import VoiceOpusEncoder

RATE = 24000
TEN_MS = RATE // 100


def frame(pts: int, samples: np.ndarray, rate: int = RATE) -> av.AudioFrame:
    f = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
    f.planes[0].update(samples.astype(np.int16).tobytes())
    f.sample_rate = rate
    f.pts = pts
    f.time_base = fractions.Fraction(1, rate)
    return f


def tone(start: int, count: int) -> np.ndarray:
    t = (start + np.arange(count)) / RATE
    return 8000 * np.sin(2 * np.pi * 440 * t)


def test_two_frames_make_a_packet_stamped_on_the_48k_clock_from_the_first():
    encoder = VoiceOpusEncoder(RATE)
    out = [encoder.encode(frame(900 + i * TEN_MS, tone(i * TEN_MS, TEN_MS))) for i in range(100)]
    assert [len(payloads) for payloads, _ in out] == [0, 1] * 50
    stamps = [ts for payloads, ts in out if payloads]
    assert stamps == [i * 960 for i in range(50)]  # 20 ms = 960 ticks of 48 kHz

    reference = AiortcOpusDecoder()  # what the user's side decodes
    packets = [p for payloads, _ in out for p in payloads]
    pcm = [
        f.to_ndarray().reshape(-1, 2)[:, 0]
        for i, p in enumerate(packets)
        for f in reference.decode(JitterFrame(p, i * 960))
    ]
    heard = np.concatenate(pcm).astype(np.float64)[4800:]
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.argmax(spectrum) * 48000 / len(heard) == pytest.approx(440, abs=2)
    assert heard.std() == pytest.approx(8000 / np.sqrt(2), rel=0.05)


def test_a_half_packet_before_a_pause_goes_out_closed_with_silence_and_its_own_stamp():
    encoder = VoiceOpusEncoder(RATE)
    assert encoder.encode(frame(0, tone(0, TEN_MS))) == ([], None)
    # The clock stepped 1 s over a pause before the next frame.
    resumed = RATE + TEN_MS * 3
    payloads, stamp = encoder.encode(frame(resumed, tone(0, TEN_MS)))
    assert (len(payloads), stamp) == (1, 0)
    payloads, stamp = encoder.encode(frame(resumed + TEN_MS, tone(TEN_MS, TEN_MS)))
    assert (len(payloads), stamp) == (1, resumed * 2)  # 24 kHz to 48 kHz ticks


def test_only_the_tracks_frame_shape_is_taken():
    encoder = VoiceOpusEncoder(RATE)
    with pytest.raises(ValueError, match="16000"):
        encoder.encode(frame(0, tone(0, 160), rate=16000))
    with pytest.raises(ValueError, match="at most 20 ms"):
        encoder.encode(frame(0, tone(0, 3 * TEN_MS)))
    stereo = av.AudioFrame(format="s16", layout="stereo", samples=TEN_MS)
    stereo.sample_rate = RATE
    with pytest.raises(ValueError, match="mono"):
        encoder.encode(stereo)
    with pytest.raises(TypeError):
        encoder.pack(object())
    with pytest.raises(ValueError, match="44100"):
        VoiceOpusEncoder(44100)
