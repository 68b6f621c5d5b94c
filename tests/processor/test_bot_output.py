"""Modern clients get pipecat's ``bot-output`` for the bot's spoken text.

pipecat reports spoken text once the output transport pushes it on (with the
right timing), which is never the text frame's first push: a bot built the
usual way, with a real output transport, must still send ``bot-output``.
"""

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TTSTextFrame,
)

from rtvi_server.testing import BotHarness

from ..conftest import ROOT

ECHO = ROOT / "tests" / "server" / "bots" / "echo.py"


@pytest.mark.parametrize("version", ["1.0.0", "2.1.0"])
async def test_spoken_text_reaches_a_modern_client_as_bot_output(version):
    async with BotHarness.from_file(ECHO) as bot:
        ready = await bot.connect({"version": version, "about": {"library": "test"}})
        assert ready["type"] == "bot-ready"
        worker = bot.bot.worker
        for frame in (
            LLMFullResponseStartFrame(),
            BotStartedSpeakingFrame(),
            TTSTextFrame(text="Sure, for when?", aggregated_by="sentence"),
            LLMFullResponseEndFrame(),
        ):
            await worker.queue_frame(frame)
        output = await bot.wait_for_event("bot-output", timeout=5)
        assert output["data"]["text"] == "Sure, for when?"
        assert output["data"]["spoken"] is True
