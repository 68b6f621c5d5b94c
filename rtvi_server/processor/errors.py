"""What a client is told of a pipeline error: which part failed and how, in our words.

pipecat's ``ErrorFrame.error`` is a provider's or library's text (an SDK's
message, a path, a DNS failure); it goes to the log with the session, and the
client gets a sentence built from the failing service's kind and pipecat's
error category.
"""

from __future__ import annotations

from typing import Final

from pipecat.frames.frames import ErrorFrame
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.errors import ErrorCategory

_PARTS: Final = (
    (STTService, "speech recognition (stt)"),
    (LLMService, "language model (llm)"),
    (TTSService, "speech synthesis (tts)"),
)
_WHY: Final = {
    ErrorCategory.AUTHENTICATION: "its provider refused the credentials",
    ErrorCategory.AUTHORIZATION: "its provider refused access",
    ErrorCategory.INVALID_REQUEST: "its provider refused the request",
    ErrorCategory.RATE_LIMIT: "its provider is rate-limiting requests",
    ErrorCategory.QUOTA: "its provider's quota is used up",
    ErrorCategory.CONNECTIVITY: "its provider could not be reached",
    ErrorCategory.SERVER: "its provider reported a failure",
}


def client_error_text(frame: ErrorFrame) -> str:
    """A stable description of ``frame`` for the client (never ``frame.error``)."""
    part = next((name for cls, name in _PARTS if isinstance(frame.processor, cls)), None)
    why = _WHY.get(frame.category) if frame.category is not None else None
    subject = f"The bot's {part}" if part else "A part of the bot"
    return f"{subject} failed: {why}." if why else f"{subject} failed."
