"""Client-to-bot requests of both generations, parsed from envelopes.

:func:`parse_request` checks each type's payload shape and returns a typed
request or a :class:`~rtvi_server.protocol.envelope.ProtocolError` carrying the
request id and a readable reason (``"Invalid message: ..."`` as pipecat phrased
it, plus where the problem is). Whether named services, options and actions
exist is checked against the registry, not here.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final, TypeAlias

from rtvi_server.protocol.config import Config, OptionValue, parse_config
from rtvi_server.protocol.envelope import Envelope, ProtocolError
from rtvi_server.protocol.values import JSONObject, JSONValue, json_type_name


@dataclass(frozen=True, slots=True)
class ClientReady:
    id: str
    data: JSONValue


@dataclass(frozen=True, slots=True)
class DescribeConfig:
    id: str


@dataclass(frozen=True, slots=True)
class GetConfig:
    id: str


@dataclass(frozen=True, slots=True)
class UpdateConfig:
    id: str
    config: Config
    interrupt: bool


@dataclass(frozen=True, slots=True)
class DescribeActions:
    id: str


@dataclass(frozen=True, slots=True)
class ActionRequest:
    id: str
    service: str
    action: str
    arguments: tuple[OptionValue, ...]


@dataclass(frozen=True, slots=True)
class LLMFunctionCallResult:
    id: str
    function_name: str
    tool_call_id: str
    arguments: JSONObject
    result: JSONValue


@dataclass(frozen=True, slots=True)
class DisconnectBot:
    id: str


@dataclass(frozen=True, slots=True)
class RawAudio:
    id: str
    chunks: tuple[bytes, ...]
    sample_rate: int
    num_channels: int


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """Modern ``client-message``: an app-defined ``t`` with payload ``d``."""

    id: str
    t: str
    d: JSONValue


@dataclass(frozen=True, slots=True)
class SendText:
    id: str
    content: str
    run_immediately: bool
    audio_response: bool


@dataclass(frozen=True, slots=True)
class AppendToContext:
    id: str
    role: str
    content: JSONValue
    run_immediately: bool


@dataclass(frozen=True, slots=True)
class Dtmf:
    id: str
    buttons: tuple[str, ...]


Request: TypeAlias = (
    ClientReady
    | DescribeConfig
    | GetConfig
    | UpdateConfig
    | DescribeActions
    | ActionRequest
    | LLMFunctionCallResult
    | DisconnectBot
    | RawAudio
    | ClientMessage
    | SendText
    | AppendToContext
    | Dtmf
)

REQUEST_TYPES: Final = frozenset(
    {
        "client-ready",
        "describe-config",
        "get-config",
        "update-config",
        "describe-actions",
        "action",
        "llm-function-call-result",
        "disconnect-bot",
        "raw-audio",
        "raw-audio-batch",
        "client-message",
        "send-text",
        "append-to-context",
        "dtmf",
    }
)
_DTMF_KEYS: Final = frozenset("0123456789*#")


class _InvalidError(Exception):
    """Raised inside parsing helpers; turned into a ProtocolError at the edge."""


def parse_request(envelope: Envelope) -> Request | ProtocolError:
    """Turn an envelope into a typed request of either generation."""
    msg_id = envelope.id
    if msg_id is None:
        return ProtocolError(f'{envelope.type}: message has no "id"')
    data: JSONObject = envelope.data if isinstance(envelope.data, dict) else {}
    try:
        return _parse(envelope.type, msg_id, data)
    except _InvalidError as exc:
        return ProtocolError(f"Invalid message: {envelope.type}: {exc}", msg_id)


def _parse(kind: str, msg_id: str, data: JSONObject) -> Request | ProtocolError:
    match kind:
        case "client-ready":
            return ClientReady(msg_id, data)
        case "describe-config":
            return DescribeConfig(msg_id)
        case "get-config":
            return GetConfig(msg_id)
        case "describe-actions":
            return DescribeActions(msg_id)
        case "disconnect-bot":
            return DisconnectBot(msg_id)
        case "update-config":
            if "config" not in data:
                raise _InvalidError('data has no "config"')
            config = parse_config(data["config"], path="data.config")
            if not isinstance(config, Config):
                raise _InvalidError(str(config))
            return UpdateConfig(msg_id, config, _bool(data, "interrupt", default=False))
        case "action":
            return ActionRequest(
                msg_id,
                _str(data, "service"),
                _str(data, "action"),
                _arguments(data.get("arguments")),
            )
        case "llm-function-call-result":
            function_name = _str(data, "function_name")
            tool_call_id = _str(data, "tool_call_id")
            arguments = data.get("arguments", {})
            if not isinstance(arguments, dict):
                raise _InvalidError(
                    f"data.arguments must be an object, got {json_type_name(arguments)}"
                )
            if "result" not in data:
                raise _InvalidError('data has no "result"')
            return LLMFunctionCallResult(
                msg_id,
                function_name,
                tool_call_id,
                arguments,
                data["result"],
            )
        case "raw-audio" | "raw-audio-batch":
            return _raw_audio(kind, msg_id, data)
        case "client-message":
            return ClientMessage(msg_id, _str(data, "t"), data.get("d"))
        case "send-text":
            options = data.get("options", {})
            if options is None:
                options = {}
            if not isinstance(options, dict):
                raise _InvalidError(
                    f"data.options must be an object, got {json_type_name(options)}"
                )
            return SendText(
                msg_id,
                _str(data, "content", allow_empty=False),
                _bool(options, "run_immediately", default=True, prefix="data.options"),
                _bool(options, "audio_response", default=True, prefix="data.options"),
            )
        case "append-to-context":
            if "content" not in data:
                raise _InvalidError('data has no "content"')
            return AppendToContext(
                msg_id,
                _str(data, "role"),
                data["content"],
                _bool(data, "run_immediately", default=False),
            )
        case "dtmf":
            return Dtmf(msg_id, _dtmf_buttons(data))
        case _:
            return ProtocolError(f"Unsupported type {kind}", msg_id)


def _str(data: JSONObject, key: str, *, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        found = "missing" if key not in data else f"a {json_type_name(value)}"
        raise _InvalidError(f"data.{key} must be a string, got {found}")
    if not value and not allow_empty:
        raise _InvalidError(f"data.{key} must not be empty")
    return value


def _bool(data: JSONObject, key: str, *, default: bool, prefix: str = "data") -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _InvalidError(f"{prefix}.{key} must be a bool, got {json_type_name(value)}")
    return value


def _arguments(raw: JSONValue) -> tuple[OptionValue, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _InvalidError(f"data.arguments must be an array, got {json_type_name(raw)}")
    arguments = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _InvalidError(
                f"data.arguments[{i}] must be an object, got {json_type_name(item)}"
            )
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise _InvalidError(f"data.arguments[{i}].name must be a non-empty string")
        if "value" not in item:
            raise _InvalidError(f'data.arguments[{i}] ("{name}") has no "value"')
        arguments.append(OptionValue(name, item["value"]))
    return tuple(arguments)


def _raw_audio(kind: str, msg_id: str, data: JSONObject) -> RawAudio:
    if kind == "raw-audio":
        encoded: JSONValue = [data.get("base64Audio")]
        field_name = "base64Audio"
    else:
        encoded = data.get("base64AudioBatch")
        field_name = "base64AudioBatch"
    if not isinstance(encoded, list) or not all(isinstance(c, str) for c in encoded):
        raise _InvalidError(f"data.{field_name} must hold base64 strings")
    rate = data.get("sampleRate")
    channels = data.get("numChannels")
    if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 192000:
        raise _InvalidError("data.sampleRate must be an integer between 8000 and 192000")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels not in (1, 2):
        raise _InvalidError("data.numChannels must be 1 or 2")
    try:
        chunks = tuple(base64.b64decode(c, validate=True) for c in encoded if isinstance(c, str))
    except (binascii.Error, ValueError) as exc:
        raise _InvalidError(f"data.{field_name} is not valid base64: {exc}") from exc
    if any(len(c) % (2 * channels) for c in chunks):
        raise _InvalidError("audio is not whole 16-bit PCM frames")
    return RawAudio(msg_id, chunks, rate, channels)


def _dtmf_buttons(data: JSONObject) -> tuple[str, ...]:
    raw = data.get("buttons")
    if raw is None and "button" in data:
        raw = [data["button"]]
    if not isinstance(raw, list) or not raw:
        raise _InvalidError("data.buttons must be a non-empty array of keys")
    buttons = []
    for button in raw:
        if not isinstance(button, str) or button not in _DTMF_KEYS:
            raise _InvalidError(f"data.buttons holds {button!r}, not one of 0-9, * or #")
        buttons.append(button)
    return tuple(buttons)
