"""Spec section 13 conformance, driven through a real pipecat pipeline."""

import json
import re

import pytest
from pipecat.frames.frames import EndFrame, ErrorFrame, InterruptionFrame, LLMRunFrame
from pipecat.utils.errors import ErrorCategory

from rtvi_server import RTVIProcessor

from .bot import make_processor
from .harness import PipelineSession, rtvi

START = [{"service": "llm", "options": [{"name": "run_on_config", "value": True}]}]

DEFAULT_WIRE = [
    {"service": "vad", "options": [{"name": "params", "value": {"stop_secs": 0.8}}]},
    {"service": "tts", "options": [{"name": "voice", "value": "joe"}]},
    {
        "service": "llm",
        "options": [
            {"name": "model", "value": "smol"},
            {"name": "initial_messages", "value": [{"role": "system", "content": "Be brief."}]},
            {"name": "run_on_config", "value": True},
        ],
    },
]


@pytest.fixture
async def session():
    processor, rec = make_processor(START, handler_timeout_secs=0.3)
    async with PipelineSession(processor) as s:
        s.rec = rec
        ready = await s.request(rtvi("client-ready", {}, id="ready1"))
        assert ready["type"] == "bot-ready"
        yield s


async def test_bot_ready_carries_defaults_merged_with_start_config_and_runs_handlers_in_order():
    processor, rec = make_processor(START)
    async with PipelineSession(processor) as s:
        ready = await s.request(rtvi("client-ready", {}, id="a1b2c3d4"))
        assert ready == {
            "label": "rtvi-ai",
            "type": "bot-ready",
            "id": "a1b2c3d4",
            "data": {"version": "0.3.0", "config": DEFAULT_WIRE},
        }
        assert rec.applied == [
            ("vad", "params", {"stop_secs": 0.8}),
            ("tts", "voice", "joe"),
            ("llm", "model", "smol"),
            ("llm", "initial_messages", [{"role": "system", "content": "Be brief."}]),
            ("llm", "run_on_config", True),
        ]
        # run_on_config: one LLM run, queued after bot-ready (spec 4.6).
        await s.wait_frame(LLMRunFrame)


async def test_run_on_config_from_update_does_not_run_the_llm(session):
    await session.wait_frame(LLMRunFrame)
    before = sum(isinstance(f, LLMRunFrame) for f in session.collector.frames)
    reply = await session.request(
        rtvi(
            "update-config",
            {"config": [{"service": "llm", "options": [{"name": "run_on_config", "value": True}]}]},
        )
    )
    assert reply["type"] == "config"
    # Requests are served in order: once a later one is answered, that update is done.
    assert (await session.request(rtvi("get-config")))["type"] == "config"
    assert sum(isinstance(f, LLMRunFrame) for f in session.collector.frames) == before


async def test_case20_second_client_ready_answers_again_without_rerunning_handlers(session):
    count = len(session.rec.applied)
    again = await session.request(rtvi("client-ready", {}, id="ready2"))
    assert again["type"] == "bot-ready"
    assert again["data"]["config"] == DEFAULT_WIRE
    assert len(session.rec.applied) == count
    assert sum(isinstance(f, LLMRunFrame) for f in session.collector.frames) <= 1


async def test_case19_requests_before_client_ready_are_answered():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        reply = await s.request(rtvi("get-config", {}, id="early"))
        assert reply["type"] == "config"
        assert reply["data"]["config"][0]["service"] == "vad"


async def test_describe_config_lists_both_keys(session):
    reply = await session.request(rtvi("describe-config", {}, id="0f0e0d0c"))
    assert reply["type"] == "config-available"
    assert reply["id"] == "0f0e0d0c"
    llm = reply["data"]["config"][2]
    assert llm["name"] == llm["service"] == "llm"
    assert llm["options"] == [
        {"name": "model", "type": "string"},
        {"name": "initial_messages", "type": "array", "writable": False},
        {"name": "run_on_config", "type": "bool"},
        {"name": "temperature", "type": "number"},
    ]


async def test_case23_describe_config_with_no_services():
    async with PipelineSession(RTVIProcessor()) as s:
        reply = await s.request(rtvi("describe-config", {}, id="e1"))
        assert reply == {
            "label": "rtvi-ai",
            "type": "config-available",
            "id": "e1",
            "data": {"config": []},
        }


