"""The main job end to end: rtvi-server, the offline default bot, a real WebRTC client."""

import aiohttp
import pytest

from rtvi_server.testing import word_error_rate
from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..conftest import ROOT, fixture_text
from ..support.serverproc import ServerProcess
from ..support.speech import transcribe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(bots_dir=ROOT / "bots").wait_ready()
    yield proc
    proc.terminate()


async def test_spoken_turn_over_loopback_webrtc(server, fixtures):
    wav = fixtures / "librivox_sense_and_sensibility_0870.wav"
    async with WebRTCTestClient(server.url, record_bot_audio=True) as client:
        started = await client.start({})
        assert started["offer_url"] == f"/sessions/{started['sessionId']}/api/offer"
        await client.connect()
        ready = await client.request("client-ready", {})
        assert ready["type"] == "bot-ready"
        assert ready["data"]["version"] == "0.3.0"

        described = await client.request("describe-config")
        assert [s["name"] for s in described["data"]["config"]] == ["vad", "stt", "tts", "llm"]

        client.play_wav(wav)
        await client.wait_for_event("user-started-speaking", timeout=20)
        # Mid-session config round trip over the data channel.
        updated = await client.request(
            "update-config",
            {"config": [{"service": "llm", "options": [{"name": "temperature", "value": 0.2}]}]},
        )
        assert updated["type"] == "config"
        await client.wait_for_event("user-stopped-speaking", timeout=30)
        final = await client.wait_for_event(
            "user-transcription", lambda m: m["data"]["final"], timeout=30
        )
        wer = word_error_rate(fixture_text(wav), final["data"]["text"])
        assert wer <= 0.10, final
        await client.wait_for_event("bot-llm-text", timeout=60)
        await client.wait_for_event("bot-started-speaking", timeout=60)
        await client.wait_for_event("bot-stopped-speaking", timeout=60)
        assert client.bot_audio_peak > 1000, "the bot's audio track carried only silence"
        # What the user heard (Opus over SRTP, decoded by the client) is what the bot said.
        said = " ".join(m["data"]["text"] for m in client.messages if m["type"] == "bot-tts-text")
        heard = transcribe(bytes(client.bot_audio), 48000)
        assert len(said.split()) >= 2, said
        assert word_error_rate(said, heard) <= 0.25, (said, heard)


async def active_sessions(server):
    async with aiohttp.ClientSession() as http, http.get(server.url + "/health") as r:
        return (await r.json())["active_sessions"]


@pytest.mark.parametrize(
    ("service", "option", "value"),
    [("llm", "model", "no-such-model"), ("tts", "voice", "en_US-nobody-medium")],
)
async def test_a_start_config_naming_a_model_that_cannot_load_is_a_400_naming_it(
    server, service, option, value
):
    body = {
        "config": [
            {"service": "vad", "options": []},
            {"service": service, "options": [{"name": option, "value": value}]},
        ]
    }
    before = await active_sessions(server)
    async with aiohttp.ClientSession() as http, http.post(server.url + "/start", json=body) as r:
        reply = await r.json()
    assert r.status == 400, reply
    assert reply["field"] == "config[1].options[0]"
    assert value in reply["info"]
    assert "could not be loaded" in reply["info"]
    assert "Error" not in reply["info"]
    assert await active_sessions(server) <= before  # the slot came back
