"""A bot audio track that sends nothing while the bot is quiet.

pipecat's SmallWebRTC track emits 10 ms of silence whenever it has no audio, so
every listening session Opus-encodes and sends 50 silent packets a second. This
track waits instead, and when the bot speaks again it realigns its clock and
advances its RTP timestamps over the gap (as discontinuous transmission does),
so the receiver sees the pause in time, not a burst of late audio.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pipecat.transports.smallwebrtc.transport import RawAudioTrack

RESUME_SLACK_SECS = 0.02


class QuietAudioTrack(RawAudioTrack):
    def __init__(self, sample_rate: int) -> None:
        super().__init__(sample_rate=sample_rate, auto_silence=False)
        self._audio_ready = asyncio.Event()
        self.frames_sent = 0

    def add_audio_bytes(self, audio_bytes: bytes) -> Any:
        future = super().add_audio_bytes(audio_bytes)
        self._audio_ready.set()
        return future

    async def recv(self) -> Any:
        if not self._chunk_queue:
            self._audio_ready.clear()
            await self._audio_ready.wait()
            self._skip_gap()
        self.frames_sent += 1
        return await super().recv()

    def _skip_gap(self) -> None:
        rate = self._sample_rate
        due = self._start + self._timestamp / rate
        now = time.time()
        if now - due > RESUME_SLACK_SECS:
            gap = int((now - due) * rate)
            self._timestamp += gap - gap % self._samples_per_10ms