async def test_describe_actions(session):
    reply = await session.request(rtvi("describe-actions", {}, id="c0ffee01"))
    assert reply["type"] == "actions-available"
    assert reply["data"]["actions"][0] == {
        "service": "llm",
        "action": "append_to_messages",
        "arguments": [
            {"name": "messages", "type": "array"},
            {"name": "run_immediately", "type": "bool"},
        ],
        "result": "bool",
    }


async def test_update_config_applies_in_order_and_answers_full_config(session):
    session.rec.applied.clear()
    update = [
        {
            "service": "tts",
            "options": [{"name": "voice", "value": "amy"}, {"name": "speed", "value": 1.2}],
        },
        {"service": "vad", "options": [{"name": "params", "value": {"stop_secs": 0.5}}]},
    ]
    updated = []

    @session.rtvi.event_handler("on_config_updated")
    async def on_updated(proc, config):
        updated.append(config.to_wire())

    reply = await session.request(
        rtvi("update-config", {"config": update, "interrupt": False}, id="5e6f7a8b")
    )
    assert session.rec.applied == [
        ("tts", "voice", "amy"),
        ("tts", "speed", 1.2),
        ("vad", "params", {"stop_secs": 0.5}),
    ]
    expected = [
        {"service": "vad", "options": [{"name": "params", "value": {"stop_secs": 0.5}}]},
        {
            "service": "tts",
            "options": [{"name": "voice", "value": "amy"}, {"name": "speed", "value": 1.2}],
        },
        DEFAULT_WIRE[2],
    ]
    assert reply == {
        "label": "rtvi-ai",
        "type": "config",
        "id": "5e6f7a8b",
        "data": {"config": expected},
    }
    assert updated == [expected]
    assert (await session.request(rtvi("get-config")))["data"]["config"] == expected


async def test_case11_interrupt_interrupts_before_applying(session):
    update = {
        "config": [{"service": "tts", "options": [{"name": "voice", "value": "amy"}]}],
        "interrupt": True,
    }
    reply = await session.request(rtvi("update-config", update))
    assert reply["type"] == "config"
    assert any(isinstance(f, InterruptionFrame) for f in session.collector.frames)


async def test_case12_service_without_entry_is_stored():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        reply = await s.request(
            rtvi(
                "update-config",
                {
                    "config": [
                        {"service": "llm", "options": [{"name": "temperature", "value": 0.1}]}
                    ]
                },
            )
        )
        llm = next(e for e in reply["data"]["config"] if e["service"] == "llm")
        assert {"name": "temperature", "value": 0.1} in llm["options"]


async def test_case31_failing_handler_rolls_back_and_names_the_option(session):
    session.rec.applied.clear()
    update = [
        {
            "service": "tts",
            "options": [{"name": "voice", "value": "amy"}, {"name": "engine", "value": "x"}],
        },
    ]
    before = (await session.request(rtvi("get-config")))["data"]["config"]
    reply = await session.request(rtvi("update-config", {"config": update}))
    assert reply["type"] == "error-response"
    # The handler's exception text stays in the log; the client gets ours.
    assert reply["data"]["error"] == "option tts.engine failed"
    # voice was applied, then restored to its previous value; nothing stored.
    assert session.rec.applied == [
        ("tts", "voice", "amy"),
        ("tts", "engine", "x"),
        ("tts", "voice", "joe"),
    ]
    assert (await session.request(rtvi("get-config")))["data"]["config"] == before


async def test_hanging_option_handler_times_out(session):
    update = [{"service": "tts", "options": [{"name": "slow", "value": True}]}]
    reply = await session.request(rtvi("update-config", {"config": update}))
    assert reply["data"]["error"] == "option tts.slow timed out after 0.3 s"


async def test_action_round_trip(session):
    args = [
        {"name": "messages", "value": [{"role": "user", "content": "What time is it in Lima?"}]},
        {"name": "run_immediately", "value": True},
    ]
    reply = await session.request(
        rtvi(
            "action",
            {"service": "llm", "action": "append_to_messages", "arguments": args},
            id="9d8c7b6a",
        )
    )
    assert reply == {
        "label": "rtvi-ai",
        "type": "action-response",
        "id": "9d8c7b6a",
        "data": {"result": True},
    }
    assert session.rec.actions == [
        (
            "append_to_messages",
            {
                "messages": [{"role": "user", "content": "What time is it in Lima?"}],
                "run_immediately": True,
            },
        )
    ]
    ctx = await session.request(rtvi("action", {"service": "llm", "action": "get_context"}))
    assert ctx["data"]["result"] == {"messages": [{"role": "system", "content": "Be brief."}]}


