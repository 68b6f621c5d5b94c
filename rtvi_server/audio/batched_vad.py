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
#: How many windows a quiet stream judges at once (never more than a start takes):
#: with few sessions in the process each model call is small and its cost is mostly
#: cold caches, which only the run's first call pays; with many, the calls are
#: batched across sessions already and a long run would hold the loop for longer.
QUIET_RUN_FEW = 6
QUIET_RUN_MANY = 2
#: From how many open streams the engine counts as "many".
MANY_STREAMS = 8


class BatchedSileroVADAnalyzer(VADAnalyzer):
    def __init__(
        self,
        *,
        params: VADParams | None = None,
        engine: SileroBatchEngine | None = None,
        quiet_runs: bool = True,
    ) -> None:
        """``quiet_runs``: while quiet, judge windows a few at a time (model calls
        back to back, all but the first on warm caches; see ``QUIET_RUN_FEW``); the
        speaking and quiet states come at the same frames, "starting" up to a run's
        length later."""
        super().__init__(sample_rate=SAMPLE_RATE, params=params)
        self._engine = engine or shared_engine()
        self._quiet_runs = quiet_runs
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
            run = self._run_length()
            if run > 1:
                if len(self._pending) < run * WINDOW_BYTES:
                    break  # a run's first windows wait for its last
                await self._judge_run(stream, run)
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

    def bytes_until_decision(self) -> int:
        """How much more audio this analyzer takes before its state can next change:
        the rest of its next run of windows (or its next window)."""
        return max(0, self._run_length() * WINDOW_BYTES - len(self._pending))

    def _run_length(self) -> int:
        """How many of the next windows may be judged together, at the last's arrival.

        Only while quiet, where a run of at most ``start_secs`` of windows can
        change the state to "starting" at most, which no one acts on (pipecat's
        ``VADController`` reports speaking and quiet), or to speaking at its last
        window, where one-by-one judging would too. Never across a point where the
        model could be reset (the windows after it must see the reset state).
        """
        if not self._quiet_runs or self._state != VADState.QUIET:
            return 1
        many = self._engine.streams >= MANY_STREAMS
        run = min(QUIET_RUN_MANY if many else QUIET_RUN_FEW, self._start_windows)
        windows_to_reset = self._reset_rule.interval_secs * SAMPLE_RATE / WINDOW
        while run > 1 and self._windows_since_reset + run - 1 >= windows_to_reset:
            run -= 1
        return run

    async def _judge_run(self, stream: int, run: int) -> None:
        windows = [self._pending[i * WINDOW_BYTES : (i + 1) * WINDOW_BYTES] for i in range(run)]
        self._pending = self._pending[run * WINDOW_BYTES :]
        # The run may wait for the other sessions' runs only as long as the windows
        # that would confirm a start at its first window take to arrive after it:
        # a start is never heard later for it.
        confidences = await self._engine.confidence_run(
            stream,
            [pcm16_to_float(w) for w in windows],
            wait_windows=min(run, self._start_windows - run),
        )
        for window, confidence in zip(windows, confidences, strict=True):
            self._judge(stream, window, confidence)

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
