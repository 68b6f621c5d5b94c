"""The provider's side of a phone call's media stream, for testing bots by phone.

:class:`PhoneCall` connects to the media WebSocket a voice webhook's markup
named and behaves as Twilio, Telnyx or Plivo does: it opens with that
provider's ``connected``/``start`` messages, sends the caller's audio as 20 ms
frames of 8 kHz mu-law in real time, collects the bot's audio, honours
``clear``, echoes marks once the audio before them has been "played", and
hangs up with ``stop``. Everything is in that provider's message shapes, so a
test of a bot by phone exercises what a real call would.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp

from rtvi_server.testing.memory_transport import read_wav_pcm16

PhoneProvider = Literal["twilio", "telnyx", "plivo"]
RATE = 8000
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law


@dataclass
class _Stream:
    provider: PhoneProvider
    stream_id: str
    call_id: str
    sequence: int = 0

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def opening(self, parameters: dict[str, str]) -> list[dict[str, Any]]:
        fmt = {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1}
        if self.provider == "twilio":
            start = {
                "accountSid": "AC" + "0" * 32,
                "streamSid": self.stream_id,
                "callSid": self.call_id,
                "tracks": ["inbound"],
                "mediaFormat": fmt,
                "customParameters": parameters,
            }
            return [
                {"event": "connected", "protocol": "Call", "version": "1.0.0"},
                {
                    "event": "start",
                    "sequenceNumber": "1",
                    "start": start,
                    "streamSid": self.stream_id,
                },
            ]
        if self.provider == "telnyx":
            start = {
                "call_control_id": self.call_id,
                "media_format": {"encoding": "PCMU", "sample_rate": RATE, "channels": 1},
                "custom_parameters": parameters,
            }
            return [
                {"event": "connected", "version": "1.0.0"},
                {
                    "event": "start",
                    "sequence_number": "1",
                    "start": start,
                    "stream_id": self.stream_id,
                },
            ]
        start = {"callId": self.call_id, "streamId": self.stream_id, "mediaFormat": fmt}
        return [{"event": "start", "sequenceNumber": 0, "start": start, "extra_headers": "{}"}]

    def media(self, payload: bytes, timestamp_ms: int) -> dict[str, Any]:
        n = self._next()
        media = {
            "track": "inbound",
            "chunk": str(n),
            "timestamp": str(timestamp_ms),
            "payload": base64.b64encode(payload).decode(),
        }
        if self.provider == "twilio":
            return {
                "event": "media",
                "sequenceNumber": str(n),
                "media": media,
                "streamSid": self.stream_id,
            }
        if self.provider == "telnyx":
            return {
                "event": "media",
                "sequence_number": str(n),
                "media": media,
                "stream_id": self.stream_id,
            }
        return {"event": "media", "sequenceNumber": n, "streamId": self.stream_id, "media": media}

    def stop(self) -> dict[str, Any]:
        if self.provider == "telnyx":
            stop = {"call_control_id": self.call_id}
            return {
                "event": "stop",
                "sequence_number": str(self._next()),
                "stop": stop,
                "stream_id": self.stream_id,
            }
        return {
            "event": "stop",
            "sequenceNumber": str(self._next()),
            "stop": {"callSid": self.call_id},
            "streamSid": self.stream_id,
        }

    def played(self, name: str) -> dict[str, Any]:
        if self.provider == "plivo":
            return {"event": "playedStream", "streamId": self.stream_id, "name": name}
        key = "streamSid" if self.provider == "twilio" else "stream_id"
        return {"event": "mark", key: self.stream_id, "mark": {"name": name}}


@dataclass
class PhoneCall:
    """One call's media stream, as the provider opens and drives it."""

    provider: PhoneProvider
    url: str
    parameters: dict[str, str] = field(default_factory=dict)
    call_id: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    stream_id: str = field(default_factory=lambda: "MZ" + uuid.uuid4().hex)
    bot_audio: bytearray = field(default_factory=bytearray)  # mu-law, 8 kHz
    clears: int = 0
    marks: list[str] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    closed_by_server: asyncio.Event = field(default_factory=asyncio.Event)
    _marked: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def __aenter__(self) -> PhoneCall:
        self._stream = _Stream(self.provider, self.stream_id, self.call_id)
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url, heartbeat=None)
        for message in self._stream.opening(self.parameters):
            await self._ws.send_str(json.dumps(message))
        self._reader = asyncio.create_task(self._read())
        self._sent_ms = 0
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()
        await self._http.close()

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            await self._take(json.loads(message.data))
        self.closed_by_server.set()

    async def _take(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("media", "playAudio"):
            self.bot_audio.extend(base64.b64decode(event["media"]["payload"]))
        elif kind in ("clear", "clearAudio"):
            self.clears += 1
        elif kind in ("mark", "checkpoint"):
            name = event["mark"]["name"] if kind == "mark" else event["name"]
            await self._ws.send_str(json.dumps(self._stream.played(name)))
            async with self._marked:
                self.marks.append(name)
                self._marked.notify_all()
        else:
            self.unknown.append(event)

    async def play(self, pcm16: bytes, sample_rate: int = 16000) -> None:
        """Speak ``pcm16`` into the call as 20 ms mu-law frames, in real time."""
        pcm8, _ = audioop.ratecv(pcm16, 2, 1, sample_rate, RATE, None)
        ulaw = audioop.lin2ulaw(pcm8, 2)
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(ulaw), FRAME_BYTES)):
            frame = ulaw[offset : offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
            await self._ws.send_str(json.dumps(self._stream.media(frame, self._sent_ms)))
            self._sent_ms += 20
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))  # pacing

    async def play_wav(self, path: Path | str) -> None:
        await self.play(read_wav_pcm16(path, 16000), 16000)

    async def silence(self, secs: float) -> None:
        await self.play(b"\x00\x00" * int(16000 * secs), 16000)

    async def wait_for_marks(self, count: int, timeout: float) -> Sequence[str]:
        """Until the bot has finished ``count`` utterances (their marks came back)."""
        async with self._marked:
            await asyncio.wait_for(self._marked.wait_for(lambda: len(self.marks) >= count), timeout)
        return list(self.marks)

    async def hang_up(self) -> None:
        """The caller hangs up: ``stop``, then the provider closes the socket."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.send_str(json.dumps(self._stream.stop()))
        await self._ws.close()

    def bot_pcm(self, sample_rate: int = 16000) -> bytes:
        """The bot's audio so far as 16-bit PCM."""
        pcm8 = audioop.ulaw2lin(bytes(self.bot_audio), 2)
        pcm, _ = audioop.ratecv(pcm8, 2, 1, RATE, sample_rate, None)
        return pcm
