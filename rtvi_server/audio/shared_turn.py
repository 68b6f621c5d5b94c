"""Smart Turn v3 with one ONNX model per process, shared by every session.

pipecat's ``LocalSmartTurnAnalyzerV3`` loads its model in every instance: about
50 MB and a model load per session, on the event loop, while the bot is built.
The model is stateless and ONNX Runtime's ``Run`` is thread-safe, so here each
session keeps pipecat's turn logic (``BaseSmartTurn``: its audio buffer, its
silence timing, its inference on a thread of its own) and asks one process-wide
pipecat analyzer for the prediction. That analyzer is made on first use, in a
session's inference thread, never on the event loop. Decisions are pipecat's:
the same code computes them (``tests/audio/test_shared_turn.py``).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn

from rtvi_server.patches.pipecat import smart_turn_prediction

MODEL_SAMPLE_RATE = 16000

_lock = threading.Lock()
#: One inference at a time: each already uses every core (pipecat sets ONNX Runtime's
#: intra-op threads to the CPU count), so concurrent runs only contend, and each
#: concurrent run would grow ONNX Runtime's arena by its own working set for good.
_run_lock = threading.Lock()
_shared: Any = None


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
            _shared = model
        return _shared


class SharedSmartTurnAnalyzer(BaseSmartTurn):
    """A session's Smart Turn analyzer whose model is the process's."""

    def _predict_endpoint(self, audio_array: np.ndarray) -> dict[str, Any]:
        if self.sample_rate and self.sample_rate != MODEL_SAMPLE_RATE:
            import soxr

            audio_array = soxr.resample(audio_array, self.sample_rate, MODEL_SAMPLE_RATE)
        model = shared_smart_turn()
        with _run_lock:
            return smart_turn_prediction(model, audio_array)
