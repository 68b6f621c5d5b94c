import asyncio
import time

from rtvi_server.sessions import quiet_track
from rtvi_server.sessions.quiet_track import FRAMES_PER_PACKET, QuietAudioTrack

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
    rest = [await track.recv() for _ in range(5)]
    assert [f.pts - first.pts for f in rest] == [i * TEN_MS for i in range(1, 6)]
    # Paced in real time, not a burst: the sixth frame is due 30-40 ms after the resume.
    assert time.monotonic() - start >= 0.025
    last = rest[-1]

    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.3)
    assert not pending.done()
    track.add_audio_bytes(b"\x01\x00" * TEN_MS)
    resumed = await asyncio.wait_for(pending, 1)
    assert abs(resumed.pts - (last.pts + TEN_MS + int(0.3 * RATE))) <= 2 * TEN_MS
    assert track.frames_sent == 7


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
    frames += [await track.recv() for _ in range(FRAMES_PER_PACKET - 1)]
    assert waits == []  # the audio is here: the whole first packet goes at once
    frames += [await track.recv() for _ in range(4)]
    assert len(waits) >= 3  # then real time again, one frame per 10 ms
    assert [f.pts - frames[0].pts for f in frames] == [i * TEN_MS for i in range(6)]


async def test_audio_that_ends_mid_packet_is_closed_with_silence_without_waiting():
    track = QuietAudioTrack(sample_rate=RATE)
    track.add_audio_bytes(b"\x01\x00" * TEN_MS * 3)  # a packet and a half
    frames = [await asyncio.wait_for(track.recv(), 1) for _ in range(3)]
    # The fourth frame completes the second packet now, with silence: no audio is
    # left for the bot's next words to push out.
    closing = await asyncio.wait_for(track.recv(), 1)
    assert bytes(closing.planes[0])[: TEN_MS * 2] == bytes(TEN_MS * 2)
    assert closing.pts - frames[0].pts == 3 * TEN_MS
    assert track.frames_sent % FRAMES_PER_PACKET == 0
    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.05)
    assert not pending.done()  # then quiet: nothing more is sent
    pending.cancel()
