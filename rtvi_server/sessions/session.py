"""One session, one owner: its bot, its link to the client, its timers, its end.

Whatever ends a session (its time is up, nobody speaks, nobody ever connects,
the client leaves or asks the bot to go, the server is told to end it or shuts
down, the bot fails), :meth:`Session.end` is the only path: it tells the client
why, says ``peerLeft``, stops the pipeline, closes the link, reports once, and
lets go of everything the session held; only its :class:`SessionRecord` stays.
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
from rtvi_server.processor.session_worker import add_observers
from rtvi_server.protocol import outbound
from rtvi_server.sessions.activity import ActivityObserver
from rtvi_server.sessions.api import APIError
from rtvi_server.sessions.lifecycle import END_MESSAGES, EndReason, SessionRecord, SessionState
from rtvi_server.sessions.transports.base import Link

WATCH_INTERVAL_SECS = 0.25
GOODBYE_SECS = 0.05  # lets the data channel carry the goodbye before the peer closes
STOP_TIMEOUT_SECS = 10.0


class Session:
    def __init__(
        self,
        record: SessionRecord,
        link: Link,
        bot: Bot,
        *,
        idle_timeout_secs: float | None,
        connect_timeout_secs: float | None = None,
        on_ended: Callable[[Session], None],
        on_latency: Callable[[float], None] | None = None,
    ) -> None:
        self.record = record
        self._link: Link | None = link
        self.bot: Bot | None = bot
        self._idle_timeout = idle_timeout_secs
        self._connect_timeout = connect_timeout_secs
        self._on_ended = on_ended
        self._activity: ActivityObserver | None = ActivityObserver(on_latency)
        self._runner: WorkerRunner | None = WorkerRunner(handle_sigint=False, handle_sigterm=False)
        self._run_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self._started_monotonic = time.monotonic()
        self._disconnect_requested = False
        self._said_goodbye = False
        self._attach(bot)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def link(self) -> Link:
        """The client side of a live session (a 410 once the session has ended)."""
        if self._link is None or self.record.state in (SessionState.ENDING, SessionState.ENDED):
            raise APIError(410, f"session {self.id} has ended", field="session_id")
        return self._link

    def _attach(self, bot: Bot) -> None:
        worker = bot.worker
        assert self._activity is not None
        assert self._link is not None
        add_observers(worker, [self._activity, *self._link.observers()])
        if bot.listening_gate is not None:
            self._link.hear_at_edge(bot.listening_gate)

        @bot.rtvi.event_handler("on_disconnect_requested")
        async def on_disconnect(_rtvi: Any) -> None:
            # The pipeline is about to end and close the peer: say why while we still can.
            self._disconnect_requested = True
            await self._say_goodbye(EndReason.DISCONNECT_BOT)

        @worker.event_handler("on_pipeline_error")
        async def on_error(_worker: Any, frame: ErrorFrame) -> None:
            if frame.fatal or frame.exception is not None:
                logger.error(f"session {self.id}: pipeline error: {frame.error}")
                self.schedule_end(EndReason.ERROR)

        @self._link.transport.event_handler("on_client_disconnected")
        async def on_client_gone(_transport: Any, _client: Any) -> None:
            self.schedule_end(EndReason.CLIENT_GONE)

    def watch(self) -> None:
        """Start the timers (from now, before the client has even connected)."""
        self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{self.id}")

    async def start_bot(self) -> None:
        """Run the bot's pipeline (idempotent: the first connect starts it)."""
        if self._run_task is not None or self.bot is None or self._runner is None:
            return
        await self._runner.add_workers(self.bot.worker)
        self._run_task = asyncio.create_task(self._run(self._runner), name=f"bot-{self.id}")
        self.record.state = SessionState.RUNNING

    async def _run(self, runner: WorkerRunner) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(f"session {self.id}: bot failed")
            self.schedule_end(EndReason.ERROR)
            return
        if self.record.state is SessionState.RUNNING:
            reason = EndReason.DISCONNECT_BOT if self._disconnect_requested else EndReason.ERROR
            self.schedule_end(reason)

    def _due_end(self, now: float) -> EndReason | None:
        """Why the session should end now, if it should."""
        link, activity = self._link, self._activity
        assert link is not None
        assert activity is not None
        age = now - self._started_monotonic
        if age >= self.record.max_duration:
            return EndReason.MAX_DURATION
        if self._connect_timeout and not link.connected and age >= self._connect_timeout:
            return EndReason.NEVER_CONNECTED
        if self._idle_timeout and now - activity.last_activity >= self._idle_timeout:
            return EndReason.IDLE
        if not link.is_alive():
            return EndReason.CLIENT_GONE
        return None

    async def _watch(self) -> None:
        while self.record.state in (SessionState.STARTING, SessionState.RUNNING):
            await asyncio.sleep(WATCH_INTERVAL_SECS)
            reason = self._due_end(time.monotonic())
            if reason is not None:
                self.schedule_end(reason)
                return

    def schedule_end(self, reason: EndReason) -> asyncio.Task[None]:
        """End the session in the background (safe from inside its own tasks)."""
        if self._ending is None:
            self._ending = asyncio.create_task(self._end(reason), name=f"end-{self.id}")
        return self._ending

    async def _say_goodbye(self, reason: EndReason) -> bool:
        """Tell the client why the session ends (once): ``error`` if fatal, then
        ``server-message`` ``{"type": "session-ended", "reason", "message"}``."""
        if self._said_goodbye or self._link is None:
            return False
        self._said_goodbye = True
        text = END_MESSAGES[reason]
        try:
            if reason is EndReason.ERROR:
                await self._link.send(outbound.error(text, fatal=True))
            await self._link.send(
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
        await self._ended.wait()

    async def end(self, reason: EndReason) -> None:
        await asyncio.shield(self.schedule_end(reason))

    async def _end(self, reason: EndReason) -> None:
        record = self.record
        record.state = SessionState.ENDING
        record.end_reason = reason
        logger.info(f"session {self.id} ending: {reason.value}")
        try:
            await self._stop(reason)
        finally:
            record.state = SessionState.ENDED
            record.ended = time.time()
            self._release()
            self._ended.set()
            self._on_ended(self)

    async def _stop(self, reason: EndReason) -> None:
        if await self._say_goodbye(reason):
            await asyncio.sleep(GOODBYE_SECS)
        current = asyncio.current_task()
        if self._watch_task is not None and self._watch_task is not current:
            self._watch_task.cancel()
        if self.bot is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.bot.worker.cancel(reason=reason.value), timeout=STOP_TIMEOUT_SECS
                )
        if self._run_task is not None and self._run_task is not current:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._run_task, timeout=STOP_TIMEOUT_SECS)
        if self._link is not None:
            await self._link.close()

    def _release(self) -> None:
        """Drop everything the session owned; only the record stays."""
        self.bot = None
        self._link = None
        self._runner = None
        self._activity = None
        self._watch_task = self._run_task = None
