"""A pipecat ``VADAnalyzer`` whose model calls go through the shared batch engine.

The decision logic is pipecat's own (``VADAnalyzer``'s state machine, volume
smoothing and ``min_volume``, and ``SileroVADAnalyzer``'s model-reset rule), so
a session makes the same VAD decisions as with ``SileroVADAnalyzer``; only where
the model runs changes: batched with every other session of the process, on the
event loop, without a thread hop per frame.
"""

from __future__ import annotations

import weakref

from pipecat.audio.vad.silero import (
    _MODEL_RESET_INTERVAL_SECS,
    _MODEL_RESET_LOW_CONFIDENCE_WINDOWS,
    _MODEL_RESET_MAX_CONFIDENCE,
)
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from rtvi_server.audio.silero_engine import (
    SAMPLE_RATE,
    WINDOW,
    SileroBatchEngine,
    pcm16_to_float,
    shared_engine,
)


class BatchedSileroVADAnalyzer(VADAnalyzer):
    def __init__(
        self,
        *,
        params: VADParams | None = None,
        engine: SileroBatchEngine | None = None,
    ) -> None:
        super().__init__(sample_rate=SAMPLE_RATE, params=params)
        self._engine = engine or shared_engine()
        self._stream = self._engine.open_stream()
        # A bot built only to validate a start request is never started or cleaned up.
        weakref.finalize(self, self._engine.close_stream, self._stream)
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    def set_sample_rate(self, sample_rate: int) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"the batched Silero VAD runs at 16 kHz, not {sample_rate} Hz")
        super().set_sample_rate(sample_rate)

    def num_frames_required(self) -> int:
        return WINDOW

    def voice_confidence(self, buffer: bytes) -> float:
        """Unbatched, synchronous scoring (pipecat's interface); the pipeline uses
        :meth:`analyze_audio`, which batches."""
        probs = self._engine.evaluate([self._stream], pcm16_to_float(buffer)[None, :])
        return float(probs[0])

    async def analyze_audio(self, buffer: bytes) -> VADState:
        self._vad_buffer += buffer
        size = self._vad_frames_num_bytes
        while len(self._vad_buffer) >= size:
            window, self._vad_buffer = self._vad_buffer[:size], self._vad_buffer[size:]
            confidence = await self._engine.confidence(self._stream, pcm16_to_float(window))
            self._maybe_reset_model(confidence)
            volume = self._get_smoothed_volume(window)
            self._prev_volume = volume
            self._step(confidence >= self._params.confidence and volume >= self._params.min_volume)
        self._settle()
        return self._vad_state

    def _step(self, speaking: bool) -> None:
        state = self._vad_state
        if speaking:
            if state == VADState.QUIET:
                self._vad_state, self._vad_starting_count = VADState.STARTING, 1
            elif state == VADState.STARTING:
                self._vad_starting_count += 1
            elif state == VADState.STOPPING:
                self._vad_state, self._vad_stopping_count = VADState.SPEAKING, 0
        elif state == VADState.STARTING:
            self._vad_state, self._vad_starting_count = VADState.QUIET, 0
        elif state == VADState.SPEAKING:
            self._vad_state, self._vad_stopping_count = VADState.STOPPING, 1
        elif state == VADState.STOPPING:
            self._vad_stopping_count += 1

    def _settle(self) -> None:
        if (
            self._vad_state == VADState.STARTING
            and self._vad_starting_count >= self._vad_start_frames
        ):
            self._vad_state, self._vad_starting_count = VADState.SPEAKING, 0
        if (
            self._vad_state == VADState.STOPPING
            and self._vad_stopping_count >= self._vad_stop_frames
        ):
            self._vad_state, self._vad_stopping_count = VADState.QUIET, 0

    def _maybe_reset_model(self, confidence: float) -> None:
        self._windows_since_reset += 1
        if confidence < _MODEL_RESET_MAX_CONFIDENCE:
            self._low_confidence_windows += 1
        else:
            self._low_confidence_windows = 0
        if (
            self._windows_since_reset * WINDOW >= _MODEL_RESET_INTERVAL_SECS * SAMPLE_RATE
            and self._vad_state == VADState.QUIET
            and self._low_confidence_windows >= _MODEL_RESET_LOW_CONFIDENCE_WINDOWS
        ):
            self._engine.reset_stream(self._stream)
            self._windows_since_reset = 0

    async def cleanup(self) -> None:
        self._engine.close_stream(self._stream)
        await super().cleanup()  # type: ignore[no-untyped-call]
