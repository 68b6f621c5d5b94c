"""Whisper STT on faster-whisper, with one loaded model per process.

pipecat's ``WhisperSTTService`` loads its model in every instance and ignores a
``model`` change at runtime. This subclass shares loaded models across the
sessions of a process and reloads (from that cache) when a client changes
``stt.model`` mid-session.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from loguru import logger
from pipecat.services.whisper.stt import WhisperSTTService

from rtvi_server.services.local_models import (
    DEFAULT_WHISPER_MODEL,
    ModelCache,
    whisper_model_source,
)


def _load_whisper(key: str) -> Any:
    from faster_whisper import WhisperModel

    source, device, compute_type = key.split("|")
    logger.info(f"loading Whisper model {source} ({device}, {compute_type})")
    return WhisperModel(source, device=device, compute_type=compute_type)


def _model_bytes(key: str) -> int:
    source = Path(key.split("|")[0])
    return sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) if source.is_dir() else 0


WHISPER_MODELS: ModelCache[Any] = ModelCache(_load_whisper, size_of=_model_bytes)


class LocalWhisperSTTService(WhisperSTTService):
    """Whisper STT whose default, tiny.en, ships in a registry package."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_WHISPER_MODEL,
        device: str = "cpu",
        compute_type: str = "int8",
        **kwargs: Any,
    ) -> None:
        self._runs_on = f"{device}|{compute_type}"  # set before pipecat's init loads a model
        settings = WhisperSTTService.Settings(model=model)
        super().__init__(settings=settings, device=device, compute_type=compute_type, **kwargs)

    @staticmethod
    def preload(model: str, device: str = "cpu", compute_type: str = "int8") -> None:
        """Load ``model`` into the process cache (call from a thread, before building)."""
        WHISPER_MODELS.get(f"{whisper_model_source(model)}|{device}|{compute_type}")

    def _cache_key(self, model: str) -> str:
        return f"{whisper_model_source(model)}|{self._runs_on}"

    def _load(self) -> None:
        model = str(cast(Any, self.settings).model)
        self._model = WHISPER_MODELS.get(self._cache_key(model))

    async def _update_settings(self, delta: Any) -> dict[str, Any]:
        changed: dict[str, Any] = await super()._update_settings(delta)
        if "model" in changed:
            key = self._cache_key(str(cast(Any, self.settings).model))
            self._model = await asyncio.to_thread(WHISPER_MODELS.get, key)
        return changed
