"""A pipecat ``VADAnalyzer`` whose model calls go through the shared batch engine.

The decisions are pipecat's: the same state machine (quiet, starting, speaking,
stopping, with ``start_secs``/``stop_secs`` counted in whole model windows),
the same smoothed loudness against ``min_volume`` (pipecat's meter and
smoothing, measured only when the confidence is above its threshold: see
``loudness``) and Silero's model-reset rule (pipecat's constants, read through
``rtvi_server.patches.pipecat``), so a session decides as it would with
``SileroVADAnalyzer``; only where the model runs changes: batched with every
other session of the process, on the event loop, without a thread hop per
frame. The state lives here, in fields of ours.
"""

from __future__ import annotations

from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from rtvi_server.audio.loudness import LazyLoudness
from rtvi_server.audio.silero_engine import (
    SAMPLE_RATE,
    WINDOW,
    SileroBatchEngine,
    pcm16_to_float,
    shared_engine,
)
from rtvi_server.patches.pipecat import silero_reset_rule

WINDOW_BYTES = WINDOW * 2
#: A quiet pair may wait for other sessions' pairs (up to one pair's length) when a
#: start takes at least this many windows: the windows that confirm it arrive after
#: the pair's wait is over, so the start is heard no later.
PAIR_GATHER_START_WINDOWS = 4


class BatchedSileroVADAnalyzer(VADAnalyzer):
    def __init__(
        self,
        *,
        params: VADParams | None = None,
        engine: SileroBatchEngine | None = None,
        pair_quiet_windows: bool = True,
    ) -> None:
        """``pair_quiet_windows``: while quiet, judge windows two at a time (two model
        calls back to back, the second on warm caches); the speaking and quiet
        states come at the same frames, "starting" up to one window later."""
        super().__init__(sample_rate=SAMPLE_RATE, params=params)
        self._engine = engine or shared_engine()
        self._pair_quiet_windows = pair_quiet_windows
        # Opened when the pipeline starts (set_sample_rate), closed at cleanup: a
        # bot that is built and never run holds no slot in the engine.
        self._stream: int | None = None
        self._reset_rule = silero_reset_rule()
        self._pending = b""
        self._loudness = LazyLoudness(SAMPLE_RATE, WINDOW_BYTES)
        self._state = VADState.QUIET
        self._starting = 0
        self._stopping = 0
        self._start_windows = 0
        self._stop_windows = 0
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    def set_sample_rate(self, sample_rate: int) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"the batched Silero VAD runs at 16 kHz, not {sample_rate} Hz")
        if self._stream is None:
            self._stream = self._engine.open_stream()
        super().set_sample_rate(sample_rate)

    def set_params(self, params: VADParams) -> None:
        """New parameters; as in pipecat, the state restarts and the loudness does not."""
        super().set_params(params)
        seconds_per_window = WINDOW / SAMPLE_RATE
        self._start_windows = round(params.start_secs / seconds_per_window)
        self._stop_windows = round(params.stop_secs / seconds_per_window)
        self._state, self._starting, self._stopping = VADState.QUIET, 0, 0

    def num_frames_required(self) -> int:
        return WINDOW

    def _open_stream(self) -> int:
        if self._stream is None:
            self._stream = self._engine.open_stream()
        return self._stream

    def voice_confidence(self, buffer: bytes) -> float:
        """Unbatched, synchronous scoring (pipecat's interface); the pipeline uses
        :meth:`analyze_audio`, which batches."""
        windows = pcm16_to_float(buffer)[None, :]
        return float(self._engine.evaluate([self._open_stream()], windows)[0])

    async def analyze_audio(self, buffer: bytes) -> VADState:
        stream = self._open_stream()
        self._pending += buffer
        while len(self._pending) >= WINDOW_BYTES:
            if self._pairs_next():
                if len(self._pending) < 2 * WINDOW_BYTES:
                    break  # the first of a pair waits for the second
                await self._judge_pair(stream)
                continue
            window, self._pending = self._pending[:WINDOW_BYTES], self._pending[WINDOW_BYTES:]
            # While nobody speaks no turn ends on this window: it may wait for
            # other sessions' windows to share their model call.
            confidence = await self._engine.confidence(
                stream, pcm16_to_float(window), quiet=self._state == VADState.QUIET
            )
            self._judge(stream, window, confidence)
        self._settle()
        return self._state

    def _pairs_next(self) -> bool:
        """Whether the next two windows may be judged together, at the second's arrival.

        Only while quiet, where the first window can change the state to
        "starting" at most, which no one acts on (pipecat's ``VADController``
        reports speaking and quiet): a start takes ``start_secs``, at least two
        windows here, and the second window still comes before it can. Never
        where the model could be reset after the first window (the second must
        then see the reset state).
        """
        return (
            self._pair_quiet_windows
            and self._state == VADState.QUIET
            and self._start_windows >= 2
            and (self._windows_since_reset + 1) * WINDOW
            < self._reset_rule.interval_secs * SAMPLE_RATE
        )

    async def _judge_pair(self, stream: int) -> None:
        first, second = self._pending[:WINDOW_BYTES], self._pending[WINDOW_BYTES : 2 * WINDOW_BYTES]
        self._pending = self._pending[2 * WINDOW_BYTES :]
        # The pair may wait for the other sessions' pairs only as long as the
        # windows after it take to arrive: a start is never heard later for it.
        confidences = await self._engine.confidence_pair(
            stream,
            pcm16_to_float(first),
            pcm16_to_float(second),
            quiet=self._start_windows >= PAIR_GATHER_START_WINDOWS,
        )
        self._judge(stream, first, confidences[0])
        self._judge(stream, second, confidences[1])

    def _judge(self, stream: int, window: bytes, confidence: float) -> None:
        self._maybe_reset_model(stream, confidence)
        self._loudness.ingest(window)
        params = self.params
        # The loudness is measured only when it decides something.
        self._step(confidence >= params.confidence and self._loudness.read() >= params.min_volume)

    def _step(self, speaking: bool) -> None:
        state = self._state
        if speaking:
            if state == VADState.QUIET:
                self._state, self._starting = VADState.STARTING, 1
            elif state == VADState.STARTING:
                self._starting += 1
            elif state == VADState.STOPPING:
                self._state, self._stopping = VADState.SPEAKING, 0
        elif state == VADState.STARTING:
            self._state, self._starting = VADState.QUIET, 0
        elif state == VADState.SPEAKING:
            self._state, self._stopping = VADState.STOPPING, 1
        elif state == VADState.STOPPING:
            self._stopping += 1

    def _settle(self) -> None:
        if self._state == VADState.STARTING and self._starting >= self._start_windows:
            self._state, self._starting = VADState.SPEAKING, 0
        if self._state == VADState.STOPPING and self._stopping >= self._stop_windows:
            self._state, self._stopping = VADState.QUIET, 0

    def _maybe_reset_model(self, stream: int, confidence: float) -> None:
        rule = self._reset_rule
        self._windows_since_reset += 1
        if confidence < rule.max_confidence:
            self._low_confidence_windows += 1
        else:
            self._low_confidence_windows = 0
        if (
            self._windows_since_reset * WINDOW >= rule.interval_secs * SAMPLE_RATE
            and self._state == VADState.QUIET
            and self._low_confidence_windows >= rule.low_confidence_windows
        ):
            self._engine.reset_stream(stream)
            self._windows_since_reset = 0

    async def cleanup(self) -> None:
        if self._stream is not None:
            self._engine.close_stream(self._stream)
            self._stream = None
        await super().cleanup()  # type: ignore[no-untyped-call]
