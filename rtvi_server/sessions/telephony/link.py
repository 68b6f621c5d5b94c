"""The telephony transports: a phone call's media stream as a session's link.

A call reaches us twice: the provider's voice webhook starts the session (the
operator's choice of bot for the called number; see ``server/routes/telephony``),
then the provider opens the media WebSocket the webhook's markup named. Its
``start`` event says which provider and which call it is; from then on audio is
8 kHz mu-law both ways through pipecat's serializer for that provider, barge-in
sends the provider's ``clear``, and each bot utterance ends with a mark the
provider echoes once the caller has heard it. When the session ends and the
caller is still on the line, the call is hung up through the provider's REST API.

A phone has no RTVI data channel: nothing RTVI reaches the caller; the
operator steers the bot over HTTP (``/sessions/{id}/config`` ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from loguru import logger
from pipecat.frames.frames import BotStoppedSpeakingFrame, CancelFrame, EndFrame, Frame
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessorSetup
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.serializers.telnyx import TelnyxFrameSerializer
from pipecat.serializers.twilio import TwilioFrameSerializer

from rtvi_server.protocol import JSONObject
from rtvi_server.sessions.api import APIError, StartAnswer, TransportName
from rtvi_server.sessions.start_request import StartError, StartRequest
from rtvi_server.sessions.telephony.calls import (
    HANDSHAKE_MESSAGES,
    CallStart,
    Provider,
    detect_call,
    is_stop,
    mark_message,
    parse_event,
    played_mark,
)
from rtvi_server.sessions.telephony.rest import ProviderAPI
from rtvi_server.sessions.transports.websocket import SocketLink

PIPELINE_IN_RATE = 16000
PIPELINE_OUT_RATE = 8000  # the phone's rate: the transport resamples the bot's voice once
HANDSHAKE_SECS = 10.0
#: Substrings that mark a message other than ``media`` (base64 payloads contain no quotes).
_CONTROL_HINTS = ('"stop"', '"mark"', '"playedStream"')


def provider_serializer(call: CallStart) -> FrameSerializer:
    """pipecat's serializer for the call's provider; hang-up is ours (configurable URLs)."""
    if call.provider == "twilio":
        return TwilioFrameSerializer(
            call.stream_id, params=TwilioFrameSerializer.InputParams(auto_hang_up=False)
        )
    if call.provider == "telnyx":
        return TelnyxFrameSerializer(
            call.stream_id,
            outbound_encoding=call.encoding,
            inbound_encoding="PCMU",
            params=TelnyxFrameSerializer.InputParams(auto_hang_up=False),
        )
    return PlivoFrameSerializer(
        call.stream_id, params=PlivoFrameSerializer.InputParams(auto_hang_up=False)
    )


def media_answer(transport: TransportName, session_id: str) -> StartAnswer:
    """Where a call's media stream connects: ``/telephony/media/{session_id}`` (the
    route adds the socket's token)."""
    return StartAnswer(
        session_id=session_id, transport=transport, ws_path=f"/telephony/media/{session_id}"
    )


class CallSerializer(FrameSerializer):
    """The provider's serializer, chosen once the stream's ``start`` has been read.

    pipecat's transport is built (with the bot) when the webhook starts the
    session, before the provider has said which stream it is, so it gets this
    stand-in; the stream's own messages (``stop``, mark echoes) go to the link.
    """

    def __init__(self, link: TelephonyLink) -> None:
        super().__init__()
        self._link = link
        self._inner: FrameSerializer | None = None
        self._setup: FrameProcessorSetup | None = None

    async def begin(self, call: CallStart) -> None:
        self._inner = provider_serializer(call)
        if self._setup is not None:
            await self._inner.setup(self._setup)

    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        self._setup = setup
        if self._inner is not None:
            await self._inner.setup(setup)

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if self._inner is None or isinstance(frame, EndFrame | CancelFrame):
            return None
        return await self._inner.serialize(frame)

    async def deserialize(self, data: str | bytes) -> Frame | None:
        if self._inner is None:
            return None
        text = data if isinstance(data, str) else data.decode(errors="replace")
        if any(hint in text for hint in _CONTROL_HINTS):
            event = parse_event(text)
            if event is not None and self._link.stream_event(event):
                return None
        return await self._inner.deserialize(data)


