"""Pipeline frames become RTVI events, per client generation (spec 6.2, 11.2)."""

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    FunctionCallFromLLM,
    FunctionCallsStartedFrame,
    InterimTranscriptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import (
    LLMTokenUsage,
    LLMUsageMetricsData,
    ProcessingMetricsData,
    TTFBMetricsData,
    TTSUsageMetricsData,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frameworks.rtvi.frames import RTVIServerMessageFrame

from .bot import make_processor
from .harness import PipelineSession, rtvi

TS = "2024-10-21T14:03:11.482Z"


def turn_frames():
    return [
        UserStartedSpeakingFrame(),
        InterimTranscriptionFrame(text="book a table", user_id="participant-7", timestamp=TS),
        TranscriptionFrame(text="book a table for two", user_id="participant-7", timestamp=TS),
        UserStoppedSpeakingFrame(),
        LLMContextFrame(
            context=LLMContext(messages=[{"role": "user", "content": "book a table for two"}])
        ),
        LLMFullResponseStartFrame(),
        LLMTextFrame(text="Sure,"),
        LLMTextFrame(text=" for when?"),
        LLMTextFrame(text=" Tonight"),
        LLMFullResponseEndFrame(),
        TTSStartedFrame(),
        TTSTextFrame(text="Sure,", aggregated_by="word"),
        BotStartedSpeakingFrame(),
        BotStoppedSpeakingFrame(),
        TTSStoppedFrame(),
        MetricsFrame(
            data=[
                TTFBMetricsData(processor="OpenAILLMService#0", model="gpt-4o-mini", value=0.41),
                ProcessingMetricsData(processor="PiperTTSService#0", value=0.12),
                LLMUsageMetricsData(
                    processor="OpenAILLMService#0",
                    value=LLMTokenUsage(prompt_tokens=812, completion_tokens=37, total_tokens=849),
                ),
                TTSUsageMetricsData(processor="PiperTTSService#0", value=64),
            ]
        ),
        FunctionCallsStartedFrame(
            function_calls=[
                FunctionCallFromLLM(
                    function_name="get_weather", tool_call_id="c1", arguments={}, context=None
                )
            ]
        ),
        RTVIServerMessageFrame(data={"show_text_container": True}),
    ]


def event(type_, data=None):
    msg = {"label": "rtvi-ai", "type": type_}
    if data is not None:
        msg["data"] = data
    return msg


async def play(session, frames, until):
    start = len(session.messages)
    for frame in frames:
        await session.worker.queue_frame(frame)
    await session.wait_for(lambda ms: any(m["type"] == until for m in ms[start:]))
    return session.messages[start:]


async def test_config_generation_events_are_exact():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {}))
        got = await play(s, turn_frames(), until="server-message")
    assert got == [
        event("user-started-speaking"),
        event(
            "user-transcription",
            {"text": "book a table", "final": False, "timestamp": TS, "user_id": "participant-7"},
        ),
        event(
            "user-transcription",
            {
                "text": "book a table for two",
                "final": True,
                "timestamp": TS,
                "user_id": "participant-7",
            },
        ),
        event("user-stopped-speaking"),
        event("user-llm-text", {"text": "book a table for two"}),
        event("bot-llm-started"),
        event("bot-llm-text", {"text": "Sure,"}),
        event("bot-llm-text", {"text": " for when?"}),
        event("bot-transcription", {"text": "Sure, for when?"}),
        event("tts-text", {"text": "Sure, for when?"}),
        event("bot-llm-text", {"text": " Tonight"}),
        event("bot-transcription", {"text": "Tonight"}),
        event("tts-text", {"text": "Tonight"}),
        event("bot-llm-stopped"),
        event("bot-tts-started"),
        event("bot-tts-text", {"text": "Sure,"}),
        event("bot-started-speaking"),
        event("bot-stopped-speaking"),
        event("bot-tts-stopped"),
        event(
            "metrics",
            {
                "ttfb": [
                    {"processor": "OpenAILLMService#0", "model": "gpt-4o-mini", "value": 0.41}
                ],
                "processing": [{"processor": "PiperTTSService#0", "value": 0.12}],
                "tokens": [{"prompt_tokens": 812, "completion_tokens": 37, "total_tokens": 849}],
                "characters": [{"processor": "PiperTTSService#0", "value": 64}],
            },
        ),
        event("llm-function-call-start", {"function_name": "get_weather"}),
        event("server-message", {"show_text_container": True}),
    ]


async def test_user_speech_flushes_the_pending_bot_sentence():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {}))
        got = await play(
            s,
            [
                LLMFullResponseStartFrame(),
                LLMTextFrame(text="Well, I think"),
                UserStartedSpeakingFrame(),
            ],
            until="user-started-speaking",
        )
    types = [m["type"] for m in got]
    assert types == [
        "bot-llm-started",
        "bot-llm-text",
        "bot-transcription",
        "tts-text",
        "user-started-speaking",
    ]
    assert got[2]["data"] == {"text": "Well, I think"}


async def test_modern_generation_gets_the_modern_event_set():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {"version": "2.1.0", "about": {"library": "t"}}))
        got = await play(s, turn_frames(), until="server-message")
    types = [m["type"] for m in got]
    # The same conversation, in the modern vocabulary.
    for expected in (
        "user-started-speaking",
        "user-transcription",
        "user-stopped-speaking",
        "bot-llm-started",
        "bot-llm-text",
        "bot-llm-stopped",
        "bot-tts-started",
        "bot-started-speaking",
        "bot-stopped-speaking",
        "bot-tts-stopped",
        "metrics",
        "llm-function-call-started",
        "server-message",
    ):
        assert expected in types, expected
    # Config-generation-only events are not sent to modern clients.
    assert "tts-text" not in types
    assert "llm-function-call-start" not in types
    final = next(m for m in got if m["type"] == "user-transcription" and m["data"]["final"])
    assert final["data"]["text"] == "book a table for two"
    assert final["data"]["user_id"] == "participant-7"


async def test_nothing_but_replies_goes_out_before_bot_ready():
    """Pipeline activity before client-ready is nobody's (and its generation unknown):
    dropped. A bot's server-message is kept; it follows bot-ready, in order."""
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        early = [
            MetricsFrame(data=[TTFBMetricsData(processor="StartupService#0", value=0.01)]),
            BotStartedSpeakingFrame(),
            RTVIServerMessageFrame(data={"hello": "early"}),
            BotStoppedSpeakingFrame(),
        ]
        for frame in early:
            await s.worker.queue_frame(frame)
        await s.wait_frame(BotStoppedSpeakingFrame)
        assert s.messages == []
        ready = await s.request(rtvi("client-ready", {"version": "2.1.0"}))
        assert ready["type"] == "bot-ready"
        await s.wait_for(lambda ms: any(m["type"] == "server-message" for m in ms))
        assert [m["type"] for m in s.messages] == ["bot-ready", "server-message"]
        assert s.messages[1]["data"] == {"hello": "early"}


async def test_pipecat_wakes_the_observer_per_hop_only_for_a_modern_client():
    from rtvi_server.processor.observer import RTVIEventObserver
    from rtvi_server.sessions.activity import ActivityObserver

    assert not ActivityObserver().observe_every_push  # it reads first pushes only
    for ready, per_hop in (({}, False), ({"version": "2.1.0", "about": {"library": "t"}}, True)):
        processor, _ = make_processor()
        observer = RTVIEventObserver(processor)
        assert observer.observe_every_push  # the generation is not known yet
        async with PipelineSession(processor) as s:
            await s.request(rtvi("client-ready", ready))
            assert observer.observe_every_push is per_hop
