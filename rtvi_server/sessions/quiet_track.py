"""A bot audio track that sends nothing while the bot is quiet.

pipecat's SmallWebRTC track emits 10 ms of silence whenever it has no audio, so
every listening session Opus-encodes and sends 50 silent packets a second. This
track waits instead, and when the bot speaks again it realigns its clock and
advances its RTP timestamps over the gap (as discontinuous transmission does),
so the receiver sees the pause in time, not a burst of late audio.

It offers what pipecat's SmallWebRTC client asks of its bot track:
``add_audio_bytes(pcm)`` returns a future that completes once that audio went
out, which paces pipecat's output to real time. Audio is queued in 10 ms chunks,
two to a packet; a frame is a whole packet's worth when both are queued (one
wake-up of the sender per packet, not two) and a packet is never left half full
while the bot is quiet.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
from aiortc import MediaStreamTrack

RESUME_SLACK_SECS = 0.02
#: An Opus packet is 20 ms: two of this track's 10 ms chunks.
CHUNKS_PER_PACKET = 2


class QuietAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self._rate = sample_rate
        self._samples_10ms = sample_rate // 100
        self._bytes_10ms = self._samples_10ms * 2
        self._silence = bytes(self._bytes_10ms)
        self._queue: deque[tuple[bytes, asyncio.Future[bool] | None]] = deque()
        self._ready = asyncio.Event()
        self._pts = 0
        self._start = time.monotonic()
        self.chunks_sent = 0

    def add_audio_bytes(self, audio: bytes) -> asyncio.Future[bool]:
        """Queue 16-bit mono PCM (a multiple of 10 ms); the future completes when sent."""
        if len(audio) % self._bytes_10ms:
            raise ValueError("audio must be a multiple of 10 ms")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        last = len(audio) - self._bytes_10ms
        for i in range(0, len(audio), self._bytes_10ms):
            self._queue.append((audio[i : i + self._bytes_10ms], done if i == last else None))
        if not audio:
            done.set_result(True)
        self._ready.set()
        return done

    @property
    def sample_rate(self) -> int:
        return self._rate

    async def recv(self) -> av.AudioFrame:
        if not self._queue and self._packet_closed():
            self._ready.clear()
            await self._ready.wait()
            self._skip_gap()
        due = self._start + self._pts / self._rate
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunks = self._next_chunks()
        samples = len(chunks) * self._samples_10ms
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(b"".join(chunks))
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self._rate)
        self._pts += samples
        self.chunks_sent += len(chunks)
        return frame

    def _packet_closed(self) -> bool:
        return not self.chunks_sent % CHUNKS_PER_PACKET

    def _next_chunks(self) -> list[bytes]:
        """A packet's chunks when both are here, else the next one. Audio that ends
        mid-packet is closed with silence, in time, so it goes out now, not with
        the bot's next words."""
        if not self._queue:
            return [self._silence]
        count = 1
        if self._packet_closed() and len(self._queue) >= CHUNKS_PER_PACKET:
            count = CHUNKS_PER_PACKET
        chunks = []
        for _ in range(count):
            chunk, done = self._queue.popleft()
            if done is not None and not done.done():
                done.set_result(True)
            chunks.append(chunk)
        return chunks

    def _skip_gap(self) -> None:
        """Move the clock over the quiet time, in whole 10 ms steps, stopping one
        packet short of now: the audio that ends the pause is already here, so the
        first packet goes at once instead of waiting 0-10 ms for its turn. The
        pacing from there on is unchanged."""
        late = time.monotonic() - (self._start + self._pts / self._rate)
        if late > RESUME_SLACK_SECS:
            gap = int(late * self._rate)
            steps = gap // self._samples_10ms - (CHUNKS_PER_PACKET - 1)
            self._pts += max(0, steps) * self._samples_10ms