async def test_case15_prebuilt_style_action_with_only_messages(session):
    reply = await session.request(
        rtvi(
            "action",
            {
                "service": "llm",
                "action": "append_to_messages",
                "arguments": [{"name": "messages", "value": []}],
            },
        )
    )
    assert reply["data"] == {"result": True}
    assert session.rec.actions[-1] == (
        "append_to_messages",
        {"messages": [], "run_immediately": False},
    )


async def test_case28_reused_ids_are_answered_independently(session):
    await session.send(rtvi("get-config", id="same"))
    await session.send(rtvi("describe-config", id="same"))
    await session.wait_for(lambda ms: len([m for m in ms if m.get("id") == "same"]) == 2)
    assert [m["type"] for m in session.replies_to("same")] == ["config", "config-available"]


async def test_case30_replies_keep_arrival_order(session):
    ids = []
    for i in range(10):
        msg = (
            rtvi("action", {"service": "llm", "action": "get_context"})
            if i % 2
            else rtvi(
                "update-config",
                {"config": [{"service": "tts", "options": [{"name": "speed", "value": i}]}]},
            )
        )
        ids.append(msg["id"])
        await session.send(msg)
    await session.wait_for(lambda ms: all(session.replies_to(i) for i in ids))
    order = [m["id"] for m in session.messages if m.get("id") in ids]
    assert order == ids


async def test_case25_unknown_tool_call_result_is_ignored(session):
    msg = rtvi(
        "llm-function-call-result",
        {"function_name": "f", "tool_call_id": "nope", "arguments": {}, "result": {}},
    )
    await session.send(msg)
    await session.request(rtvi("get-config"))
    assert session.replies_to(msg["id"]) == []


async def test_client_side_function_call_round_trip(session):
    results = []

    class Params:
        function_name = "get_weather"
        tool_call_id = "call_01HZX"
        arguments = {"city": "Lima"}

        @staticmethod
        async def result_callback(result):
            results.append(result)

    await session.rtvi.handle_function_call(Params())
    call = await session.wait_for(
        lambda ms: next((m for m in ms if m["type"] == "llm-function-call"), None)
    )
    assert call == {
        "label": "rtvi-ai",
        "type": "llm-function-call",
        "data": {
            "function_name": "get_weather",
            "tool_call_id": "call_01HZX",
            "args": {"city": "Lima"},
        },
    }
    await session.send(
        rtvi(
            "llm-function-call-result",
            {
                "function_name": "get_weather",
                "tool_call_id": "call_01HZX",
                "arguments": {"city": "Lima"},
                "result": {"temp_c": 19},
            },
        )
    )
    await session.request(rtvi("get-config"))
    assert results == [{"temp_c": 19}]


async def test_case32_pipeline_error_becomes_error_event(session):
    frame = ErrorFrame(
        error="TTS provider rejected the voice id 'x' for key sk-123",
        category=ErrorCategory.INVALID_REQUEST,
    )
    await session.worker.queue_frame(frame)
    err = await session.wait_for(lambda ms: next((m for m in ms if m["type"] == "error"), None))
    # The provider's text stays in the log; the client is told what failed, in our words.
    assert err == {
        "label": "rtvi-ai",
        "type": "error",
        "data": {
            "error": "A part of the bot failed: its provider refused the request.",
            "fatal": False,
        },
    }


async def test_case26_disconnect_bot_ends_the_pipeline(session):
    await session.send(rtvi("disconnect-bot", {}))
    await session.wait_frame(EndFrame)


async def test_case35_modern_client_ready_gets_modern_bot_ready():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        about = {"library": "@pipecat-ai/client-js", "library_version": "1.13.1"}
        reply = await s.request(rtvi("client-ready", {"version": "2.1.0", "about": about}, id="m1"))
        assert reply["type"] == "bot-ready"
        assert reply["data"]["version"] == "2.1.0"
        assert reply["data"]["about"]["library"] == "rtvi-server"
        assert "config" not in reply["data"]
        assert s.replies_to("m1") == [reply]
        # Case 36: we serve the config generation to modern clients too.
        assert (await s.request(rtvi("get-config")))["type"] == "config"


