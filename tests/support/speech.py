"""Speech to text for tests that check what a bot said: Whisper tiny.en, the
registry-shipped weights the default bot uses, on CPU."""

import numpy as np
import soxr

from rtvi_server.services.local_models import whisper_model_source
from rtvi_server.services.local_stt import WHISPER_MODELS


def transcribe(pcm: bytes, rate: int) -> str:
    """The words in 16-bit mono ``pcm`` at ``rate``."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    if rate != 16000:
        samples = soxr.resample(samples, rate, 16000)
    model = WHISPER_MODELS.get(f"{whisper_model_source('tiny.en')}|cpu|int8")
    segments, _ = model.transcribe(samples, language="en")
    return " ".join(s.text for s in segments)
