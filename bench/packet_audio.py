"""A microphone cheap enough for 64+ benchmark sessions in one client process.

The aiortc test client encodes every session's audio itself (resample, libopus,
a thread hop per frame) and wakes each session's track on its own timer. Here
the fixture and the room tone are encoded to Opus once, every session sends
those same packets, and one paced loop wakes all the microphones: per packet a
session pays only aiortc's RTP, SRTP and ICE send path, as a real browser peer
would pay its own. The sessions are spread over the 20 ms period in
``PHASES`` groups so that their packets do not all reach the server at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import time
from collections import deque
from dataclasses import dataclass

import av
from aiortc import MediaStreamTrack
from aiortc.codecs.opus import OpusEncoder

INPUT_RATE = 16000
OPUS_RATE = 48000
FRAME_SECS = 0.02
PHASES = 4
TIME_BASE = fractions.Fraction(1, OPUS_RATE)


@dataclass(frozen=True)
class EncodedClip:
    """A recording as the 20 ms Opus packets a browser would send for it."""

    packets: tuple[bytes, ...]

    @property
    def seconds(self) -> float:
        return len(self.packets) * FRAME_SECS


def encode_clip(pcm: bytes) -> EncodedClip:
    """16 kHz mono PCM16 -> the 48 kHz stereo Opus packets aiortc's own sender makes."""
    encoder = OpusEncoder()
    samples = int(INPUT_RATE * FRAME_SECS)
    size = samples * 2
    packets: list[bytes] = []
    padded = pcm + b"\0" * ((-len(pcm)) % size + size)  # flush the resampler's tail
    for pts, i in enumerate(range(0, len(padded), size)):
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(padded[i : i + size])
        frame.sample_rate = INPUT_RATE
        frame.pts = pts * samples
        frame.time_base = fractions.Fraction(1, INPUT_RATE)
        payloads, _ = encoder.encode(frame)
        packets.extend(payloads)
    return EncodedClip(tuple(packets[: len(pcm) // size or 1]))


def silence_packet() -> bytes:
    """An Opus packet of digital silence, from an encoder past its start-up."""
    return encode_clip(b"\0" * int(INPUT_RATE * 0.5) * 2).packets[-1]


class Pacer:
    """One loop that wakes every microphone in its phase of each 20 ms period."""

    def __init__(self, phases: int = PHASES) -> None:
        self.phases = phases
        self._waiters: list[list[asyncio.Future[float]]] = [[] for _ in range(phases)]
        self._task: asyncio.Task[None] | None = None
        self._members = 0

    def join(self) -> int:
        """A new microphone's phase; the loop starts with the first."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        self._members += 1
        return self._members % self.phases

    async def next_tick(self, phase: int) -> float:
        """Wait for ``phase``'s next tick; returns the time it was due."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[phase].append(waiter)
        return await waiter

    async def _run(self) -> None:
        step = FRAME_SECS / self.phases
        start = time.monotonic()
        for tick in itertools.count():
            due = start + tick * step
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            phase = tick % self.phases
            waiters, self._waiters[phase] = self._waiters[phase], []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(due)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class PacketMicrophone(MediaStreamTrack):
    """An audio track that sends pre-encoded Opus packets in real time.

    ``play`` queues a clip, ``clear`` drops what is queued; between clips it
    sends silence. ``finished``/``finished_at`` say when the last queued packet
    was due, as the test client's microphone does.
    """

    kind = "audio"

    def __init__(self, pacer: Pacer, silence: bytes) -> None:
        super().__init__()
        self._pacer = pacer
        self._phase = pacer.join()
        self._silence = silence
        self._queue: deque[bytes] = deque()
        self._pts = 0
        self.finished = asyncio.Event()
        self.finished.set()
        self.finished_at = 0.0

    def play(self, clip: EncodedClip) -> None:
        self._queue.extend(clip.packets)
        self.finished.clear()

    def clear(self) -> None:
        self._queue.clear()
        self.finished.set()

    def _next_payload(self, due: float) -> bytes:
        if not self._queue:
            return self._silence
        payload = self._queue.popleft()
        if not self._queue:
            self.finished_at = due
            self.finished.set()
        return payload

    async def recv(self) -> av.Packet:
        due = await self._pacer.next_tick(self._phase)
        packet = av.Packet(self._next_payload(due))
        packet.pts = self._pts
        packet.time_base = TIME_BASE
        self._pts += int(OPUS_RATE * FRAME_SECS)
        return packet
