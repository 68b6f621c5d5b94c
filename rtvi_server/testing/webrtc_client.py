"""A real WebRTC client (aiortc) that speaks the SmallWebRTC contract, for tests.

It starts a bot with ``POST /start``, offers a peer connection with a ``chat``
data channel and a microphone track that plays a WAV in real time (then
silence), keeps the connection alive with ``ping:`` messages, collects every
RTVI message and the bot's audio, and sends requests. Host candidates are kept
to 127.0.0.1 so a test never sends traffic beyond loopback.

A load test can hand it another microphone (any aiortc audio track, such as
one that sends pre-encoded Opus packets) and skip decoding the bot's audio
(``decode_bot_audio=False``): the bot's sender marks each packet with its
audio level (RFC 6464), which is all a turn-latency measurement needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from rtvi_server.patches.aioice import host_candidates
from rtvi_server.patches.aiortc import replace_jitter_buffer
from rtvi_server.sessions.inline_audio import (
    PassThroughJitterBuffer,
    use_pass_through_jitter_buffer,
)
from rtvi_server.testing.memory_transport import read_wav_pcm16
from rtvi_server.testing.message_log import Message, MessageLog, ReceivesMessages

SAMPLE_RATE = 16000
FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms
LOOPBACK = ["127.0.0.1"]
# Bot audio louder than this (dBov, RFC 6464 level 0-127 is its negation) is heard
# as the bot speaking: about what a decoded peak of 500 (of 32767) means for a tone.
LOUD_DBOV = -40


class WavMicrophone(MediaStreamTrack):
    """An audio track that plays queued PCM in real time and silence in between."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()
        self._pts = 0
        self._start: float | None = None
        self.finished = asyncio.Event()
        self.finished.set()
        #: When the last queued audio was due to be sent (monotonic seconds).
        self.finished_at = 0.0

    def play(self, pcm: bytes) -> None:
        self._pending.extend(pcm)
        self.finished.clear()

    def clear(self) -> None:
        """Stop what is playing; silence follows."""
        self._pending.clear()
        self.finished.set()

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._pts / SAMPLE_RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        size = FRAME_SAMPLES * 2
        chunk = bytes(self._pending[:size]).ljust(size, b"\0")
        del self._pending[:size]
        if not self._pending and not self.finished.is_set():
            self.finished_at = due
            self.finished.set()
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(chunk)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += FRAME_SAMPLES
        return frame


class AudioLevelWatch(PassThroughJitterBuffer):
    """A receiver's jitter buffer that decodes nothing: it reports each packet's
    RFC 6464 audio level (loud or not) and hands no frame on."""

    def __init__(self, heard: Callable[[bool], None]) -> None:
        super().__init__()
        self._heard = heard

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        level = packet.extensions.audio_level
        if level is not None:
            self._heard(-level[1] > LOUD_DBOV)
        return False, None


