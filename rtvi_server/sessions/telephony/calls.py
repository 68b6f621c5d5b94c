"""What a phone call's media stream says about itself, per provider (pure).

Twilio, Telnyx and Plivo each open the media WebSocket with a ``start`` event
naming the stream and the call; :func:`detect_call` tells them apart by shape,
so one socket route serves every provider. The shapes of the messages we send
back (marks) are here too; audio and ``clear`` are pipecat's serializers'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Provider = Literal["twilio", "telnyx", "plivo"]
PROVIDERS: tuple[Provider, ...] = ("twilio", "telnyx", "plivo")
#: Messages read while waiting for ``start`` (Twilio and Telnyx send ``connected`` first).
HANDSHAKE_MESSAGES = 4


@dataclass(frozen=True)
class CallStart:
    """The ``start`` event of a call's media stream."""

    provider: Provider
    stream_id: str
    call_id: str
    #: The encoding of the caller's audio ("PCMU" or "PCMA"; 8 kHz).
    encoding: str = "PCMU"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _telnyx_encoding(start: Mapping[str, Any]) -> str:
    media = start.get("media_format")
    encoding = media.get("encoding") if isinstance(media, dict) else None
    return "PCMA" if encoding == "PCMA" else "PCMU"


def detect_call(message: Mapping[str, Any]) -> CallStart | None:
    """The call a ``start`` message opens, or ``None`` for any other message."""
    start = message.get("start")
    if message.get("event") != "start" or not isinstance(start, dict):
        return None
    twilio = _text(start.get("streamSid")), _text(start.get("callSid"))
    if all(twilio):
        return CallStart("twilio", str(twilio[0]), str(twilio[1]))
    telnyx = _text(message.get("stream_id")), _text(start.get("call_control_id"))
    if all(telnyx):
        return CallStart("telnyx", str(telnyx[0]), str(telnyx[1]), _telnyx_encoding(start))
    plivo = _text(start.get("streamId")), _text(start.get("callId"))
    if all(plivo):
        return CallStart("plivo", str(plivo[0]), str(plivo[1]))
    return None


def parse_event(data: str | bytes) -> dict[str, Any] | None:
    """A media-stream message as an object, or ``None`` if it is not one."""
    try:
        message = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None


def mark_message(call: CallStart, name: str) -> dict[str, Any]:
    """Ask the provider to tell us when the audio sent so far has been played."""
    if call.provider == "twilio":
        return {"event": "mark", "streamSid": call.stream_id, "mark": {"name": name}}
    if call.provider == "telnyx":
        return {"event": "mark", "stream_id": call.stream_id, "mark": {"name": name}}
    return {"event": "checkpoint", "streamId": call.stream_id, "name": name}


def played_mark(message: Mapping[str, Any]) -> str | None:
    """The name of a mark the provider says was played (Plivo: ``playedStream``)."""
    if message.get("event") == "playedStream":
        return _text(message.get("name"))
    mark = message.get("mark")
    if message.get("event") == "mark" and isinstance(mark, dict):
        return _text(mark.get("name"))
    return None


def is_stop(message: Mapping[str, Any]) -> bool:
    """Whether the provider says the call's stream ended (the caller hung up)."""
    return message.get("event") == "stop"
