"""Phone calls end to end: a signed voice webhook, then the provider's media stream.

The server runs the offline default bot (Whisper hears, Piper speaks) with its
LLM answered by a loopback OpenAI-compatible stand-in, so the reply is known.
For each provider, the call plays a recorded fixture in real time as 20 ms
frames of 8 kHz mu-law, the bot's reply comes back as that provider's media
messages, and Whisper must hear the reply's words in it. Ending the session
hangs the call up through the provider's REST API (a loopback stand-in).
"""

import json
from urllib.parse import urlsplit

import aiohttp
import numpy as np
import pytest
import pytest_asyncio

from rtvi_server.services.local_models import whisper_model_source
from rtvi_server.testing import word_error_rate
from rtvi_server.testing.phone import PhoneCall

from ..conftest import ROOT
from ..support.carriers import CarrierStandIn
from ..support.openai_server import OpenAICompatibleServer
from ..support.phone_webhooks import Signer, stream_of
from ..support.serverproc import ServerProcess
from ..support.wait import eventually

# The stand-ins serve from the module's event loop, which every test here shares.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
API_KEY = "server-key-SENTINEL"
NUMBERS = {"twilio": "+15550100001", "telnyx": "+15550100002", "plivo": "+15550100003"}
REPLY = [
    "It is",
    " sunny",
    " and warm",
    " in Paris",
    " today, with a light breeze from the west",
    " and clear skies all afternoon.",
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone_server():
    carriers = await CarrierStandIn().start()
    chat = await OpenAICompatibleServer(reply_tokens=REPLY).start()
    signer = Signer()
    bot = {"services": {"llm": "together"}, "api_keys": {"together": "tg-SENTINEL"}}
    env = {
        **signer.env(carriers.url),
        "RTVI_SERVER_API_KEY": API_KEY,
        "TOGETHER_BASE_URL": f"{chat.url}/together/v1",
        "RTVI_TELEPHONY_NUMBERS": json.dumps(dict.fromkeys(NUMBERS.values(), bot)),
    }
    proc = ServerProcess(bots_dir=ROOT / "bots", env=env).wait_ready()
    yield proc, carriers, signer
    proc.terminate()
    await chat.stop()
    await carriers.stop()


@pytest.fixture(scope="module")
def whisper():
    from faster_whisper import WhisperModel

    return WhisperModel(whisper_model_source("tiny.en"), device="cpu", compute_type="int8")


def heard(whisper, pcm16: bytes) -> str:
    audio = np.frombuffer(pcm16, dtype=np.int16).astype(np.float32) / 32768
    segments, _ = whisper.transcribe(audio, language="en", beam_size=1)
    return " ".join(s.text for s in segments).lower()


async def call_in(http, server, signer, provider):
    url = f"{server.url}/telephony/{provider}"
    status, markup = await signer.post(
        http, url, provider, signer.form(provider, NUMBERS[provider])
    )
    assert status == 200, markup
    stream = stream_of(provider, markup)
    assert stream is not None, markup
    assert "SENTINEL" not in markup
    session_id = urlsplit(stream).path.split("/")[3]
    return stream, session_id


async def session(http, server, session_id):
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with http.get(f"{server.url}/sessions/{session_id}", headers=headers) as r:
        return await r.json()


async def ended(http, server, session_id):
    async def probe():
        info = await session(http, server, session_id)
        return info if info["state"] == "ended" else None

    return await eventually(probe, what="the session to end", timeout=20)


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "plivo"])
async def test_a_call_hears_the_caller_and_speaks_the_reply_then_hangs_up(
    phone_server, whisper, fixtures, provider
):
    server, carriers, signer = phone_server
    async with aiohttp.ClientSession() as http:
        stream, session_id = await call_in(http, server, signer, provider)
        async with PhoneCall(provider, stream) as phone:
            await phone.play_wav(fixtures / "espeak_ng_weather_question.wav")
            await phone.silence(1.5)  # the line stays open: the bot hears the turn end
            await phone.wait_for_marks(1, timeout=90)
            info = await session(http, server, session_id)
            assert (info["transport"], info["state"]) == (provider, "running")

            reply = heard(whisper, phone.bot_pcm())
            assert word_error_rate("".join(REPLY), reply) <= 0.25, reply
            assert phone.unknown == []

            headers = {"Authorization": f"Bearer {API_KEY}"}
            async with http.delete(f"{server.url}/sessions/{session_id}", headers=headers) as r:
                assert r.status == 200
            await carriers.wait_for(provider, "hang_up", phone.call_id)
            await phone.hang_up()  # the provider ends the stream once the call is over
        info = await ended(http, server, session_id)
        assert info["end_reason"] == "deleted"
    log = server.log()
    assert "SENTINEL" not in log
    assert stream.rsplit("/", 1)[1] not in log  # the socket's token (uvicorn logs the path)


