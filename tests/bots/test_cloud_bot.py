"""bots/cloud.py, the example a user copies first, through a full spoken turn.

Deepgram hears (its streaming WebSocket), Together answers (OpenAI's chat API),
Cartesia speaks (its WebSocket): each a loopback stand-in speaking that
provider's protocol, each given the key the start payload named for it.
"""

import numpy as np
import pytest

from rtvi_server.testing import BotHarness

from ..conftest import ROOT
from ..support.network_guard import loopback_only
from ..support.openai_server import OpenAICompatibleServer
from ..support.provider_fakes import CloudFakes

pytestmark = pytest.mark.slow
KEYS = {"deepgram": "dg-SENTINEL-1", "together": "tg-SENTINEL-2", "cartesia": "ca-SENTINEL-3"}


@pytest.fixture
async def clouds(monkeypatch):
    fakes = await CloudFakes().start()
    chat = await OpenAICompatibleServer(reply_tokens=["It is", " sunny", " today."]).start()
    monkeypatch.setenv("DEEPGRAM_BASE_URL", fakes.ws("deepgram"))
    monkeypatch.setenv("CARTESIA_BASE_URL", fakes.ws("cartesia") + "/tts/websocket")
    monkeypatch.setenv("TOGETHER_BASE_URL", f"{chat.url}/together/v1")
    yield fakes, chat
    await chat.stop()
    await fakes.stop()


async def test_the_cloud_bot_hears_answers_and_speaks_through_each_providers_protocol(
    clouds, fixtures
):
    fakes, chat = clouds
    with loopback_only() as outside:
        async with BotHarness.from_file(ROOT / "bots" / "cloud.py", api_keys=KEYS) as bot:
            ready = await bot.connect()
            assert [e["service"] for e in ready["data"]["config"]] == ["vad", "stt", "tts", "llm"]
            await bot.play_wav(fixtures / "librivox_sense_and_sensibility_0930.wav")
            await bot.silence(1.5)
            heard = await bot.wait_for_event(
                "user-transcription", lambda m: m["data"]["final"], timeout=30
            )
            assert heard["data"]["text"] == fakes.transcript
            await bot.wait_for_event("bot-stopped-speaking", timeout=60)
            assert bot.bot_text() == "It is sunny today."
            assert np.abs(np.frombuffer(bot.audio, dtype=np.int16)).max() > 5000
    assert outside == []
    stt = [c for c in fakes.of("deepgram-stt") if c.text][-1]
    assert (stt.key, stt.model) == (KEYS["deepgram"], "nova-3-general")
    llm = chat.requests[-1]
    assert llm.headers["Authorization"] == f"Bearer {KEYS['together']}"
    assert llm.body["messages"][-1] == {"role": "user", "content": fakes.transcript}
    tts = [c for c in fakes.of("cartesia") if c.text][-1]
    assert (tts.key, tts.voice) == (KEYS["cartesia"], "71a7ad14-091c-4e8e-a314-022ece01c121")
    assert "sunny" in tts.text