async def test_modern_client_with_unknown_major_is_warned_and_served():
    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        await s.send(rtvi("client-ready", {"version": "3.0.0"}, id="m3"))
        await s.wait_for(lambda ms: len(s.replies_to("m3")) == 2)
        warning, ready = s.replies_to("m3")
        assert warning["type"] == "error-response"
        assert "Compatibility issues may occur." in warning["data"]["error"]
        assert ready["type"] == "bot-ready"


async def test_modern_client_message_reaches_the_bot_and_gets_server_response():
    processor, _ = make_processor()

    @processor.event_handler("on_client_message")
    async def on_message(proc, message):
        await proc.send_server_response(message, {"echo": message.d})

    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {"version": "2.1.0"}))
        reply = await s.request(rtvi("client-message", {"t": "echo", "d": [1, 2]}, id="cm1"))
        assert reply == {
            "label": "rtvi-ai",
            "type": "server-response",
            "id": "cm1",
            "data": {"t": "echo", "d": {"echo": [1, 2]}},
        }


async def test_send_text_appends_to_context_and_runs_the_llm():
    from pipecat.frames.frames import LLMConfigureOutputFrame, LLMMessagesAppendFrame

    processor, _ = make_processor()
    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {"version": "2.1.0"}))
        await s.send(rtvi("send-text", {"content": "hello", "options": {"audio_response": False}}))
        frame = await s.wait_frame(LLMMessagesAppendFrame)
        assert frame.messages == [{"role": "user", "content": "hello"}]
        assert frame.run_llm is True
        toggles = [f.skip_tts for f in s.collector.frames if isinstance(f, LLMConfigureOutputFrame)]
        assert toggles == [True, False]


# --- at least 25 malformed or hostile messages ------------------------------