async def test_a_caller_hanging_up_ends_the_session_as_client_gone(phone_server, fixtures):
    server, carriers, signer = phone_server
    async with aiohttp.ClientSession() as http:
        stream, session_id = await call_in(http, server, signer, "twilio")
        async with PhoneCall("twilio", stream) as phone:
            await phone.silence(0.5)
            await eventually(
                lambda: session(http, server, session_id),
                what="the bot to run",
            )
            await phone.hang_up()
        info = await ended(http, server, session_id)
        assert info["end_reason"] == "client_gone"
    assert [r for r in carriers.of("twilio", "hang_up") if r.call_id == phone.call_id] == []


async def test_the_caller_speaking_over_the_bot_clears_its_audio(phone_server, fixtures):
    server, _, signer = phone_server
    async with aiohttp.ClientSession() as http:
        stream, session_id = await call_in(http, server, signer, "twilio")
        async with PhoneCall("twilio", stream) as phone:
            await phone.play_wav(fixtures / "espeak_ng_weather_question.wav")
            await phone.silence(1.5)
            await eventually(
                lambda: len(phone.bot_audio) > 8000, what="the bot to speak", timeout=90
            )
            before = phone.clears
            await phone.play_wav(fixtures / "librivox_sense_and_sensibility_0870.wav")
            await eventually(lambda: phone.clears > before, what="a clear", timeout=10)
            await phone.hang_up()
        await ended(http, server, session_id)


async def test_a_dialled_call_answers_and_the_operator_makes_the_bot_speak(
    phone_server, whisper, fixtures
):
    server, carriers, _ = phone_server
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        body = {"provider": "twilio", "to": "+15550142424", "from": NUMBERS["twilio"]}
        async with http.post(f"{server.url}/calls", json=body) as r:
            placed = await r.json()
            assert r.status == 201, placed
        dial = carriers.of("twilio", "dial")[-1]
        stream = stream_of("twilio", dial.body["Twiml"])  # what Twilio runs once answered
        async with PhoneCall("twilio", stream) as phone:
            await phone.play_wav(fixtures / "espeak_ng_weather_question.wav")
            await phone.silence(1.5)
            await phone.wait_for_marks(1, timeout=90)
            answered = heard(whisper, phone.bot_pcm())
            assert word_error_rate("".join(REPLY), answered) <= 0.25, answered

            before = len(phone.bot_audio)
            say = {
                "service": "tts",
                "action": "say",
                "arguments": [{"name": "text", "value": "Thank you for calling, have a nice day."}],
            }
            url = f"{server.url}/sessions/{placed['session_id']}/action"
            async with http.post(url, json=say) as r:
                reply = await r.json()
            assert (r.status, reply["type"]) == (200, "action-response"), reply
            await phone.wait_for_marks(2, timeout=60)
            said = heard(whisper, phone.bot_pcm()[before * 2 * 2 :])  # 8 kHz mu-law -> 16 kHz
            # (not "goodbye": Whisper writes it as one word or two as the clip's start moves)
            assert word_error_rate("thank you for calling have a nice day", said) <= 0.25, said
            await phone.hang_up()
        info = await ended(http, server, placed["session_id"])
        assert info["end_reason"] == "client_gone"
