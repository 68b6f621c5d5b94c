"""The ``text`` transport: a session with no audio, its RTVI messages as JSON text frames.

The client connects the ``ws_url`` that ``/start`` returned and exchanges the same
RTVI JSON a data channel carries, one message per text frame. The bot is built
as for any session but speaks nothing: the LLM is told to skip speech synthesis
(``tts:say`` still runs through TTS, its audio dropped). The seed's HTTP action
endpoint (``POST /action``) runs its actions on such a session.

One message is not RTVI: ``{"type": "rtvi-server-flush", "id": ...}`` asks the
link to send a marker frame down the pipeline behind everything before it, and
``{"type": "rtvi-server-flushed", "id": ...}`` comes back once the marker has
reached the transport, so a client knows the work its last request started (an
LLM generation) has been sent to it in full.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipecat.frames.frames import (
    ControlFrame,
    Frame,
    InputTransportMessageFrame,
    LLMConfigureOutputFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.serializers.base_serializer import FrameSerializer

from rtvi_server.protocol import JSONObject
from rtvi_server.sessions.api import StartAnswer, TransportName
from rtvi_server.sessions.start_request import StartRequest
from rtvi_server.sessions.transports.websocket import SocketLink

FLUSH = "rtvi-server-flush"
FLUSHED = "rtvi-server-flushed"
RATE = 16000  # no audio travels; pipecat's transport still wants rates


@dataclass
class FlushMarkerFrame(ControlFrame):
    """Travels in order behind the frames before it; its arrival means they passed."""

    request_id: str = ""


class JSONMessageSerializer(FrameSerializer):
    """RTVI messages as JSON text; anything else (audio) is not sent."""

    def __init__(self, link: TextLink) -> None:
        super().__init__()
        self._link = link

    async def serialize(self, frame: Frame) -> str | bytes | None:
        if isinstance(frame, OutputTransportMessageFrame | OutputTransportMessageUrgentFrame):
            return json.dumps(frame.message)
        return None

    async def deserialize(self, data: str | bytes) -> Frame | None:
        text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
        await self._link.before_first_message()
        if FLUSH in text:
            with contextlib.suppress(ValueError):
                message = json.loads(text)
                if isinstance(message, dict) and message.get("type") == FLUSH:
                    await self._link.flush(str(message.get("id", "")))
                    return None
        return InputTransportMessageFrame(message=text)  # the processor decodes (and refuses)


class FlushObserver(BaseObserver):
    """Says ``rtvi-server-flushed`` when a marker is handed to the transport's output."""

    observes_audio = False

    def __init__(self, link: TextLink) -> None:
        super().__init__()
        self._link = link

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, FlushMarkerFrame) and (
            data.destination is self._link.transport.output()
        ):
            await self._link.flushed(data.frame.request_id)


class TextLink(SocketLink):
    """A session whose client exchanges RTVI JSON over a WebSocket, without audio."""

    name: TransportName = "text"

    def __init__(self) -> None:
        super().__init__(JSONMessageSerializer(self), RATE, RATE, audio=False)
        self._configured = False

    def observers(self) -> Sequence[BaseObserver]:
        return (FlushObserver(self),)

    def start_answer(self, session_id: str) -> StartAnswer:
        return StartAnswer(
            session_id=session_id, transport="text", ws_path=f"/sessions/{session_id}/ws"
        )

    async def accept_socket(self, websocket: Any) -> None:
        self.socket.bind(websocket)
        await websocket.accept()

    async def before_first_message(self) -> None:
        """Tell the LLM, once, that nothing it writes is to be spoken."""
        if not self._configured:
            self._configured = True
            await self.transport.input().push_frame(LLMConfigureOutputFrame(skip_tts=True))

    async def flush(self, request_id: str) -> None:
        await self.transport.input().push_frame(FlushMarkerFrame(request_id=request_id))

    async def flushed(self, request_id: str) -> None:
        await self.send({"label": "rtvi-ai", "type": FLUSHED, "id": request_id})

    async def send(self, message: JSONObject) -> None:
        if self.socket_open():
            with contextlib.suppress(RuntimeError, ConnectionError):
                await self.socket.send_text(json.dumps(message))


class TextKind:
    """Sessions without audio: RTVI JSON over a WebSocket."""

    name: TransportName = "text"

    def check(self, request: StartRequest) -> None:
        return None

    async def open(self, request: StartRequest, session_id: str) -> TextLink:
        return TextLink()


__all__ = ["FLUSH", "FLUSHED", "TextKind", "TextLink"]