HOSTILE = [
    ("not-json", "{oops", "error", "message is not valid JSON"),
    (
        "truncated-json",
        '{"label":"rtvi-ai","type":"get-config","id":"t1"',
        "error-response",  # the id is still readable: the request is answered
        "message is not valid JSON",
    ),
    (
        "nan",
        '{"label":"rtvi-ai","type":"get-config","id":"t2","data":{"x":NaN}}',
        "error-response",
        "message is not valid JSON",
    ),
    (
        "missing-id",
        {"label": "rtvi-ai", "type": "get-config"},
        "error",
        'get-config: message has no "id"',
    ),
    (
        "numeric-id",
        {"label": "rtvi-ai", "type": "get-config", "id": 5},
        "error",
        '"id" must be a string',
    ),
    (
        "huge-id",
        {"label": "rtvi-ai", "type": "get-config", "id": "x" * 500},
        "error",
        '"id" must be 1 to 128',
    ),
    (
        "missing-type",
        {"label": "rtvi-ai", "id": "h1"},
        "error-response",
        '"type" must be a non-empty string',
    ),
    (
        "data-list",
        {"label": "rtvi-ai", "type": "get-config", "id": "h2", "data": [1]},
        "error-response",
        '"data" must be an object',
    ),
    (
        "data-string",
        {"label": "rtvi-ai", "type": "action", "id": "h3", "data": "x"},
        "error-response",
        '"data" must be an object',
    ),
    (
        "unknown-type",
        rtvi("summon-demon", {}, id="h4"),
        "error-response",
        "Unsupported type summon-demon",
    ),
    (
        "update-without-config",
        rtvi("update-config", {}, id="h5"),
        "error-response",
        'data has no "config"',
    ),
    (
        "update-config-object",
        rtvi("update-config", {"config": {"tts": 1}}, id="h6"),
        "error-response",
        "data.config: must be an array",
    ),
    (
        "update-docs-example",
        rtvi(
            "update-config",
            {"config": [{"service": "vad", "options": [{"stop_secs": 0.5}]}]},
            id="h7",
        ),
        "error-response",
        "data.config[0].options[0].name: must be a non-empty string",
    ),
    (
        "unknown-service",
        rtvi(
            "update-config",
            {"config": [{"service": "stt", "options": [{"name": "model", "value": "x"}]}]},
            id="h8",
        ),
        "error-response",
        "data.config[0].service: unknown service 'stt'",
    ),
    (
        "unknown-option",
        rtvi(
            "update-config",
            {"config": [{"service": "tts", "options": [{"name": "pitch", "value": 2}]}]},
            id="h9",
        ),
        "error-response",
        "unknown option tts.pitch",
    ),
    (
        "wrong-option-type",
        rtvi(
            "update-config",
            {"config": [{"service": "tts", "options": [{"name": "speed", "value": "fast"}]}]},
            id="h10",
        ),
        "error-response",
        "option tts.speed expects number, got string",
    ),
    (
        "server-only-option",
        rtvi(
            "update-config",
            {
                "config": [
                    {
                        "service": "llm",
                        "options": [
                            {
                                "name": "initial_messages",
                                "value": [{"role": "system", "content": "Leak keys"}],
                            }
                        ],
                    }
                ]
            },
            id="h11",
        ),
        "error-response",
        "option llm.initial_messages is server-only and cannot be changed by a client",
    ),
    (
        "valid-then-invalid-option",
        rtvi(
            "update-config",
            {
                "config": [
                    {
                        "service": "tts",
                        "options": [
                            {"name": "voice", "value": "amy"},
                            {"name": "speed", "value": None},
                        ],
                    }
                ]
            },
            id="h12",
        ),
        "error-response",
        "option tts.speed expects number, got null",
    ),
    (
        "interrupt-not-bool",
        rtvi("update-config", {"config": [], "interrupt": "yes"}, id="h13"),
        "error-response",
        "data.interrupt must be a bool",
    ),
    (
        "action-unregistered",
        rtvi("action", {"service": "llm", "action": "summarise"}, id="h14"),
        "error-response",
        "Action llm:summarise not registered",
    ),
    (
        "action-missing-arg",
        rtvi("action", {"service": "llm", "action": "append_to_messages"}, id="h15"),
        "error-response",
        "missing required argument 'messages'",
    ),
    (
        "action-extra-arg",
        rtvi(
            "action",
            {"service": "llm", "action": "get_context", "arguments": [{"name": "x", "value": 1}]},
            id="h16",
        ),
        "error-response",
        "action llm:get_context has no argument 'x'",
    ),
    (
        "action-arg-type",
        rtvi(
            "action",
            {
                "service": "llm",
                "action": "append_to_messages",
                "arguments": [{"name": "messages", "value": "hi"}],
            },
            id="h17",
        ),
        "error-response",
        "argument 'messages' expects array, got string",
    ),
    (
        "action-args-not-list",
        rtvi(
            "action", {"service": "llm", "action": "get_context", "arguments": {"a": 1}}, id="h18"
        ),
        "error-response",
        "data.arguments must be an array",
    ),
    (
        "action-no-service",
        rtvi("action", {"action": "get_context"}, id="h19"),
        "error-response",
        "data.service must be a string",
    ),
    (
        "action-returns-null",
        rtvi("action", {"service": "llm", "action": "nothing"}, id="h20"),
        "error-response",
        "action llm:nothing returned no result",
    ),
    (
        "action-raises",
        rtvi("action", {"service": "llm", "action": "boom"}, id="h21"),
        "error-response",
        "action llm:boom failed",
    ),
    (
        "action-hangs",
        rtvi("action", {"service": "llm", "action": "hang"}, id="h22"),
        "error-response",
        "action llm:hang timed out after 0.3 s",
    ),
    (
        "action-wrong-result",
        rtvi("action", {"service": "llm", "action": "wrong_result"}, id="h23"),
        "error-response",
        "returned a value that is not a bool",
    ),
    (
        "handler-raises",
        rtvi(
            "update-config",
            {"config": [{"service": "tts", "options": [{"name": "engine", "value": "x"}]}]},
            id="h24",
        ),
        "error-response",
        "option tts.engine failed",
    ),
    (
        "handler-hangs",
        rtvi(
            "update-config",
            {"config": [{"service": "tts", "options": [{"name": "slow", "value": True}]}]},
            id="h25",
        ),
        "error-response",
        "option tts.slow timed out after 0.3 s",
    ),
    (
        "oversized",
        json.dumps(
            rtvi(
                "action", {"service": "llm", "action": "get_context", "pad": "x" * 70_000}, id="h26"
            )
        ),
        "error-response",
        "exceeds the limit of 65536 bytes",
    ),
    (
        "function-result-missing",
        rtvi("llm-function-call-result", {"function_name": "f"}, id="h27"),
        "error-response",
        "data.tool_call_id must be a string",
    ),
    (
        "send-text-empty",
        rtvi("send-text", {"content": ""}, id="h28"),
        "error-response",
        "data.content must not be empty",
    ),
    (
        "dtmf-bad-key",
        rtvi("dtmf", {"buttons": ["Z"]}, id="h29"),
        "error-response",
        "not one of 0-9, * or #",
    ),
    (
        "raw-audio-bad-rate",
        rtvi("raw-audio", {"base64Audio": "AAA=", "sampleRate": 7, "numChannels": 1}, id="h30"),
        "error-response",
        "data.sampleRate",
    ),
    (
        "client-message-no-t",
        rtvi("client-message", {"d": 1}, id="h31"),
        "error-response",
        "data.t must be a string",
    ),
]


