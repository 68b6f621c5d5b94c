import base64

import pytest

from rtvi_server.protocol import (
    ActionRequest,
    ClientMessage,
    Dtmf,
    Envelope,
    OptionValue,
    ProtocolError,
    RawAudio,
    SendText,
    UpdateConfig,
    parse_request,
)


def env(type_, data=None, id_="r1"):
    return Envelope(type_, id_, data)


def test_update_config_defaults_interrupt_to_false():
    got = parse_request(env("update-config", {"config": [{"service": "tts", "options": []}]}))
    assert isinstance(got, UpdateConfig)
    assert got.interrupt is False
    assert got.config.to_wire() == [{"service": "tts", "options": []}]


def test_action_arguments_are_ordered_pairs():
    got = parse_request(
        env(
            "action",
            {
                "service": "llm",
                "action": "run",
                "arguments": [{"name": "interrupt", "value": True}],
            },
        )
    )
    assert got == ActionRequest("r1", "llm", "run", (OptionValue("interrupt", True),))


def test_modern_requests():
    assert parse_request(env("client-message", {"t": "ping", "d": {"a": 1}})) == ClientMessage(
        "r1", "ping", {"a": 1}
    )
    assert parse_request(env("send-text", {"content": "hi"})) == SendText("r1", "hi", True, True)
    assert parse_request(
        env(
            "send-text",
            {"content": "hi", "options": {"run_immediately": False, "audio_response": False}},
        )
    ) == SendText("r1", "hi", False, False)
    assert parse_request(env("dtmf", {"buttons": ["1", "#"]})) == Dtmf("r1", ("1", "#"))
    assert parse_request(env("dtmf", {"button": "5"})) == Dtmf("r1", ("5",))


def test_raw_audio_decodes_pcm():
    pcm = b"\x01\x00\x02\x00"
    got = parse_request(
        env(
            "raw-audio",
            {"base64Audio": base64.b64encode(pcm).decode(), "sampleRate": 16000, "numChannels": 1},
        )
    )
    assert got == RawAudio("r1", (pcm,), 16000, 1)


@pytest.mark.parametrize(
    ("type_", "data", "reason"),
    [
        ("update-config", {}, 'Invalid message: update-config: data has no "config"'),
        (
            "update-config",
            {"config": [{"service": "vad", "options": [{"stop_secs": 0.5}]}]},
            "Invalid message: update-config: data.config[0].options[0].name: must be a non-empty string",
        ),
        (
            "update-config",
            {"config": [], "interrupt": "yes"},
            "Invalid message: update-config: data.interrupt must be a bool, got string",
        ),
        (
            "action",
            {"action": "run"},
            "Invalid message: action: data.service must be a string, got missing",
        ),
        (
            "action",
            {"service": "llm", "action": "run", "arguments": {"interrupt": True}},
            "Invalid message: action: data.arguments must be an array, got object",
        ),
        (
            "action",
            {"service": "llm", "action": "run", "arguments": [{"name": "interrupt"}]},
            'Invalid message: action: data.arguments[0] ("interrupt") has no "value"',
        ),
        (
            "llm-function-call-result",
            {"function_name": "f", "tool_call_id": "t"},
            'Invalid message: llm-function-call-result: data has no "result"',
        ),
        (
            "send-text",
            {"content": ""},
            "Invalid message: send-text: data.content must not be empty",
        ),
        (
            "dtmf",
            {"buttons": ["A"]},
            "Invalid message: dtmf: data.buttons holds 'A', not one of 0-9, * or #",
        ),
        (
            "raw-audio",
            {"base64Audio": "!!!", "sampleRate": 16000, "numChannels": 1},
            "Invalid message: raw-audio: data.base64Audio is not valid base64",
        ),
        ("summon-demon", {}, "Unsupported type summon-demon"),
    ],
)
def test_bad_payloads_name_the_problem(type_, data, reason):
    got = parse_request(env(type_, data))
    assert isinstance(got, ProtocolError)
    assert got.id == "r1"
    assert got.reason.startswith(reason)
