"""A WebSocket held in memory: both ends of one connection inside this process.

The server end has the part of starlette's ``WebSocket`` that links and the
socket relay use, so a backend serves it exactly as it serves a client's
socket (in this process, or relayed to a worker or another host); the client
end is for code of ours that talks to a session as a client would (the HTTP
action endpoint). Text frames only; ``None`` marks the end of a stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.websockets import WebSocketState


class ServerEnd:
    """What a backend is handed: accept, receive, send, close."""

    def __init__(self, to_server: asyncio.Queue[str | None], to_client: asyncio.Queue[Any]) -> None:
        self._in = to_server
        self._out = to_client
        self.headers: dict[str, str] = {}
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        self.accepted = asyncio.Event()
        self.close_code: int | None = None

    async def accept(self) -> None:
        self.client_state = self.application_state = WebSocketState.CONNECTED
        self.accepted.set()

    async def receive(self) -> dict[str, Any]:
        text = await self._in.get()
        if text is None:
            self.client_state = WebSocketState.DISCONNECTED
            return {"type": "websocket.disconnect", "code": 1000}
        return {"type": "websocket.receive", "text": text}

    async def send_text(self, data: str) -> None:
        if self.application_state == WebSocketState.CONNECTED:
            self._out.put_nowait(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.send_text(data.decode("utf-8", errors="replace"))

    async def close(self, code: int = 1000) -> None:
        if self.application_state != WebSocketState.DISCONNECTED:
            self.application_state = WebSocketState.DISCONNECTED
            self.close_code = code
            self.accepted.set()  # a socket refused before it opened is over too
            self._out.put_nowait(None)


class ClientEnd:
    """Our side of the connection: JSON messages in and out."""

    def __init__(self, to_server: asyncio.Queue[str | None], to_client: asyncio.Queue[Any]) -> None:
        self._out = to_server
        self._in = to_client
        self.closed = False

    async def send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            self._out.put_nowait(json.dumps(message))

    async def receive(self) -> dict[str, Any] | None:
        """The next message the server sent, or ``None`` once it closed."""
        while not self.closed:
            text = await self._in.get()
            if text is None:
                self.closed = True
                break
            try:
                message = json.loads(text)
            except ValueError:
                continue
            if isinstance(message, dict):
                return message
        return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._out.put_nowait(None)


def socket_pair() -> tuple[ServerEnd, ClientEnd]:
    """The two ends of one in-memory WebSocket."""
    to_server: asyncio.Queue[str | None] = asyncio.Queue()
    to_client: asyncio.Queue[Any] = asyncio.Queue()
    return ServerEnd(to_server, to_client), ClientEnd(to_server, to_client)
