"""Loopback stand-ins that speak the cloud providers' own wire protocols.

One aiohttp server on 127.0.0.1 serves, each under its own prefix:

- ``/deepgram``: Deepgram's streaming STT WebSocket (``/v1/listen``: binary audio in,
  ``Results`` JSON out, a final one on ``Finalize``) and TTS WebSocket (``/v1/speak``:
  ``Speak``/``Flush`` in, binary PCM and ``Flushed`` out);
- ``/cartesia``: Cartesia's TTS WebSocket (``/tts/websocket``: transcripts in,
  ``chunk``/``done`` out);
- ``/elevenlabs``: ElevenLabs' multi-stream-input TTS WebSocket;
- ``/openai/v1``: OpenAI's ``/audio/speech`` (PCM stream) and ``/audio/transcriptions``;
- ``/anthropic``: Anthropic's streaming ``/v1/messages`` (server-sent events).

Each records what it was asked for (the key it got, the model and voice the
request named, the text), so tests check what pipecat's services really sent.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .aioserve import serve


@dataclass
class Call:
    provider: str
    key: str
    model: str | None = None
    voice: str | None = None
    text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def tone(rate: int, seconds: float) -> bytes:
    """A loud 220 Hz tone: audible "speech" a test can find in the bot's audio."""
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * math.pi * 220 * t) * 12000).astype(np.int16).tobytes()


def _bearer(request: web.Request, header: str, prefix: str = "") -> str:
    return request.headers.get(header, "").removeprefix(prefix)


