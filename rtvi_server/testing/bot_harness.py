"""Run a bot file in-process on the memory transport and talk to it as a client would.

async with BotHarness.from_file("bots/default.py") as bot:
    await bot.connect()                       # client-ready -> bot-ready
    await bot.play_wav("hello.wav")           # the user speaks
    final = await bot.wait_for_event("user-transcription", lambda m: m["data"]["final"])
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipecat.workers.runner import WorkerRunner

from rtvi_server.bots import Bot, BotArgs, CreateBot, load_bot_file
from rtvi_server.protocol import Config, JSONValue, parse_config
from rtvi_server.testing.memory_transport import MemoryTransport, read_wav_pcm16
from rtvi_server.testing.message_log import Message, MessageLog, ReceivesMessages


class BotHarness(ReceivesMessages):
    def __init__(
        self,
        create_bot: CreateBot,
        *,
        services: Mapping[str, str] | None = None,
        api_keys: Mapping[str, str] | None = None,
        config: Sequence[JSONValue] | None = None,
    ) -> None:
        parsed = parse_config(list(config or []))
        if not isinstance(parsed, Config):
            raise ValueError(f"invalid config: {parsed}")
        self.transport = MemoryTransport()
        recording = self.transport.recording
        self._log = MessageLog(recording.messages, recording.changed)
        self._args = BotArgs(
            transport=self.transport,
            services=dict(services or {}),
            api_keys=dict(api_keys or {}),
            config=parsed,
        )
        self._create = create_bot
        self._runner = WorkerRunner(handle_sigint=False)
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self.bot: Bot | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> BotHarness:
        return cls(load_bot_file(Path(path)), **kwargs)

    @property
    def messages(self) -> list[Message]:
        """Every RTVI message the bot has sent, in order."""
        return self.transport.recording.messages

    @property
    def audio(self) -> bytes:
        return bytes(self.transport.recording.audio)

    @property
    def audio_sample_rate(self) -> int:
        return self.transport.recording.sample_rate

    async def __aenter__(self) -> BotHarness:
        self.bot = await self._create(self._args)
        await self._runner.add_workers(self.bot.worker)
        self._task = asyncio.create_task(self._runner.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.bot is not None:
            await self.bot.worker.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=15)

    async def send(self, type_: str, data: JSONValue = None) -> str:
        """Send an RTVI request; returns its id."""
        msg_id = f"t{next(self._ids):07d}"
        message: Message = {"label": "rtvi-ai", "type": type_, "id": msg_id, "data": data or {}}
        await self.transport.input().receive_message(message)
        return msg_id

    async def request(self, type_: str, data: JSONValue = None, timeout: float = 10) -> Message:
        msg_id = await self.send(type_, data)
        return await self.wait_for(lambda m: m.get("id") == msg_id, timeout)

    async def connect(self, client_ready: JSONValue = None, timeout: float = 30) -> Message:
        """``client-ready`` and the ``bot-ready`` answering it."""
        return await self.request("client-ready", client_ready or {}, timeout)

    async def play_wav(self, path: str | Path, *, realtime: bool = True) -> None:
        await self.transport.input().play(read_wav_pcm16(path), realtime=realtime)

    async def silence(self, seconds: float) -> None:
        await self.transport.input().silence(seconds)

    def user_stop_to_bot_audio(self) -> list[float]:
        """Seconds from each ``user-stopped-speaking`` to the next start of bot audio."""
        recording = self.transport.recording
        stops = [
            t
            for m, t in zip(recording.messages, recording.message_times, strict=True)
            if m.get("type") == "user-stopped-speaking"
        ]
        latencies = []
        for stop in stops:
            onset = next((o for o in recording.audio_onsets if o >= stop), None)
            if onset is not None:
                latencies.append(onset - stop)
        return latencies

    def bot_text(self) -> str:
        """What the bot said, as its sentence-aggregated transcript."""
        return " ".join(m["data"]["text"] for m in self.events("bot-transcription"))
