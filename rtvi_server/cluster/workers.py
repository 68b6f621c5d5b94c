"""``rtvi-server serve --workers N``: sessions spread over worker processes.

Each worker is a full rtvi-server process on a private loopback port, with its
own event loop, batched VAD engine and models, so a machine's cores are all
used. The front process serves the same routes as a single process (the same
routers, auth and error bodies) over this backend, which owns admission (a
session goes to the worker with the most room; the cap is the sum of the
workers' caps, decided with no ``await`` between the check and taking the
slot) and forwards each request to the worker that runs the session. WebRTC
media flows between the client and the worker directly (the worker offers the
front's address as its ICE host candidate); a ``websocket`` session's socket
is relayed through the front.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from typing import Any

from loguru import logger

from rtvi_server.cluster.channel import POLL_TIMEOUT, WorkerClient
from rtvi_server.cluster.metrics import merge_metrics
from rtvi_server.cluster.proto import WorkerState
from rtvi_server.cluster.relay import relay_socket
from rtvi_server.sessions.api import (
    OPERATOR_ROUTES,
    APIError,
    CandidatePatch,
    Health,
    Offer,
    OfferAnswer,
    SessionInfo,
    StartAnswer,
    StartPayload,
    not_found,
)
from rtvi_server.sessions.lifecycle import EndReason, SessionRecord, SessionState
from rtvi_server.sessions.manager import CapacityError, EndedRecords, ShuttingDownError
from rtvi_server.settings import ServerSettings

POLL_INTERVAL_SECS = 0.5
READY_TIMEOUT_SECS = 120.0
STOP_TIMEOUT_SECS = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerBackend:
    def __init__(self, settings: ServerSettings, count: int) -> None:
        per_worker = max(1, -(-settings.max_sessions // count))
        self.settings = settings
        self.workers = [
            WorkerState(i, f"http://127.0.0.1:{_free_port()}", per_worker) for i in range(count)
        ]
        self._clients = [WorkerClient(w.index, w.url, settings.api_key) for w in self.workers]
        self._processes: list[subprocess.Popen[bytes]] = []
        self._owner: dict[str, tuple[int, float]] = {}  # live session -> (worker, since)
        self._pc: dict[str, str] = {}  # pc_id -> live session
        self._lost = EndedRecords(
            max_count=settings.max_ended_records, max_age=settings.retention_secs
        )
        self._poller: asyncio.Task[None] | None = None
        self._admitting = True

    # -- lifetime -----------------------------------------------------------

    def _spawn(self) -> None:
        s = self.settings
        for worker in self.workers:
            port = worker.url.rsplit(":", 1)[1]
            cmd = [
                sys.executable, "-m", "rtvi_server.cli", "serve", "--workers", "1",
                "--host", "127.0.0.1", "--port", port,
                "--bots-dir", str(s.bots_dir), "--default-profile", s.default_profile,
                "--max-sessions", str(worker.capacity),
            ]  # fmt: skip
            # Workers offer the front's address as their ICE host candidate.
            env = {**os.environ, "RTVI_WORKER_INDEX": str(worker.index), "RTVI_ICE_HOST": s.host}
            if s.api_key:
                env["RTVI_SERVER_API_KEY"] = s.api_key
            self._processes.append(subprocess.Popen(cmd, env=env))

    async def startup(self) -> None:
        for client in self._clients:
            await client.open()
        self._spawn()
        deadline = time.monotonic() + READY_TIMEOUT_SECS
        for worker, client in zip(self.workers, self._clients, strict=True):
            while not await self._ready(worker, client):
                if time.monotonic() > deadline or self._exited(worker):
                    raise RuntimeError(f"worker {worker.index} did not start")
                await asyncio.sleep(0.2)
        self._poller = asyncio.create_task(self._poll_forever(), name="poll-workers")

    async def _ready(self, worker: WorkerState, client: WorkerClient) -> bool:
        await self._poll_one(worker, client)
        return worker.up

    async def drain(self, grace_secs: float) -> bool:
        """Stop admitting; wait (as the polls see it) for the workers' sessions to end."""
        self._admitting = False
        deadline = time.monotonic() + grace_secs
        while any(w.active for w in self.workers if w.up):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_INTERVAL_SECS)
        return True

    async def shutdown(self) -> None:
        """Stop admitting; SIGTERM drains every worker (each tells its clients)."""
        self._admitting = False
        if self._poller is not None:
            self._poller.cancel()
        logger.info("draining workers")
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                process.kill()
        for client in self._clients:
            await client.close()

    # -- polling ------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            for worker, client in zip(self.workers, self._clients, strict=True):
                try:
                    await self._poll_one(worker, client)
                except Exception:  # the poller must outlive any one worker's trouble
                    logger.exception(f"polling worker {worker.index} failed")
            await asyncio.sleep(POLL_INTERVAL_SECS)

    def _exited(self, worker: WorkerState) -> bool:
        processes = self._processes
        return worker.index < len(processes) and processes[worker.index].poll() is not None

    async def _poll_one(self, worker: WorkerState, client: WorkerClient) -> None:
        asked_at = time.monotonic()
        if self._exited(worker):
            if worker.up or worker.live:
                self._worker_lost(worker)
            return
        try:
            health = await client.health()
            live = await client.list(live=True, timeout=POLL_TIMEOUT)
        except APIError:
            if worker.poll_failed():
                self._worker_lost(worker)
            return
        worker.polled(health, live)
        self._prune(worker, asked_at)

    def _prune(self, worker: WorkerState, asked_at: float) -> None:
        """Forget sessions of ``worker`` that were no longer live when it was asked."""
        for session_id, (index, since) in list(self._owner.items()):
            if index == worker.index and since < asked_at and session_id not in worker.live:
                self._forget(session_id)

    def _forget(self, session_id: str) -> None:
        self._owner.pop(session_id, None)
        for pc_id in [p for p, s in self._pc.items() if s == session_id]:
            del self._pc[pc_id]

    def _worker_lost(self, worker: WorkerState) -> None:
        """A worker stopped answering: its sessions are reported ended."""
        worker.up = False
        logger.error(f"worker {worker.index} is down; its {len(worker.live)} sessions ended")
        now = time.time()
        for info in worker.live.values():
            self._lost.add(_lost_record(info, now))
            self._forget(info.session_id)
        worker.live = {}
        worker.active = worker.starting = 0

    # -- admission and routing ----------------------------------------------

    def _choose(self) -> WorkerState:
        """The worker with the most room, its slot taken at once (no await in between)."""
        if not self._admitting:
            raise ShuttingDownError()
        best = max(self.workers, key=lambda w: w.room)
        if best.room <= 0:
            raise CapacityError()
        best.starting += 1
        return best

    async def _admitted(self, worker: WorkerState, call: Any) -> Any:
        try:
            return await call
        finally:
            worker.starting -= 1

    def _own(self, session_id: str, worker: int) -> None:
        self._owner[session_id] = (worker, time.monotonic())

    def _client_of(self, session_id: str) -> WorkerClient | None:
        owner = self._owner.get(session_id)
        return self._clients[owner[0]] if owner is not None else None

    async def start(self, payload: StartPayload) -> StartAnswer:
        worker = self._choose()
        answer: StartAnswer = await self._admitted(
            worker, self._clients[worker.index].start(payload)
        )
        await self._track(worker, answer.session_id)
        return answer

    async def _track(self, worker: WorkerState, session_id: str) -> None:
        """A session this front just placed: routed to its worker, and known in full,
        so that it is reported ended if the worker dies before the next poll."""
        self._own(session_id, worker.index)
        worker.active += 1
        with contextlib.suppress(APIError):
            worker.live[session_id] = await self._clients[worker.index].get(session_id)

    async def _find(self, session_id: str) -> tuple[WorkerClient | None, SessionInfo]:
        """Where a session is (live or ended), asking every worker if need be."""
        client = self._client_of(session_id)
        candidates = [client] if client is not None else self._up_clients()
        for candidate in candidates:
            try:
                return candidate, await candidate.get(session_id)
            except APIError as exc:
                if exc.status != 404:
                    raise
        record = self._lost.get(session_id)
        if record is None:
            raise not_found(session_id)
        return None, record.info()

    def _up_clients(self) -> list[WorkerClient]:
        return [c for c, w in zip(self._clients, self.workers, strict=True) if w.up]

    async def get(self, session_id: str) -> SessionInfo:
        return (await self._find(session_id))[1]

    async def list(self) -> list[SessionInfo]:
        listed: list[SessionInfo] = []
        for client in self._up_clients():
            with contextlib.suppress(APIError):
                listed += await client.list()
        return listed + [r.info() for r in self._lost.all()]

    async def delete(self, session_id: str) -> SessionInfo:
        client, info = await self._find(session_id)
        if client is None:
            return info
        deleted = await client.delete(session_id)
        self._forget(session_id)
        return deleted

    async def rtvi_request(self, session_id: str, type_: str, data: Any) -> dict[str, Any]:
        client, _ = await self._find(session_id)
        if client is None:
            raise APIError(410, f"session {session_id} has ended", field="session_id")
        path, with_body = OPERATOR_ROUTES[type_]
        return await client.rtvi_request(session_id, path, data if with_body else None)

    async def offer(self, session_id: str | None, offer: Offer) -> OfferAnswer:
        if session_id is not None:
            client, _ = await self._find(session_id)
            if client is None:
                raise APIError(410, f"session {session_id} has ended", field="session_id")
            answer = await client.offer(session_id, offer)
        elif offer.pc_id:
            owner = self._pc.get(offer.pc_id)
            client = self._client_of(owner) if owner is not None else None
            if client is None:
                raise APIError(404, "unknown pc_id", field="pc_id")
            answer = await client.offer(None, offer)
        else:  # a first bare offer starts a session on the worker chosen here
            worker = self._choose()
            client = self._clients[worker.index]
            answer = await self._admitted(worker, client.offer(None, offer))
            if answer.session_id is not None:
                await self._track(worker, answer.session_id)
        owned = session_id or answer.session_id
        if owned is not None:
            self._pc[answer.pc_id] = owned
            if owned not in self._owner:
                self._own(owned, client.index)
        return answer

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None:
        if session_id is None:
            owner = self._pc.get(patch.pc_id)
            client = self._client_of(owner) if owner is not None else None
            if client is None:
                raise APIError(404, "unknown pc_id", field="pc_id")
        else:
            client, _ = await self._find(session_id)
            if client is None:
                raise APIError(410, f"session {session_id} has ended", field="session_id")
        await client.patch(session_id, patch)

    async def websocket(self, session_id: str, websocket: Any) -> None:
        try:
            client, _ = await self._find(session_id)
        except APIError:
            client = None
        if client is None:
            await websocket.close(code=4404)
            return
        await relay_socket(websocket, client.http, client.socket_url(session_id))

    # -- operations ---------------------------------------------------------

    def health(self) -> Health:
        up = [w for w in self.workers if w.up]
        return Health(
            status="ok" if self._admitting and up else "draining",
            active_sessions=sum(w.active for w in up),
            max_sessions=sum(w.capacity for w in up),
            workers=len(up),
        )

    async def metrics_text(self) -> str:
        texts = await asyncio.gather(*(c.metrics() for c in self._clients))
        return merge_metrics(list(texts))


def _lost_record(info: SessionInfo, now: float) -> SessionRecord:
    return SessionRecord(
        id=info.session_id,
        profile=info.profile,
        services=dict(info.services),
        transport=info.transport,
        max_duration=info.max_duration,
        started=info.started,
        state=SessionState.ENDED,
        ended=now,
        end_reason=EndReason.WORKER_LOST,
    )
