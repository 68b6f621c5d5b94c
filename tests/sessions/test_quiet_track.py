import asyncio
import time

from rtvi_server.sessions import quiet_track
from rtvi_server.sessions.quiet_track import CHUNKS_PER_PACKET, QuietAudioTrack

RATE = 24000
TEN_MS = RATE // 100


async def test_nothing_is_sent_while_quiet_and_time_advances_over_the_gap():
    track = QuietAudioTrack(sample_rate=RATE)
    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.2)
    assert not pending.done()  # no silence frames while the bot is quiet
    start = time.monotonic()
    track.add_audio_bytes(b"\x01\x00" * TEN_MS * 6)
    first = await asyncio.wait_for(pending, 1)
    # The RTP clock moved on over the 0.2 s pause instead of starting at zero.
    assert abs(first.pts - int(0.2 * RATE)) <= 2 * TEN_MS
    rest = [await track.recv() for _ in range(2)]
    # A packet's worth per frame: one wake-up of the sender per packet.
    assert [f.samples for f in [first, *rest]] == [2 * TEN_MS] * 3
    assert [f.pts - first.pts for f in rest] == [2 * TEN_MS, 4 * TEN_MS]
    # Paced in real time, not a burst: the third packet is due 20-30 ms after the resume.
    assert time.monotonic() - start >= 0.015
    last = rest[-1]

    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.3)
    assert not pending.done()
    track.add_audio_bytes(b"\x01\x00" * TEN_MS)
    resumed = await asyncio.wait_for(pending, 1)
    # Within a packet and a half: a packet goes at its start, and the clock stops
    # a packet short of now.
    assert abs(resumed.pts - (last.pts + 2 * TEN_MS + int(0.3 * RATE))) <= 3 * TEN_MS
    assert resumed.samples == TEN_MS  # the one chunk there is
    assert track.chunks_sent == 7


async def test_the_first_packet_after_a_pause_is_not_held_back(monkeypatch):
    real_sleep = asyncio.sleep
    waits: list[float] = []

    async def recorded_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(seconds)

    track = QuietAudioTrack(sample_rate=RATE)
    pending = asyncio.create_task(track.recv())
    await real_sleep(0.2)
    monkeypatch.setattr(quiet_track.asyncio, "sleep", recorded_sleep)
    track.add_audio_bytes(b"\x01\x00" * TEN_MS * 6)
    frames = [await asyncio.wait_for(pending, 1)]
    assert waits == []  # the audio is here: the whole first packet goes at once
    assert frames[0].samples == CHUNKS_PER_PACKET * TEN_MS
    frames += [await track.recv() for _ in range(2)]
    assert len(waits) >= 1  # then real time again, one packet per 20 ms
    assert [f.pts - frames[0].pts for f in frames] == [0, 2 * TEN_MS, 4 * TEN_MS]


async def test_audio_that_ends_mid_packet_is_closed_with_silence_without_waiting():
    track = QuietAudioTrack(sample_rate=RATE)
    track.add_audio_bytes(b"\x01\x00" * TEN_MS * 3)  # a packet and a half
    frames = [await asyncio.wait_for(track.recv(), 1) for _ in range(2)]
    assert [f.samples for f in frames] == [2 * TEN_MS, TEN_MS]
    # The next frame completes the second packet now, with silence: no audio is
    # left for the bot's next words to push out.
    closing = await asyncio.wait_for(track.recv(), 1)
    assert closing.samples == TEN_MS
    assert bytes(closing.planes[0])[: TEN_MS * 2] == bytes(TEN_MS * 2)
    assert closing.pts - frames[0].pts == 3 * TEN_MS
    assert track.chunks_sent % CHUNKS_PER_PACKET == 0
    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.05)
    assert not pending.done()  # then quiet: nothing more is sent
    pending.cancel()


async def test_each_write_completes_once_its_last_chunk_has_gone():
    track = QuietAudioTrack(sample_rate=RATE)
    first = track.add_audio_bytes(b"\x01\x00" * TEN_MS)
    second = track.add_audio_bytes(b"\x02\x00" * TEN_MS * 3)
    frame = await asyncio.wait_for(track.recv(), 1)  # the first write and a chunk of the second
    assert frame.samples == 2 * TEN_MS
    assert first.done()
    assert not second.done()
    await asyncio.wait_for(track.recv(), 1)
    assert second.done()
