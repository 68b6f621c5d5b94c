"""This host's place in a cluster: its heartbeat, and every registry write about its
own sessions, in the order they happened.

All of a host's writes (heartbeat, a session confirmed, a session ended) go
through one lock, so the heartbeat's list of live sessions, taken inside the
lock, can never race a confirmation sent just before or after it: the
heartbeat's repair (drop slots of sessions this host no longer runs) is then
always right. While Redis is unreachable the host keeps its sessions and keeps
beating; the first beat that gets through repairs whatever was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from loguru import logger

from rtvi_server.cluster.registry import (
    HOST_TTL_MS,
    HostEntry,
    Registry,
    RegistryUnavailableError,
)
from rtvi_server.sessions.api import SessionInfo
from rtvi_server.sessions.lifecycle import SessionRecord

HEARTBEAT_SECS = 1.0


class Membership:
    def __init__(
        self,
        registry: Registry,
        entry: HostEntry,
        *,
        live: Callable[[], list[SessionInfo]],
        retention_secs: float,
    ) -> None:
        self.registry = registry
        self.entry = entry
        self._live = live
        self._retention_ms = int(retention_secs * 1000)
        self._lock = asyncio.Lock()
        self._connected_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()
        #: The secret hosts present on each other's cluster routes (from Redis).
        self.token: str | None = None

    @property
    def host_id(self) -> str:
        return self.entry.host_id

    @property
    def connected(self) -> bool:
        return self._connected_since is not None

    def _may_reap(self) -> bool:
        """Only a host that has beaten for a whole TTL may declare others lost: after
        a Redis outage every host gets that long to come back first."""
        since = self._connected_since
        return since is not None and time.monotonic() - since >= HOST_TTL_MS / 1000

    # -- heartbeat ----------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(RegistryUnavailableError):
            await self.beat()
        self._task = asyncio.create_task(self._beat_forever(), name="cluster-heartbeat")

    async def beat(self) -> None:
        """One heartbeat now (also repairs this host's slots, and reaps lost hosts)."""
        async with self._lock:
            try:
                beat = await self.registry.heartbeat(
                    self.entry,
                    self._live(),
                    may_reap=self._may_reap(),
                    retention_ms=self._retention_ms,
                )
            except RegistryUnavailableError:
                if self._connected_since is not None:
                    logger.error("cluster registry unreachable: serving live sessions only")
                self._connected_since = None
                raise
        if self._connected_since is None:
            logger.info(f"host {self.host_id} joined the cluster as {self.entry.url}")
            self._connected_since = time.monotonic()
        self.token = beat.token
        if beat.lost:
            logger.warning(f"{beat.lost} sessions of lost hosts reported ended (host_lost)")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECS)
            try:
                await self.beat()
            except RegistryUnavailableError:
                pass
            except Exception:  # the heartbeat must outlive any one failure
                logger.exception("cluster heartbeat failed")

    def set_draining(self) -> None:
        self.entry = HostEntry(self.host_id, self.entry.url, self.entry.capacity, draining=True)

    # -- this host's sessions -------------------------------------------------

    async def confirm(self, info: SessionInfo, still_live: Callable[[], bool]) -> None:
        """A session placed here is running: its slot stays taken until it ends."""
        async with self._lock:
            if still_live():
                with contextlib.suppress(RegistryUnavailableError):
                    await self.registry.promote(info.session_id, self.host_id, info)

    def ended(self, record: SessionRecord) -> None:
        """A session here ended: free its slot (in order, after any confirmation)."""
        task = asyncio.get_running_loop().create_task(self._release(record.info()))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _release(self, info: SessionInfo) -> None:
        async with self._lock:
            with contextlib.suppress(RegistryUnavailableError):
                await self.registry.release(info.session_id, self.host_id, info, self._retention_ms)

    async def cancel(self, session_id: str, host_id: str) -> None:
        """A start placed on ``host_id`` failed: give its slot back."""
        with contextlib.suppress(RegistryUnavailableError):
            await self.registry.release(session_id, host_id, None, self._retention_ms)

    async def leave(self) -> None:
        """Stop beating and take this host out of the cluster at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.gather(*self._writes, return_exceptions=True)
        async with self._lock:
            with contextlib.suppress(RegistryUnavailableError):
                await self.registry.leave(self.host_id)
        logger.info(f"host {self.host_id} left the cluster")
