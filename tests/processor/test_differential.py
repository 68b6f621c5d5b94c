"""Modern clients get what pipecat 1.14's own RTVI sends them: a differential test.

One scripted pipeline (user speech and transcripts, LLM text, TTS text and audio,
a function call with its result, metrics, a server message, an error, an
interruption) runs twice on the same in-memory transport: once with pipecat's
``RTVIProcessor`` and ``RTVIObserver``, once with ours; each answers a modern
client's ``client-ready``. The outbound RTVI messages must be equal, with ids and
segment ids normalised, except for the differences listed in ``DELIBERATE`` (README,
"Modern clients", says why).
"""

import copy

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    ErrorFrame,
    FunctionCallFromLLM,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import LLMTokenUsage, LLMUsageMetricsData, TTFBMetricsData
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frameworks.rtvi import RTVIObserver as PipecatObserver
from pipecat.processors.frameworks.rtvi import RTVIProcessor as PipecatProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVIServerMessageFrame

from rtvi_server import RTVIProcessor, create_pipeline_worker
from rtvi_server.bots import Bot
from rtvi_server.testing import BotHarness

TS = "2024-10-21T14:03:11.482Z"
METRICS = PipelineParams(enable_metrics=True, enable_usage_metrics=True)
END = {"script": "done"}


def script():
    call = {"function_name": "get_weather", "tool_call_id": "c1", "arguments": {"city": "Paris"}}
    return [
        UserStartedSpeakingFrame(),
        InterimTranscriptionFrame(text="book a table", user_id="u7", timestamp=TS),
        TranscriptionFrame(text="book a table for two", user_id="u7", timestamp=TS),
        UserStoppedSpeakingFrame(),
        LLMFullResponseStartFrame(),
        LLMTextFrame(text="Sure,"),
        LLMTextFrame(text=" for when?"),
        LLMFullResponseEndFrame(),
        TTSStartedFrame(),
        BotStartedSpeakingFrame(),
        TTSTextFrame(text="Sure, for when?", aggregated_by="sentence"),
        *[TTSAudioRawFrame(b"\x10\x00" * 480, 24000, 1) for _ in range(10)],
        BotStoppedSpeakingFrame(),
        TTSStoppedFrame(),
        FunctionCallsStartedFrame(
            function_calls=[FunctionCallFromLLM(context=None, **call)]  # type: ignore[arg-type]
        ),
        FunctionCallInProgressFrame(**call),
        FunctionCallResultFrame(**call, result={"celsius": 21}, run_llm=False),
        MetricsFrame(
            data=[
                TTFBMetricsData(processor="LLM#0", model="m", value=0.41),
                LLMUsageMetricsData(
                    processor="LLM#0",
                    value=LLMTokenUsage(prompt_tokens=8, completion_tokens=3, total_tokens=11),
                ),
            ]
        ),
        RTVIServerMessageFrame(data={"show": True}),
        ErrorFrame(error="synthesis failed: upstream said 500"),
        InterruptionFrame(),
        RTVIServerMessageFrame(data=END),
    ]


async def pipecat_bot(args):
    transport = args.transport
    rtvi = PipecatProcessor()
    pipeline = Pipeline([transport.input(), rtvi, transport.output()])
    worker = PipelineWorker(pipeline, params=METRICS, observers=[PipecatObserver(rtvi)])
    return Bot(worker=worker, rtvi=rtvi)  # pipecat's worker sends bot-ready itself


async def our_bot(args):
    transport = args.transport
    rtvi = RTVIProcessor()
    pipeline = Pipeline([transport.input(), rtvi, transport.output()])
    return Bot(worker=create_pipeline_worker(pipeline, rtvi, params=METRICS), rtvi=rtvi)


def finished(messages):
    kinds = [m.get("type") for m in messages]
    ended = any(m.get("type") == "server-message" and m.get("data") == END for m in messages)
    return ended and "bot-tts-text" in kinds and "error" in kinds


async def run(create_bot, version):
    async with BotHarness(create_bot) as bot:
        await bot.connect({"version": version, "about": {"library": "differential"}})
        for frame in script():
            await bot.bot.worker.queue_frame(frame)
        await bot.wait_for(lambda _m: finished(bot.messages), timeout=15)
        return normalised(bot.messages)


def normalised(messages):
    out = copy.deepcopy(messages)
    for m in out:
        if "id" in m:
            m["id"] = "<id>"
        data = m.get("data")
        if isinstance(data, dict) and "segment_id" in data:
            data["segment_id"] = "<segment>"
    return out


def deliberate(message, version):
    """Where we differ from pipecat on purpose; README says why."""
    m = copy.deepcopy(message)
    if m["type"] == "bot-ready":
        m["data"]["about"] = "<about>"  # ours names rtvi-server, pipecat names itself
        if version.startswith("2."):
            m["data"]["version"] = "<2.x>"  # we answer 2.1.0 (spec 11.4), pipecat 1.14 2.2.0
    if m["type"] == "error":
        m["data"]["error"] = "<stable text>"  # a dependency's text never reaches a client
    return m


DELIBERATE = ["bot-ready.about", "bot-ready.version (2.x)", "error.error text"]


@pytest.mark.parametrize("version", ["1.0.0", "1.4.0", "2.1.0"])
async def test_modern_clients_get_what_pipecats_own_rtvi_sends(version):
    theirs = await run(pipecat_bot, version)
    ours = await run(our_bot, version)
    assert [m["type"] for m in ours] == [m["type"] for m in theirs]
    assert [deliberate(m, version) for m in ours] == [deliberate(m, version) for m in theirs]
    # The listed differences are real ones, and nothing else differs.
    differing = {m["type"] for m, p in zip(ours, theirs, strict=True) if m != p}
    assert differing <= {"bot-ready", "error"}, DELIBERATE
    error = next(m for m in ours if m["type"] == "error")
    assert "upstream said 500" not in error["data"]["error"]
    kinds = {m["type"] for m in ours}
    assert {"bot-output", "llm-function-call-in-progress", "bot-interrupted", "metrics"} <= kinds
