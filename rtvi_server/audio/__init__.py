"""The listening hot path: a batched Silero VAD shared by every session of a process."""

from rtvi_server.audio.batched_vad import BatchedSileroVADAnalyzer
from rtvi_server.audio.silero_engine import SileroBatchEngine, shared_engine

__all__ = ["BatchedSileroVADAnalyzer", "SileroBatchEngine", "shared_engine"]
