"""Instant stand-in STT, LLM and TTS, identical on both sides of the benchmark.

They answer at once, so what is measured is the framework: transport, resampling,
VAD, turn-taking and frame routing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import numpy as np
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

REPLY = "Sure, it will be sunny tomorrow."
TONE_SECS = 0.6


class InstantSTT(SegmentedSTTService):
    """A transcript the moment the VAD closes a segment."""

    def __init__(self) -> None:
        # Every setting given (none applies): pipecat logs an error per session otherwise.
        super().__init__(settings=STTSettings(model=None, language=None))

    @property
    def wants_wav_segments(self) -> bool:
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        yield TranscriptionFrame("what will the weather be like tomorrow", "", time_now_iso8601())


class InstantLLM(FrameProcessor):
    """Answers every context with a fixed reply, at once."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            await self.push_frame(LLMTextFrame(REPLY))
            await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)


class InstantTTS(TTSService):
    """A short tone for each sentence, synthesised at once."""

    def __init__(self) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=None, voice=None, language=None),
        )

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        rate = 24000
        t = np.arange(int(rate * TONE_SECS)) / rate
        tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tobytes()

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(tone), 4800):
                yield tone[i : i + 4800]

        async for frame in self._stream_audio_frames_from_iterator(
            chunks(), in_sample_rate=rate, context_id=context_id
        ):
            yield frame
