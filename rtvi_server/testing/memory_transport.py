"""A pipecat transport held in memory: audio in from a WAV, everything out recorded.

It is a real transport (pipecat's base input and output transports do the VAD
hand-off, audio chunking and speaking events), so a bot under test runs the
same code as in production; only the network is missing. For tests and
benchmarks of a bot's pipeline without WebRTC.
"""

from __future__ import annotations

import asyncio
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipecat.frames.frames import (
    InputAudioRawFrame,
    InputTransportMessageFrame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
    StartFrame,
)
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

CHUNK_MS = 20


def read_wav_pcm16(path: Path | str, sample_rate: int = 16000) -> bytes:
    """Mono 16-bit PCM of a WAV file, resampled to ``sample_rate`` if needed."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit WAV is supported")
        rate, channels = wav.getframerate(), wav.getnchannels()
        pcm = wav.readframes(wav.getnframes())
    import numpy as np

    samples = np.frombuffer(pcm, dtype=np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate != sample_rate:
        import soxr

        samples = soxr.resample(samples, rate, sample_rate).astype(np.int16)
    return bytes(samples.tobytes())


AUDIO_GAP_SECS = 0.1


@dataclass
class Recording:
    """What the bot sent: RTVI messages and audio (16-bit PCM at ``sample_rate``).

    ``message_times`` holds when each message arrived and ``audio_onsets`` when bot
    audio started after a pause (monotonic seconds), for latency assertions.
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    message_times: list[float] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    audio_onsets: list[float] = field(default_factory=list)
    sample_rate: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _last_audio: float = -1.0

    def add_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.message_times.append(time.monotonic())
        self.changed.set()

    def add_audio(self, pcm: bytes, sample_rate: int) -> None:
        now = time.monotonic()
        if any(pcm) and now - self._last_audio > AUDIO_GAP_SECS:
            self.audio_onsets.append(now)
        if any(pcm):
            self._last_audio = now
        self.audio.extend(pcm)
        self.sample_rate = sample_rate
        self.changed.set()


class MemoryInputTransport(BaseInputTransport):
    def __init__(self, params: TransportParams, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def play(self, pcm: bytes, *, realtime: bool = True, sample_rate: int = 16000) -> None:
        """Feed 16-bit mono PCM as the user's microphone, in 20 ms chunks."""
        step = sample_rate * 2 * CHUNK_MS // 1000
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, offset in enumerate(range(0, len(pcm), step)):
            chunk = pcm[offset : offset + step].ljust(step, b"\0")
            await self.push_audio_frame(InputAudioRawFrame(chunk, sample_rate, 1))
            if realtime:
                await asyncio.sleep(max(0.0, start + (i + 1) * CHUNK_MS / 1000 - loop.time()))
            else:
                await asyncio.sleep(0)

    async def silence(self, seconds: float, *, realtime: bool = True) -> None:
        await self.play(b"\0" * int(16000 * 2 * seconds), realtime=realtime)

    async def receive_message(self, message: Any) -> None:
        """A client message arriving on the transport's data channel."""
        await self.push_frame(InputTransportMessageFrame(message=message))


class MemoryOutputTransport(BaseOutputTransport):
    def __init__(self, params: TransportParams, recording: Recording, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._recording = recording

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def send_message(
        self, frame: OutputTransportMessageFrame | OutputTransportMessageUrgentFrame
    ) -> None:
        self._recording.add_message(frame.message)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        self._recording.add_audio(frame.audio, frame.sample_rate)
        return True


class MemoryTransport(BaseTransport):
    """``input()`` plays WAV audio as the user; ``output()`` records the bot."""

    def __init__(self, params: TransportParams | None = None) -> None:
        super().__init__()
        self.params = params or TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        self.recording = Recording()
        self._input = MemoryInputTransport(self.params, name="memory-input")
        self._output = MemoryOutputTransport(self.params, self.recording, name="memory-output")

    def input(self) -> MemoryInputTransport:
        return self._input

    def output(self) -> MemoryOutputTransport:
        return self._output