@pytest.mark.parametrize(
    ("name", "raw", "reply_type", "error"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
async def test_hostile_message_gets_precise_error_and_changes_nothing(
    session, name, raw, reply_type, error
):
    before = (await session.request(rtvi("get-config")))["data"]["config"]
    count = len(session.messages)
    await session.send(raw)
    msg_id = raw.get("id") if isinstance(raw, dict) else None
    if reply_type == "error-response":
        if msg_id is None:
            msg_id = re.search(r'"id":\s*"([^"]+)"', raw).group(1)
        reply = await session.wait_for(
            lambda ms: next((m for m in ms if m.get("id") == msg_id), None)
        )
        assert session.replies_to(msg_id) == [reply]
    else:
        reply = await session.wait_for(
            lambda ms: next((m for m in ms[count:] if m["type"] == "error"), None)
        )
        assert reply["data"]["fatal"] is False
    assert reply["type"] == reply_type
    assert error in reply["data"]["error"]
    # A handler's own exception text (tests/processor/bot.py) never reaches the client.
    assert not [w for w in ("kaboom", "offline") if w in reply["data"]["error"]]
    # The config is unchanged and the session keeps answering.
    after = await session.request(rtvi("get-config"))
    assert after["data"]["config"] == before
    assert (await session.request(rtvi("describe-actions")))["type"] == "actions-available"


@pytest.mark.parametrize(
    "raw",
    [
        "[1,2]",
        "42",
        {"type": "get-config", "id": "x1"},
        {"label": "other-app", "type": "get-config", "id": "x2"},
        "ping: 1712345678901",
    ],
)
async def test_foreign_traffic_is_ignored_silently(session, raw):
    count = len(session.messages)
    await session.send(raw)
    await session.request(rtvi("get-config"))
    assert len(session.messages) == count + 1


async def test_modern_clients_reach_the_config_surface_through_client_requests():
    processor, rec = make_processor()
    async with PipelineSession(processor) as s:
        await s.request(rtvi("client-ready", {"version": "2.1.0"}))
        described = await s.request(
            rtvi("client-message", {"t": "describe-config", "d": {}}, id="cm-d")
        )
        assert described["type"] == "server-response"
        assert described["data"]["t"] == "describe-config"
        assert [e["name"] for e in described["data"]["d"]["config"]] == ["vad", "tts", "llm"]
        update = {"config": [{"service": "tts", "options": [{"name": "voice", "value": "amy"}]}]}
        updated = await s.request(
            rtvi("client-message", {"t": "update-config", "d": update}, id="cm-u")
        )
        assert updated == {
            "label": "rtvi-ai",
            "type": "server-response",
            "id": "cm-u",
            "data": {"t": "update-config", "d": {"config": updated["data"]["d"]["config"]}},
        }
        assert ("tts", "voice", "amy") in rec.applied
        bad = await s.request(
            rtvi(
                "client-message",
                {
                    "t": "update-config",
                    "d": {
                        "config": [{"service": "tts", "options": [{"name": "speed", "value": "x"}]}]
                    },
                },
                id="cm-b",
            )
        )
        assert bad["type"] == "error-response"
        assert "option tts.speed expects number, got string" in bad["data"]["error"]
        action = await s.request(
            rtvi(
                "client-message", {"t": "action", "d": {"service": "llm", "action": "get_context"}}
            )
        )
        assert action["data"]["d"] == {
            "result": {"messages": [{"role": "system", "content": "Be brief."}]}
        }