@dataclass
class CloudFakes:
    transcript: str = "What is the weather like today?"
    reply: list[str] = field(default_factory=lambda: ["It is", " sunny", " and warm."])
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, prefix: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{prefix}"

    def of(self, provider: str) -> list[Call]:
        return [c for c in self.calls if c.provider == provider]

    async def start(self) -> CloudFakes:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/deepgram/v1/listen", self._deepgram_listen)
        app.router.add_get("/deepgram/v1/speak", self._deepgram_speak)
        app.router.add_get("/cartesia/tts/websocket", self._cartesia)
        app.router.add_get("/elevenlabs/v1/text-to-speech/{voice}/multi-stream-input", self._eleven)
        app.router.add_post("/openai/v1/audio/speech", self._openai_speech)
        app.router.add_post("/openai/v1/audio/transcriptions", self._openai_transcription)
        app.router.add_post("/anthropic/v1/messages", self._anthropic)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- Deepgram ---------------------------------------------------------------

    def _results(self, transcript: str, *, final: bool, seconds: float) -> str:
        return json.dumps(
            {
                "type": "Results",
                "channel_index": [0, 1],
                "duration": seconds,
                "start": 0.0,
                "is_final": final,
                "speech_final": final,
                "from_finalize": final,
                "channel": {
                    "alternatives": [{"transcript": transcript, "confidence": 0.98, "words": []}]
                },
                "metadata": {"request_id": "fake", "model_uuid": "fake", "model_info": {}},
            }
        )

    async def _deepgram_listen(self, request: web.Request) -> web.WebSocketResponse:
        call = Call(
            "deepgram-stt",
            _bearer(request, "Authorization", "Token "),
            model=request.query.get("model"),
            extra=dict(request.query),
        )
        self.calls.append(call)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        received = 0
        rate = int(request.query.get("sample_rate", "16000"))
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                received += len(message.data)
                call.extra["audio_bytes"] = received
                if received >= rate and "interim" not in call.extra:  # a second of audio
                    call.extra["interim"] = True
                    await ws.send_str(
                        self._results(self.transcript.split()[0], final=False, seconds=1.0)
                    )
            elif message.type == WSMsgType.TEXT:
                control = json.loads(message.data).get("type")
                if control == "Finalize" and received:
                    call.text = self.transcript
                    await ws.send_str(
                        self._results(self.transcript, final=True, seconds=received / 2 / rate)
                    )
                    received = 0
                elif control == "CloseStream":
                    break
        return ws

    async def _deepgram_speak(self, request: web.Request) -> web.WebSocketResponse:
        rate = int(request.query.get("sample_rate", "24000"))
        call = Call(
            "deepgram-tts",
            _bearer(request, "Authorization", "Token "),
            voice=request.query.get("model"),
            extra=dict(request.query),
        )
        self.calls.append(call)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            msg = json.loads(message.data)
            if msg.get("type") == "Speak":
                call.text += msg.get("text", "")
                await ws.send_bytes(tone(rate, 0.3))
            elif msg.get("type") == "Flush":
                await ws.send_str(json.dumps({"type": "Flushed", "sequence_id": 0}))
            elif msg.get("type") == "Close":
                break
        return ws

    # -- Cartesia and ElevenLabs ----------------------------------------------------

    async def _cartesia(self, request: web.Request) -> web.WebSocketResponse:
        call = Call("cartesia", request.headers.get("X-API-Key", ""))
        self.calls.append(call)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            msg = json.loads(message.data)
            call.model, call.voice = msg.get("model_id"), msg.get("voice", {}).get("id")
            rate = int(msg.get("output_format", {}).get("sample_rate", 24000))
            context = msg.get("context_id", "")
            if msg.get("transcript"):
                call.text += msg["transcript"]
                audio = base64.b64encode(tone(rate, 0.3)).decode()
                await ws.send_str(
                    json.dumps({"type": "chunk", "data": audio, "context_id": context})
                )
            if msg.get("continue") is False:
                await ws.send_str(json.dumps({"type": "done", "context_id": context}))
        return ws

    async def _eleven(self, request: web.Request) -> web.WebSocketResponse:
        call = Call(
            "elevenlabs",
            request.headers.get("xi-api-key", ""),
            model=request.query.get("model_id"),
            voice=request.match_info["voice"],
            extra=dict(request.query),
        )
        self.calls.append(call)
        fmt = request.query.get("output_format", "pcm_24000")
        rate = int(fmt.rsplit("_", 1)[1]) if fmt.startswith("pcm_") else 24000
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            msg = json.loads(message.data)
            context = msg.get("context_id")
            if msg.get("close_context"):
                await ws.send_str(json.dumps({"isFinal": True, "contextId": context}))
            elif msg.get("text", "").strip():
                call.text += msg["text"]
                audio = base64.b64encode(tone(rate, 0.3)).decode()
                await ws.send_str(json.dumps({"audio": audio, "contextId": context}))
        return ws

    # -- OpenAI and Anthropic (HTTP) ------------------------------------------------

    async def _openai_speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(
            Call(
                "openai-tts",
                _bearer(request, "Authorization", "Bearer "),
                model=body.get("model"),
                voice=body.get("voice"),
                text=body.get("input", ""),
                extra={"response_format": body.get("response_format"), "speed": body.get("speed")},
            )
        )
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await response.prepare(request)
        await response.write(tone(24000, 0.5))
        await response.write_eof()
        return response

    async def _openai_transcription(self, request: web.Request) -> web.Response:
        form = await request.post()
        audio = form.get("file")
        size = len(audio.file.read()) if hasattr(audio, "file") else 0
        self.calls.append(
            Call(
                "openai-stt",
                _bearer(request, "Authorization", "Bearer "),
                model=str(form.get("model")),
                text=self.transcript,
                extra={"audio_bytes": size, "language": form.get("language")},
            )
        )
        return web.json_response({"text": self.transcript})

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls.append(
            Call(
                "anthropic",
                request.headers.get("x-api-key", ""),
                model=body.get("model"),
                extra={"temperature": body.get("temperature"), "max_tokens": body.get("max_tokens"),
                       "messages": body.get("messages"), "system": body.get("system")},
            )
        )  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def event(name: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        usage = {"input_tokens": 12, "output_tokens": 0}
        await event("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}})  # fmt: skip
        await event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})  # fmt: skip
        for token in self.reply:
            await event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": token}})  # fmt: skip
        await event("content_block_stop", {"type": "content_block_stop", "index": 0})
        await event("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": len(self.reply)}})  # fmt: skip
        await event("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response
