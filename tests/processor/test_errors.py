"""What a client is told of a pipeline error names the failing part, never its text."""

from pipecat.frames.frames import ErrorFrame
from pipecat.services.tts_service import TTSService
from pipecat.utils.errors import ErrorCategory

from rtvi_server.processor.errors import client_error_text


class SilentTTS(TTSService):
    async def run_tts(self, text, context_id):
        yield None


def test_the_failing_service_and_the_category_are_named():
    frame = ErrorFrame(
        error="401 Unauthorized: key sk-live-123 rejected at /v1/speak",
        processor=SilentTTS(),
        category=ErrorCategory.AUTHENTICATION,
    )
    text = client_error_text(frame)
    assert text == "The bot's speech synthesis (tts) failed: its provider refused the credentials."
    assert "sk-live" not in text


def test_an_unattributed_error_is_still_a_sentence_of_ours():
    assert client_error_text(ErrorFrame(error="boom: /etc/passwd")) == "A part of the bot failed."
