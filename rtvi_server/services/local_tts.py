"""Piper TTS in-process, with one loaded voice per process and runtime voice changes.

pipecat's ``PiperTTSService`` loads its voice per instance and cannot switch
voices mid-session; this service keeps voices in a process-wide cache, switches
on ``tts.voice`` updates, and maps ``speed`` to Piper's length scale.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from loguru import logger
from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.utils.types import NOT_GIVEN, NotGiven

from rtvi_server.patches import pipecat as pipecat_patches
from rtvi_server.services.local_models import DEFAULT_PIPER_VOICE, ModelCache, piper_voice_path


def _load_voice(name: str) -> Any:
    """A Piper voice whose ONNX session runs without onnxruntime's CPU memory arena.

    With the arena, the process keeps the peak memory of the longest utterance it
    ever synthesized (measured: +500 MB after a few long replies, never given
    back); without it each synthesis frees what it used, at about 13% more time
    per sentence (176 ms instead of 156 ms for a 10-word sentence here).
    """
    import onnxruntime
    from piper import PiperVoice

    path = piper_voice_path(name)
    logger.info(f"loading Piper voice {name} from {path}")
    voice = PiperVoice.load(path)
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    voice.session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return voice


PIPER_VOICES: ModelCache[Any] = ModelCache(
    _load_voice, size_of=lambda name: piper_voice_path(name).stat().st_size
)


@dataclass
class LocalPiperTTSSettings(TTSSettings):
    """Piper settings: ``voice`` names a voice (or an .onnx path); ``speed`` > 1 is faster."""

    speed: float | NotGiven | None = field(default_factory=lambda: NOT_GIVEN)


class LocalPiperTTSService(TTSService):
    Settings = LocalPiperTTSSettings

    def __init__(self, *, voice: str = DEFAULT_PIPER_VOICE, **kwargs: Any) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=LocalPiperTTSSettings(model=None, voice=voice, language=None, speed=1.0),
            **kwargs,
        )
        self._voice = PIPER_VOICES.get(voice)

    @staticmethod
    def preload(voice: str) -> None:
        """Load ``voice`` into the process cache (call from a thread, before building)."""
        PIPER_VOICES.get(voice)

    def can_generate_metrics(self) -> bool:
        return True

    @property
    def piper_settings(self) -> LocalPiperTTSSettings:
        return cast(LocalPiperTTSSettings, self.settings)

    async def _update_settings(self, delta: Any) -> dict[str, Any]:
        changed: dict[str, Any] = await super()._update_settings(delta)
        if "voice" in changed:
            self._voice = await asyncio.to_thread(PIPER_VOICES.get, str(self.piper_settings.voice))
        return changed

    def _synthesis_config(self) -> Any:
        from piper import SynthesisConfig

        speed = self.piper_settings.speed
        if isinstance(speed, int | float) and speed > 0:
            return SynthesisConfig(length_scale=1.0 / float(speed))
        return None

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        voice = self._voice
        chunks: Iterator[Any] = iter(voice.synthesize(text, syn_config=self._synthesis_config()))

        def next_chunk() -> bytes | None:
            chunk = next(chunks, None)
            return None if chunk is None else bytes(chunk.audio_int16_bytes)

        async def audio() -> AsyncIterator[bytes]:
            while (data := await asyncio.to_thread(next_chunk)) is not None:
                yield data

        try:
            await self.start_tts_usage_metrics(text)
            async for frame in pipecat_patches.stream_tts_audio(
                self, audio(), sample_rate=voice.config.sample_rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                yield frame
        except Exception as exc:
            logger.exception(f"{self}: synthesis failed")
            yield ErrorFrame(error=f"Piper synthesis failed: {exc}")
        finally:
            await self.stop_ttfb_metrics()
