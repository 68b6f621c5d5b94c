"""The ``websocket`` transport: pipecat's protobuf frames over a WebSocket (spec 12.3).

For server-to-server use (and ``@pipecat-ai/websocket-transport``). The client
connects to the ``ws_url`` that ``/start`` returned; audio travels as 16-bit PCM
(16 kHz in, 24 kHz out) and RTVI JSON inside ``message`` frames.

The bot is built once, at ``/start``, on pipecat's FastAPI WebSocket transport
over a :class:`PendingSocket`: a stand-in with the socket interface pipecat
uses, which the client's real socket fills when it connects.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from starlette.websockets import WebSocketState

from rtvi_server.protocol import JSONObject
from rtvi_server.sessions.api import APIError, StartAnswer, TransportName
from rtvi_server.sessions.start_request import StartRequest
from rtvi_server.sessions.transports.base import Link

INPUT_SAMPLE_RATE = 16000
OUTPUT_SAMPLE_RATE = 24000
CLIENT_FRAME_TYPES = (
    OutputAudioRawFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)


class TolerantProtobufSerializer(ProtobufFrameSerializer):
    """pipecat's protobuf frames, where a frame that is not one is dropped.

    pipecat's socket reader stops at the first frame its serializer cannot read,
    which ends the session; a client's garbage should cost only that frame. Out,
    only the kinds ``@pipecat-ai/websocket-transport`` reads (audio, and RTVI JSON
    in ``message`` frames) are sent: it logs "Unknown frame kind" for the rest,
    such as pipecat's ``interruption`` frames (clients learn of an interruption
    from RTVI's own messages).
    """

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if not isinstance(frame, CLIENT_FRAME_TYPES):
            return None
        return await super().serialize(frame)

    async def deserialize(self, data: str | bytes) -> Frame | None:
        try:
            return await super().deserialize(data)
        except Exception as exc:
            logger.warning(f"dropped a WebSocket frame that is not pipecat protobuf: {exc!r}")
            return None


class PendingSocket:
    """A WebSocket that exists before its client does.

    pipecat's transport is given this at ``/start``; it reads, writes and closes
    through it, and :meth:`bind` puts the client's socket behind it. Until then
    it reports itself connecting, so pipecat sends nothing.
    """

    def __init__(self) -> None:
        self.socket: Any = None
        self._bound = asyncio.Event()
        self.headers: dict[str, str] = {}

    def bind(self, websocket: Any) -> None:
        if self.socket is not None:
            raise APIError(409, "this session's socket is already connected", field="session_id")
        self.socket = websocket
        self.headers = dict(getattr(websocket, "headers", {}) or {})
        self._bound.set()

    @property
    def bound(self) -> bool:
        return self.socket is not None

    @property
    def client_state(self) -> WebSocketState:
        return WebSocketState.CONNECTING if self.socket is None else self.socket.client_state

    @property
    def application_state(self) -> WebSocketState:
        if self.socket is None:
            return WebSocketState.CONNECTING
        state: WebSocketState = self.socket.application_state
        return state

    async def receive(self) -> Any:
        await self._bound.wait()
        return await self.socket.receive()

    async def send_bytes(self, data: bytes) -> None:
        if self.socket is not None:
            await self.socket.send_bytes(data)

    async def send_text(self, data: str) -> None:
        if self.socket is not None:
            await self.socket.send_text(data)

    async def close(self, code: int = 1000) -> None:
        if self.socket is not None:
            await self.socket.close(code=code)


class SocketLink(Link):
    """A session whose client is a WebSocket that connects after the session starts:
    pipecat's FastAPI transport over a :class:`PendingSocket`, with ``serializer``
    deciding what travels on it."""

    def __init__(
        self, serializer: FrameSerializer, in_rate: int, out_rate: int, *, audio: bool = True
    ) -> None:
        self.socket = PendingSocket()
        self._transport = FastAPIWebsocketTransport(
            self.socket,  # type: ignore[arg-type]  # the socket interface pipecat uses
            FastAPIWebsocketParams(
                audio_in_enabled=audio,
                audio_in_sample_rate=in_rate,
                audio_out_enabled=audio,
                audio_out_sample_rate=out_rate,
                add_wav_header=False,
                serializer=serializer,
            ),
        )

    @property
    def transport(self) -> FastAPIWebsocketTransport:
        return self._transport

    @property
    def connected(self) -> bool:
        return self.socket.bound

    def socket_open(self) -> bool:
        return (
            self.socket.client_state == WebSocketState.CONNECTED
            and self.socket.application_state == WebSocketState.CONNECTED
        )

    def is_alive(self) -> bool:
        return not self.socket.bound or self.socket_open()

    async def close(self) -> None:
        if self.socket_open():
            with contextlib.suppress(RuntimeError):  # already closing
                await self.socket.close(code=1000)


class WebSocketLink(SocketLink):
    """A session's WebSocket; the client's socket arrives after ``/start``."""

    name: TransportName = "websocket"

    def __init__(self) -> None:
        super().__init__(TolerantProtobufSerializer(), INPUT_SAMPLE_RATE, OUTPUT_SAMPLE_RATE)
        self._serializer = ProtobufFrameSerializer()

    def start_answer(self, session_id: str) -> StartAnswer:
        return StartAnswer(
            session_id=session_id, transport="websocket", ws_path=f"/sessions/{session_id}/ws"
        )

    async def accept_socket(self, websocket: Any) -> None:
        self.socket.bind(websocket)
        await websocket.accept()

    async def send(self, message: JSONObject) -> None:
        if not self.socket_open():
            return
        data = await self._serializer.serialize(OutputTransportMessageUrgentFrame(message=message))
        if isinstance(data, bytes):
            await self.socket.send_bytes(data)


class WebSocketKind:
    """Sessions whose client connects a WebSocket carrying pipecat's protobuf frames."""

    name: TransportName = "websocket"

    def check(self, request: StartRequest) -> None:
        return None

    async def open(self, request: StartRequest, session_id: str) -> WebSocketLink:
        return WebSocketLink()
