"""Tools for testing bots: an in-memory transport, a phone call, transcript checks."""

from rtvi_server.testing.bot_harness import BotHarness
from rtvi_server.testing.memory_transport import (
    MemoryInputTransport,
    MemoryOutputTransport,
    MemoryTransport,
    Recording,
    read_wav_pcm16,
)
from rtvi_server.testing.phone import PhoneCall
from rtvi_server.testing.wer import normalize_words, word_error_rate

__all__ = [
    "BotHarness",
    "MemoryInputTransport",
    "MemoryOutputTransport",
    "MemoryTransport",
    "PhoneCall",
    "Recording",
    "normalize_words",
    "read_wav_pcm16",
    "word_error_rate",
]
