"""The benchmark's packet microphone: encoded once, paced by one loop, real Opus."""

import numpy as np

from bench.packet_audio import (
    OPUS_RATE,
    Pacer,
    PacketMicrophone,
    encode_clip,
    silence_packet,
)
from rtvi_server.audio.opus import OpusDecoder


def tone(seconds: float) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16).tobytes()


def test_a_clip_is_one_opus_packet_per_20_ms_that_decodes_back_to_its_sound():
    clip = encode_clip(tone(1.0))
    assert len(clip.packets) == 50
    decoder = OpusDecoder(16000)
    pcm = b"".join(decoder.decode(p) for p in clip.packets)
    decoder.close()
    level = np.abs(np.frombuffer(pcm, np.int16)[3200:]).max()
    assert 5000 < level < 11000
    silent = OpusDecoder(16000)
    quiet = np.frombuffer(silent.decode(silence_packet()), np.int16)
    silent.close()
    assert np.abs(quiet).max() < 50


async def test_microphones_share_one_pacer_and_say_when_their_clip_was_due():
    pacer = Pacer(phases=2)
    silence = silence_packet()
    clip = encode_clip(tone(0.1))
    a, b = PacketMicrophone(pacer, silence), PacketMicrophone(pacer, silence)
    a.play(clip)
    assert not a.finished.is_set()
    assert b.finished.is_set()
    sent_a = [await a.recv() for _ in range(len(clip.packets))]
    sent_b = [await b.recv() for _ in range(2)]
    assert a.finished.is_set()
    assert a.finished_at > 0
    assert [bytes(p) for p in sent_a] == list(clip.packets)
    assert all(bytes(p) == silence for p in sent_b)
    assert [p.pts for p in sent_a[:2]] == [0, OPUS_RATE // 50]
    after = await a.recv()
    assert bytes(after) == silence
    await pacer.close()
