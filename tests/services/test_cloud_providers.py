"""Every cloud provider of the catalogue, real: its pipecat service built by the factory
from a sentinel key, its standard options reaching it, and a turn through its own wire
protocol to a loopback stand-in that checks the model, the voice and the key."""

import pytest
from loguru import logger
from pipecat.frames.frames import (
    InputAudioRawFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

from rtvi_server import RTVIProcessor
from rtvi_server.services import create_service, find_provider, llm_actions, standard_services
from rtvi_server.testing import read_wav_pcm16

from ..processor.harness import PipelineSession, rtvi
from ..support.provider_fakes import CloudFakes
from ..support.wait import eventually

pytestmark = pytest.mark.slow
KEY = "sk-SENTINEL-cloud-5b8e"
SPEECH = "librivox_sense_and_sensibility_0930.wav"


@pytest.fixture
async def fakes(monkeypatch):
    server = await CloudFakes().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"{server.url}/anthropic")
    lines = []
    sink = logger.add(lines.append, level="TRACE", format="{message}")
    yield server
    logger.remove(sink)
    await server.stop()
    assert not [line for line in lines if KEY in line]  # the key never reached a log line


def environ(fakes):
    return {
        "DEEPGRAM_BASE_URL": fakes.ws("deepgram"),
        "CARTESIA_BASE_URL": fakes.ws("cartesia") + "/tts/websocket",
        "ELEVENLABS_BASE_URL": fakes.ws("elevenlabs"),
        "OPENAI_BASE_URL": f"{fakes.url}/openai/v1",
    }


def build(kind, provider, fakes, **settings):
    spec = find_provider(kind, provider)
    assert spec is not None
    return create_service(
        kind, provider, api_keys={provider: KEY}, settings=settings, environ=environ(fakes)
    )


def processor_for(kind, service, defaults, choices):
    processor = RTVIProcessor()
    for svc in standard_services(
        **{kind: service}, defaults={kind: defaults}, choices={kind: choices}
    ):
        processor.register_service(svc)
    return processor


def update(kind, name, value):
    return rtvi(
        "update-config",
        {"config": [{"service": kind, "options": [{"name": name, "value": value}]}]},
    )


TTS = [
    ("cartesia", "71a7ad14-091c-4e8e-a314-022ece01c121", "a0e99841-438c-4a64-b679-ae501e7d6091"),
    ("elevenlabs", "21m00Tcm4TlvDq8ikWAM", "pNInz6obpgDQGcFmaJgB"),
    ("deepgram", "aura-2-helena-en", "aura-2-thalia-en"),
    ("openai", "alloy", "nova"),
]


@pytest.mark.parametrize(("provider", "voice", "second"), TTS, ids=[t[0] for t in TTS])
async def test_tts_provider_speaks_through_its_protocol_with_the_chosen_voice(
    fakes, provider, voice, second
):
    tts = build("tts", provider, fakes, voice=voice)
    processor = processor_for("tts", tts, {"voice": voice}, {"voice": [second]})
    async with PipelineSession(processor, [tts]) as s:
        await s.request(rtvi("client-ready", {}))
        assert (await s.request(update("tts", "voice", second)))["type"] == "config"
        refused = await s.request(update("tts", "voice", "someone-else"))
        assert refused["type"] == "error-response"
        if provider == "openai":
            assert (await s.request(update("tts", "speed", 1.25)))["type"] == "config"
        await s.worker.queue_frame(TTSSpeakFrame(text="Hello there, this is a test."))
        await s.wait_frame(TTSAudioRawFrame, timeout=15)
    calls = fakes.of(f"{provider}-tts" if provider in ("openai", "deepgram") else provider)
    spoke = [c for c in calls if c.text]
    assert spoke, calls
    assert spoke[-1].voice == second  # the option reached the service and its request
    assert spoke[-1].key == KEY
    assert "Hello there" in spoke[-1].text
    if provider == "openai":
        assert spoke[-1].extra["speed"] == 1.25


STT = [
    ("deepgram", "nova-3-general", "nova-2-general"),
    ("openai", "gpt-4o-transcribe", "whisper-1"),
]


@pytest.mark.parametrize(("provider", "model", "second"), STT, ids=[s[0] for s in STT])
async def test_stt_provider_transcribes_through_its_protocol_with_the_chosen_model(
    fakes, fixtures, provider, model, second
):
    stt = build("stt", provider, fakes, model=model)
    processor = processor_for("stt", stt, {"model": model}, {"model": [second]})
    pcm = read_wav_pcm16(fixtures / SPEECH)
    async with PipelineSession(processor, [stt]) as s:
        await s.request(rtvi("client-ready", {}))
        assert (await s.request(update("stt", "model", second)))["type"] == "config"
        if provider == "deepgram":  # it reconnects with the new model before audio flows
            await eventually(lambda: fakes.of("deepgram-stt")[-1].model == second)
        await s.worker.queue_frame(VADUserStartedSpeakingFrame())
        chunk = 640  # 20 ms at 16 kHz
        for i in range(0, len(pcm) - chunk, chunk):
            await s.worker.queue_frame(InputAudioRawFrame(pcm[i : i + chunk], 16000, 1))
        await s.worker.queue_frame(VADUserStoppedSpeakingFrame())
        heard = await s.wait_frame(TranscriptionFrame, timeout=15)
    assert heard.text == fakes.transcript
    calls = [c for c in fakes.of(f"{provider}-stt") if c.text]
    assert calls[-1].model == second
    assert calls[-1].key == KEY


async def test_anthropic_answers_through_its_streaming_protocol_with_the_chosen_settings(fakes):
    llm = build("llm", "anthropic", fakes, model="claude-haiku-4-5")
    context = LLMContext()
    user, _assistant = LLMContextAggregatorPair(context)
    defaults = {
        "model": "claude-haiku-4-5",
        "initial_messages": [{"role": "system", "content": "Be brief."}],
    }
    processor = processor_for("llm", llm, defaults, {"model": ["claude-sonnet-4-5"]})
    for action in llm_actions(context):
        processor.register_action(action)
    async with PipelineSession(processor, [user, llm]) as s:  # the LLM's text reaches the end
        await s.request(rtvi("client-ready", {}))
        for name, value in (
            ("model", "claude-sonnet-4-5"),
            ("temperature", 0.3),
            ("max_tokens", 120),
        ):
            assert (await s.request(update("llm", name, value)))["type"] == "config"
        messages = [{"role": "user", "content": "What is the weather?"}]
        assert (await s.request(update("llm", "messages", messages)))["type"] == "config"
        ran = await s.request(rtvi("action", {"service": "llm", "action": "run", "arguments": []}))
        assert ran["type"] == "action-response"
        await s.wait_frame(LLMTextFrame, timeout=15)
    call = fakes.of("anthropic")[-1]
    assert (call.model, call.key) == ("claude-sonnet-4-5", KEY)
    assert call.extra["temperature"] == 0.3
    assert call.extra["max_tokens"] == 120
    assert "Be brief." in str(call.extra["system"])  # the bot's prompt stayed first
    assert "What is the weather?" in str(call.extra["messages"][-1]["content"])
