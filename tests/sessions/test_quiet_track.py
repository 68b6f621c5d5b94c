import asyncio
import time

from rtvi_server.sessions.quiet_track import QuietAudioTrack

RATE = 24000
TEN_MS = RATE // 100


async def test_nothing_is_sent_while_quiet_and_time_advances_over_the_gap():
    track = QuietAudioTrack(sample_rate=RATE)
    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.2)
    assert not pending.done()  # no silence frames while the bot is quiet
    track.add_audio_bytes(b"\x01\x00" * TEN_MS * 3)
    first = await asyncio.wait_for(pending, 1)
    # The RTP clock moved on over the 0.2 s pause instead of starting at zero.
    assert abs(first.pts - int(0.2 * RATE)) <= 2 * TEN_MS
    start = time.monotonic()
    second, third = await track.recv(), await track.recv()
    assert [second.pts, third.pts] == [first.pts + TEN_MS, first.pts + 2 * TEN_MS]
    assert time.monotonic() - start >= 0.015  # paced in real time, not a burst

    pending = asyncio.create_task(track.recv())
    await asyncio.sleep(0.3)
    assert not pending.done()
    track.add_audio_bytes(b"\x01\x00" * TEN_MS)
    resumed = await asyncio.wait_for(pending, 1)
    assert abs(resumed.pts - (third.pts + TEN_MS + int(0.3 * RATE))) <= 2 * TEN_MS
    assert track.frames_sent == 4
