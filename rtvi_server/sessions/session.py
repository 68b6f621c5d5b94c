"""One session, one owner: its bot, its link to the client, its timers, its end.

Whatever ends a session (its time is up, nobody speaks, the client leaves or
asks the bot to go, the server is told to end it or shuts down, the bot fails),
:meth:`Session.end` is the only path: it tells the client why, says
``peerLeft``, stops the pipeline, closes the peer and reports once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from loguru import logger
from pipecat.frames.frames import ErrorFrame
from pipecat.workers.runner import WorkerRunner

from rtvi_server.bots import Bot
from rtvi_server.protocol import outbound
from rtvi_server.sessions.activity import ActivityObserver
from rtvi_server.sessions.lifecycle import END_MESSAGES, EndReason, SessionRecord, SessionState
from rtvi_server.sessions.link import SessionLink

WATCH_INTERVAL_SECS = 0.25


class Session:
    def __init__(
        self,
        record: SessionRecord,
        bot: Bot | None,
        link: SessionLink,
        *,
        idle_timeout_secs: float | None,
        on_ended: Callable[[Session], None],
        on_latency: Callable[[float], None] | None = None,
    ) -> None:
        self.record = record
        self.link = link
        self._idle_timeout = idle_timeout_secs
        self._on_ended = on_ended
        self._activity = ActivityObserver(on_latency)
        self._runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
        self._run_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None
        self._started_monotonic = time.monotonic()
        self._disconnect_requested = False
        self._said_goodbye = False
        self.bot: Bot | None = None
        if bot is not None:
            self.attach(bot)

    @property
    def id(self) -> str:
        return self.record.id

    def attach(self, bot: Bot) -> None:
        """Give the session its bot (at start, or when a late-bound transport connects)."""
        self.bot = bot
        worker = bot.worker
        worker.add_observer(self._activity)

        @bot.rtvi.event_handler("on_disconnect_requested")
        async def on_disconnect(_rtvi: Any) -> None:
            # The pipeline is about to end and close the peer: say why while we still can.
            self._disconnect_requested = True
            await self._say_goodbye(EndReason.DISCONNECT_BOT, None)

        @worker.event_handler("on_pipeline_error")
        async def on_error(_worker: Any, frame: ErrorFrame) -> None:
            if frame.fatal or frame.exception is not None:
                self.schedule_end(EndReason.ERROR, detail=frame.error)

        @self.link.transport.event_handler("on_client_disconnected")
        async def on_client_gone(_transport: Any, _client: Any) -> None:
            self.schedule_end(EndReason.CLIENT_GONE)

    def watch(self) -> None:
        """Start the timers (from now, before the client has even connected)."""
        self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{self.id}")

    async def start_bot(self) -> None:
        """Run the bot's pipeline (on the first answered offer)."""
        if self._run_task is not None or self.bot is None:
            return
        await self._runner.add_workers(self.bot.worker)
        self._run_task = asyncio.create_task(self._run(), name=f"bot-{self.id}")
        self.record.state = SessionState.RUNNING

    async def _run(self) -> None:
        try:
            await self._runner.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception(f"session {self.id}: bot failed")
            self.schedule_end(EndReason.ERROR, detail=str(exc))
            return
        if self.record.state is SessionState.RUNNING:
            reason = EndReason.DISCONNECT_BOT if self._disconnect_requested else EndReason.ERROR
            self.schedule_end(reason)

    async def _watch(self) -> None:
        while self.record.state in (SessionState.STARTING, SessionState.RUNNING):
            await asyncio.sleep(WATCH_INTERVAL_SECS)
            now = time.monotonic()
            if now - self._started_monotonic >= self.record.max_duration:
                self.schedule_end(EndReason.MAX_DURATION)
            elif self._idle_timeout and now - self._activity.last_activity >= self._idle_timeout:
                self.schedule_end(EndReason.IDLE)
            elif not self.link.is_alive():
                self.schedule_end(EndReason.CLIENT_GONE)

    def schedule_end(self, reason: EndReason, *, detail: str | None = None) -> asyncio.Task[None]:
        """End the session in the background (safe from inside its own tasks)."""
        if self._ending is None:
            self._ending = asyncio.create_task(self._end(reason, detail), name=f"end-{self.id}")
        return self._ending

    async def _say_goodbye(self, reason: EndReason, detail: str | None) -> bool:
        """Tell the client why the session ends (once): ``error`` if fatal, then
        ``server-message`` ``{"type": "session-ended", "reason", "message"}``."""
        if self._said_goodbye:
            return False
        self._said_goodbye = True
        text = END_MESSAGES[reason]
        try:
            if reason is EndReason.ERROR:
                await self.link.send(outbound.error(f"{text} {detail or ''}".strip(), fatal=True))
            await self.link.send(
                outbound.server_message(
                    {"type": "session-ended", "reason": reason.value, "message": text}
                )
            )
        except Exception as exc:
            logger.debug(f"session {self.id}: could not tell the client: {exc!r}")
            return False
        return True

    async def wait_ended(self) -> None:
        """Until the session has ended (whoever ended it)."""
        while self.record.state is not SessionState.ENDED:
            if self._ending is not None:
                await asyncio.shield(self._ending)
            else:
                await asyncio.sleep(WATCH_INTERVAL_SECS)

    async def end(self, reason: EndReason, *, detail: str | None = None) -> None:
        await asyncio.shield(self.schedule_end(reason, detail=detail))

    async def _end(self, reason: EndReason, detail: str | None) -> None:
        record = self.record
        record.state = SessionState.ENDING
        record.end_reason = reason
        logger.info(f"session {self.id} ending: {reason.value}")
        if await self._say_goodbye(reason, detail):
            await asyncio.sleep(0.05)  # let the data channel carry the goodbye
        current = asyncio.current_task()
        for task in (self._watch_task,):
            if task is not None and task is not current:
                task.cancel()
        if self.bot is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.bot.worker.cancel(reason=reason.value), timeout=10)
        if self._run_task is not None and self._run_task is not current:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._run_task, timeout=10)
        await self.link.close()
        record.state = SessionState.ENDED
        record.ended = time.time()
        self._on_ended(self)