class MarkObserver(BaseObserver):
    """After each bot utterance, asks the provider to echo a mark once it is played."""

    observes_audio = False

    def __init__(self, link: TelephonyLink) -> None:
        super().__init__()
        self._link = link

    async def on_push_frame(self, data: FramePushed) -> None:
        if (
            isinstance(data.frame, BotStoppedSpeakingFrame)
            and data.direction == FrameDirection.DOWNSTREAM
            and data.source is self._link.transport.output()
        ):
            await self._link.send_mark()


class TelephonyLink(SocketLink):
    """A session's phone call; the provider's socket arrives after the webhook."""

    def __init__(self, provider: Provider, api: ProviderAPI) -> None:
        self._call_serializer = CallSerializer(self)
        super().__init__(self._call_serializer, PIPELINE_IN_RATE, PIPELINE_OUT_RATE)
        self.name: TransportName = provider
        self._api = api
        self.call: CallStart | None = None
        self.call_over = False
        self.hung_up = False
        self.marks_sent = 0
        self.marks_played: list[str] = []

    def observers(self) -> Sequence[BaseObserver]:
        return (MarkObserver(self),)

    def start_answer(self, session_id: str) -> StartAnswer:
        return media_answer(self.name, session_id)

    async def accept_socket(self, websocket: Any) -> None:
        if self.socket.bound:
            raise APIError(409, "this call's media stream is already connected", field="session_id")
        await websocket.accept()
        call = await _read_call_start(websocket)
        if call is None or call.provider != self.name:
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=4400)
            raise APIError(400, f"not a {self.name} media stream", field="transport")
        self.call = call
        await self._call_serializer.begin(call)
        self.socket.bind(websocket)
        logger.info(f"{call.provider} call {call.call_id}: media stream {call.stream_id} connected")

    def stream_event(self, event: dict[str, Any]) -> bool:
        """Take a stream message that is not audio; True if it was one of ours."""
        if is_stop(event):
            self.call_over = True
            return True
        name = played_mark(event)
        if name is not None:
            self.marks_played.append(name)
            return True
        return False

    async def send_mark(self) -> None:
        if self.call is None or not self.socket_open():
            return
        self.marks_sent += 1
        message = mark_message(self.call, f"utterance-{self.marks_sent}")
        with contextlib.suppress(RuntimeError, ConnectionError):
            await self.socket.send_text(json.dumps(message))

    async def send(self, message: JSONObject) -> None:
        return None  # a phone has no data channel: RTVI messages stay on the server

    def is_alive(self) -> bool:
        return super().is_alive() and not self.call_over

    async def close(self) -> None:
        if self.call is not None and not self.call_over and not self.hung_up:
            self.hung_up = await self._api.hang_up(self.call)
        await super().close()


async def _read_call_start(websocket: Any) -> CallStart | None:
    """Read the stream's first messages until its ``start`` (or give up)."""
    try:
        async with asyncio.timeout(HANDSHAKE_SECS):
            for _ in range(HANDSHAKE_MESSAGES):
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return None
                event = parse_event(message.get("text") or message.get("bytes") or b"")
                call = detect_call(event) if event is not None else None
                if call is not None:
                    return call
    except TimeoutError:
        return None
    return None


class TelephonyKind:
    """Sessions answering a phone call through one provider's media streams."""

    def __init__(self, provider: Provider, api: ProviderAPI) -> None:
        self.provider = provider
        self._api = api

    @property
    def name(self) -> TransportName:
        return self.provider

    def check(self, request: StartRequest) -> None:
        if not self._api.configured(self.provider):
            raise StartError(
                f"{self.provider} calls are not configured on this server", field="transport"
            )

    async def open(self, request: StartRequest, session_id: str) -> TelephonyLink:
        return TelephonyLink(self.provider, self._api)
