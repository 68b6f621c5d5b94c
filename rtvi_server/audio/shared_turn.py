"""Smart Turn v3 with one ONNX model per process, shared by every session.

pipecat's ``LocalSmartTurnAnalyzerV3`` loads its model in every instance: about
50 MB and a model load per session, on the event loop, while the bot is built.
The model is stateless and ONNX Runtime's ``Run`` is thread-safe, so here each
session keeps pipecat's turn logic (``BaseSmartTurn``: its audio buffer, its
silence timing) and asks one process-wide pipecat analyzer for the prediction.
Every session's inference runs on the model's one thread, where that analyzer
is made (and warmed) when the first session's analyzer is, never on the event
loop. Decisions are pipecat's: the same code computes them
(``tests/audio/test_shared_turn.py``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
from pipecat.metrics.metrics import MetricsData

from rtvi_server.patches.pipecat import smart_turn_prediction

MODEL_SAMPLE_RATE = 16000

_lock = threading.Lock()
_shared: Any = None
#: Its thread starts with the first job. One inference at a time (on one ONNX
#: Runtime thread, pipecat's default): the event loop keeps the other cores, and
#: each concurrent run would grow ONNX Runtime's arena by its own working set for
#: good. And one thread, not a thread per session as pipecat's analyzer has: glibc
#: gives threads malloc arenas in turn, so inference on a session's own thread
#: touched another arena's copy of the working set (about 8 MB here).
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smart-turn")


def model_thread() -> ThreadPoolExecutor:
    """The one thread every session's turn inference runs on."""
    return _thread


def shared_smart_turn() -> Any:
    """The process's one pipecat Smart Turn v3 analyzer (loaded on first call)."""
    global _shared
    with _lock:
        if _shared is None:
            from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import (
                LocalSmartTurnAnalyzerV3,
            )

            model = LocalSmartTurnAnalyzerV3()
            model.set_sample_rate(MODEL_SAMPLE_RATE)
            _warm_up(model)
            _shared = model
        return _shared


def _warm_up(model: Any) -> None:
    """Two predictions on silence: ONNX Runtime grows its arena over a session's
    first two runs (about 30 MB here, every input has the model's one shape), and
    a first run is slow; so no user's first turns pay for either."""
    quiet = np.zeros(MODEL_SAMPLE_RATE, dtype=np.float32)
    for _ in range(2):
        smart_turn_prediction(model, quiet)


class SharedSmartTurnAnalyzer(BaseSmartTurn):
    """A session's Smart Turn analyzer whose model is the process's.

    pipecat picks the audio to judge by arrival time: from ``pre_speech_ms`` plus
    the VAD's ``start_secs`` before speech began. Audio that arrives in a burst
    (the listening gate hands over its pre-roll all at once when speech starts)
    shares one arrival time, so that pick would take all of it. Here the
    prediction gets the pre-speech audio that arrival in real time gives,
    counted in samples; audio that did arrive in real time is judged unchanged.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        model_thread().submit(shared_smart_turn)  # loaded before the first turn ends
        self._vad_start = 0.0
        self._since_speech: int | None = None  # samples since this segment's speech began
        self._judged_since_speech: int | None = None

    @property
    def _model_executor(self) -> ThreadPoolExecutor:
        """The process's model thread, where pipecat's analyzer starts one per session
        (pipecat's cleanup then has no thread of the session's to stop)."""
        return model_thread()

    def update_vad_start_secs(self, vad_start_secs: float) -> None:
        super().update_vad_start_secs(vad_start_secs)
        self._vad_start = vad_start_secs

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        if is_speech and self._since_speech is None:
            self._since_speech = 0
        if self._since_speech is not None:
            self._since_speech += len(buffer) // 2
        state = super().append_audio(buffer, is_speech)
        if not self.speech_triggered:
            self._since_speech = None
        return state

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        self._judged_since_speech = self._since_speech
        state, metrics = await super().analyze_end_of_turn()
        if not self.speech_triggered:
            self._since_speech = None
        return state, metrics

    def clear(self) -> None:
        super().clear()  # type: ignore[no-untyped-call]
        self._since_speech = None

    def _real_time_pre_speech(self, audio_array: np.ndarray) -> np.ndarray:
        """``audio_array`` less any pre-speech audio beyond what real time would give."""
        since = self._judged_since_speech
        rate = self.sample_rate
        if since is None or not rate:
            return audio_array
        pre_speech_ms = float(getattr(self.params, "pre_speech_ms", 0.0))
        allowed = round((pre_speech_ms / 1000 + self._vad_start) * rate)
        pre = len(audio_array) - since
        if pre > allowed + rate // 50:  # more than a frame's jitter: a burst
            return audio_array[pre - allowed :]
        return audio_array

    def _predict_endpoint(self, audio_array: np.ndarray) -> dict[str, Any]:
        audio_array = self._real_time_pre_speech(audio_array)
        if self.sample_rate and self.sample_rate != MODEL_SAMPLE_RATE:
            import soxr

            audio_array = soxr.resample(audio_array, self.sample_rate, MODEL_SAMPLE_RATE)
        return smart_turn_prediction(shared_smart_turn(), audio_array)
