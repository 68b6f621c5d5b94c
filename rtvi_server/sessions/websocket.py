"""The ``websocket`` transport: pipecat's protobuf frames over a WebSocket (spec 12.3).

For server-to-server use (and ``@pipecat-ai/websocket-transport``). The client
connects to the ``ws_url`` that ``/start`` returned; audio travels as 16-bit PCM
(16 kHz in, 24 kHz out) and RTVI JSON inside ``message`` frames.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import WebSocket
from pipecat.frames.frames import OutputTransportMessageUrgentFrame
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from starlette.websockets import WebSocketState

from rtvi_server.protocol import JSONObject

OUTPUT_SAMPLE_RATE = 24000


class WebSocketLink:
    """A session's WebSocket; the transport exists once the client has connected."""

    def __init__(self) -> None:
        self._websocket: WebSocket | None = None
        self._transport: FastAPIWebsocketTransport | None = None
        self._serializer = ProtobufFrameSerializer()

    @property
    def transport(self) -> Any:
        return self._transport

    @property
    def bound(self) -> bool:
        return self._websocket is not None

    def bind(self, websocket: WebSocket) -> FastAPIWebsocketTransport:
        self._websocket = websocket
        self._transport = FastAPIWebsocketTransport(
            websocket,
            FastAPIWebsocketParams(
                audio_in_enabled=True,
                audio_in_sample_rate=16000,
                audio_out_enabled=True,
                audio_out_sample_rate=OUTPUT_SAMPLE_RATE,
                add_wav_header=False,
                serializer=ProtobufFrameSerializer(),
            ),
        )
        return self._transport

    def _connected(self) -> bool:
        ws = self._websocket
        return (
            ws is not None
            and ws.client_state == WebSocketState.CONNECTED
            and ws.application_state == WebSocketState.CONNECTED
        )

    async def send(self, message: JSONObject) -> None:
        if not self._connected():
            return
        data = await self._serializer.serialize(OutputTransportMessageUrgentFrame(message=message))
        if isinstance(data, bytes) and self._websocket is not None:
            await self._websocket.send_bytes(data)

    def is_alive(self) -> bool:
        return self._websocket is None or self._connected()

    async def close(self) -> None:
        if self._connected() and self._websocket is not None:
            with contextlib.suppress(RuntimeError):  # already closing
                await self._websocket.close(code=1000)