class WebRTCTestClient(ReceivesMessages):
    """One client session against a running rtvi-server."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        microphone: MediaStreamTrack | None = None,
        decode_bot_audio: bool = True,
        record_bot_audio: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._log = MessageLog()
        self.messages: list[Message] = self._log.messages
        self.signalling: list[Message] = []
        #: The server's last SDP answer (its candidates say what it gathered).
        self.answer: Message | None = None
        self.session_id: str | None = None
        self.microphone: Any = microphone or WavMicrophone()
        self._decode_bot_audio = decode_bot_audio
        self.bot_audio_peak = 0
        #: With ``record_bot_audio``: the bot's audio as heard, 16-bit mono at 48 kHz.
        self.bot_audio = bytearray()
        self._record_bot_audio = record_bot_audio
        self.bot_audio_frames = 0
        self.first_bot_audio_at: float | None = None
        self.bot_audio_onsets: list[float] = []
        self._last_loud = 0.0
        self._pc: RTCPeerConnection | None = None
        self._channel: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ping_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebRTCTestClient:
        self._http = aiohttp.ClientSession(headers=self._headers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        assert self._http is not None
        async with self._http.post(self.base_url + path, json=body) as response:
            return response.status, await response.json(content_type=None)

    async def start(self, payload: Mapping[str, Any] | None = None) -> Message:
        status, body = await self.post("/start", dict(payload or {}))
        if status != 200:
            raise RuntimeError(f"start failed ({status}): {body}")
        self.session_id = body["sessionId"]
        return dict(body)

    async def connect(self, offer_path: str | None = None, timeout: float = 20) -> None:
        """Offer a peer connection and wait for the data channel to open."""
        if offer_path is None:
            offer_path = f"/sessions/{self.session_id}/api/offer"
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pc = pc
        transceiver = pc.addTransceiver(self.microphone, direction="sendrecv")
        # The bot's audio is timed as its packets arrive, not after a playout buffer.
        if self._decode_bot_audio:
            use_pass_through_jitter_buffer(transceiver.receiver)
        else:
            replace_jitter_buffer(
                transceiver.receiver, lambda: AudioLevelWatch(self.heard_bot), AudioLevelWatch
            )
        channel = pc.createDataChannel("chat", ordered=True)
        self._channel = channel
        opened = asyncio.Event()

        @channel.on("open")
        def on_open() -> None:
            opened.set()

        @channel.on("message")
        def on_message(raw: Any) -> None:
            try:
                message = json.loads(raw)
            except ValueError:
                return
            if isinstance(message, dict) and message.get("type") == "signalling":
                self.signalling.append(message)
            elif isinstance(message, dict):
                self._log.add(message)
            self._log.changed.set()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and self._decode_bot_audio:
                self._tasks.append(asyncio.create_task(self._listen(track)))

        with host_candidates(LOOPBACK):  # this peer offers 127.0.0.1 alone
            await pc.setLocalDescription(await pc.createOffer())
        local = pc.localDescription
        status, answer = await self.post(
            offer_path, {"sdp": local.sdp, "type": local.type, "pc_id": None, "restart_pc": False}
        )
        if status != 200:
            raise RuntimeError(f"offer failed ({status}): {answer}")
        self.answer = answer
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(opened.wait(), timeout)
        self._ping_task = asyncio.create_task(self._ping())
        self._tasks.append(self._ping_task)

    async def _ping(self) -> None:
        while self._channel is not None and self._channel.readyState == "open":
            self._channel.send(f"ping: {int(time.time() * 1000)}")
            await asyncio.sleep(1.0)

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.AudioFrame)
                samples = frame.to_ndarray()
                peak = int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0
                if self._record_bot_audio:
                    channels = len(frame.layout.channels)
                    self.bot_audio += samples.reshape(-1, channels)[:, 0].tobytes()
                self.bot_audio_peak = max(self.bot_audio_peak, peak)
                self.heard_bot(peak > 500)

    def heard_bot(self, loud: bool) -> None:
        """One packet of the bot's audio arrived; a loud one after a pause is an onset."""
        self.bot_audio_frames += 1
        if not loud:
            return
        now = time.monotonic()
        if self.first_bot_audio_at is None:
            self.first_bot_audio_at = now
        if now - self._last_loud > 0.3:
            self.bot_audio_onsets.append(now)  # bot audio starts after a pause
        self._last_loud = now

    def stop_pinging(self) -> None:
        """Go silent on the data channel, as a client whose tab froze would."""
        if self._ping_task is not None:
            self._ping_task.cancel()

    def play_wav(self, path: str | Path) -> asyncio.Event:
        """Queue a WAV as the user's speech; the returned event fires when it has played."""
        self.microphone.play(read_wav_pcm16(path, SAMPLE_RATE))
        finished: asyncio.Event = self.microphone.finished
        return finished

    def send_raw(self, text: str) -> None:
        self._channel.send(text)

    async def send(self, type_: str, data: Any = None) -> str:
        msg_id = f"c{next(self._ids):07d}"
        self.send_raw(
            json.dumps({"label": "rtvi-ai", "type": type_, "id": msg_id, "data": data or {}})
        )
        return msg_id

    async def request(self, type_: str, data: Any = None, timeout: float = 10) -> Message:
        msg_id = await self.send(type_, data)
        return await self.wait_for(lambda m: m.get("id") == msg_id, timeout)

    async def wait_for_signal(self, kind: str, timeout: float = 10) -> None:
        async def poll() -> None:
            while not any(s.get("message", {}).get("type") == kind for s in self.signalling):
                self._log.changed.clear()
                await self._log.changed.wait()

        await asyncio.wait_for(poll(), timeout)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        if self._pc is not None:
            await self._pc.close()
            self._pc = None
        self._channel = None
        if self._http is not None:
            await self._http.close()
            self._http = None
