"""``rtvi-server serve --workers N``: sessions spread over worker processes.

Each worker is a full rtvi-server process on a private loopback port, with its
own event loop, its own batched VAD engine and its own models, so a machine's
cores are all used. The front process owns admission (a session goes to the
worker with the most room; the cap is the sum of the workers' caps, decided
with no ``await`` between the check and taking the slot) and forwards each
session's requests to the worker that runs it. WebRTC media flows between the
client and the worker directly (the worker's ICE candidates are in its answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from loguru import logger

from rtvi_server.server.settings import ServerSettings

_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}
_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (.+)$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Worker:
    index: int
    port: int
    capacity: int
    process: subprocess.Popen[bytes] | None = None
    active: int = 0  # last reported by the worker's /health
    starting: int = 0  # starts forwarded and not answered yet
    sessions: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def room(self) -> int:
        return self.capacity - self.active - self.starting


class WorkerPool:
    def __init__(self, settings: ServerSettings, count: int) -> None:
        per_worker = max(1, -(-settings.max_sessions // count))
        self.settings = settings
        self.workers = [Worker(i, _free_port(), per_worker) for i in range(count)]
        self.by_session: dict[str, Worker] = {}
        self.by_pc_id: dict[str, Worker] = {}
        self._poller: asyncio.Task[None] | None = None

    def spawn(self) -> None:
        s = self.settings
        for worker in self.workers:
            cmd = [
                sys.executable, "-m", "rtvi_server.cli", "serve", "--workers", "1",
                "--host", "127.0.0.1", "--port", str(worker.port),
                "--bots-dir", str(s.bots_dir), "--default-profile", s.default_profile,
                "--max-sessions", str(worker.capacity),
            ]  # fmt: skip
            # Workers offer the front's address as their ICE host candidate.
            env = {**os.environ, "RTVI_WORKER_INDEX": str(worker.index), "RTVI_ICE_HOST": s.host}
            if s.api_key:
                env["RTVI_SERVER_API_KEY"] = s.api_key
            worker.process = subprocess.Popen(cmd, env=env)

    async def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for worker in self.workers:
                while True:
                    try:
                        async with http.get(worker.url + "/health") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"worker {worker.index} did not start")
                    await asyncio.sleep(0.2)
        self._poller = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        """Keep each worker's active count fresh (sessions end on their own)."""
        async with aiohttp.ClientSession() as http:
            while True:
                for worker in self.workers:
                    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                        async with http.get(
                            worker.url + "/health", timeout=aiohttp.ClientTimeout(total=2)
                        ) as r:
                            worker.active = int((await r.json())["active_sessions"])
                await asyncio.sleep(0.5)

    def choose(self) -> Worker | None:
        """The worker with the most room, its slot taken at once (no await in between)."""
        best = max(self.workers, key=lambda w: w.room)
        if best.room <= 0:
            return None
        best.starting += 1
        return best

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            if worker.process is not None:
                try:
                    await asyncio.to_thread(worker.process.wait, 30)
                except subprocess.TimeoutExpired:
                    worker.process.kill()


def create_front_app(settings: ServerSettings, workers: int) -> FastAPI:
    settings.check()
    pool = WorkerPool(settings, workers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        pool.spawn()
        await pool.wait_ready()
        app.state.http = aiohttp.ClientSession()
        yield
        logger.info("draining workers")
        await app.state.http.close()
        await pool.stop()

    app = FastAPI(title="rtvi-server (front)", lifespan=lifespan)
    app.state.pool = pool

    async def forward(worker: Worker, request: Request, path: str | None = None) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        url = worker.url + (path or request.url.path)
        if request.url.query:
            url += "?" + request.url.query
        async with app.state.http.request(
            request.method, url, data=await request.body(), headers=headers
        ) as r:
            body = await r.read()
            out_headers = {k: v for k, v in r.headers.items() if k.lower() not in _HOP_HEADERS}
            return Response(body, status_code=r.status, headers=out_headers)

    async def start(request: Request) -> Response:
        worker = pool.choose()
        if worker is None:
            body = {"info": "the server is at its session limit"}
            body["detail"] = body["info"]
            return JSONResponse(body, status_code=429, headers={"Retry-After": "5"})
        try:
            response = await forward(worker, request)
        finally:
            worker.starting -= 1
        if response.status_code == 200:
            import json

            payload = json.loads(bytes(response.body))
            pool.by_session[payload["sessionId"]] = worker
            worker.active += 1
            # A ws_url, if any, already names the worker: sockets go to it directly.
            payload["worker"] = worker.index
            return JSONResponse(payload)
        return response

    app.add_api_route("/start", start, methods=["POST"])
    app.add_api_route("/connect", start, methods=["POST"])

    def worker_of(session_id: str) -> Worker | None:
        return pool.by_session.get(session_id)

    async def by_session(request: Request, session_id: str) -> Response:
        worker = worker_of(session_id)
        if worker is None:
            return JSONResponse({"info": f"no session {session_id}"}, status_code=404)
        response = await forward(worker, request)
        if request.url.path.endswith("/api/offer") and request.method == "POST":
            _remember_pc(response, worker)
        return response

    def _remember_pc(response: Response, worker: Worker) -> None:
        import json

        with contextlib.suppress(ValueError, KeyError):
            pool.by_pc_id[json.loads(bytes(response.body))["pc_id"]] = worker

    for method in ("GET", "DELETE"):
        app.add_api_route("/sessions/{session_id}", by_session, methods=[method])
    for method in ("POST", "PATCH"):
        app.add_api_route("/sessions/{session_id}/api/offer", by_session, methods=[method])

    @app.api_route("/api/offer", methods=["POST", "PATCH"])
    async def bare_offer(request: Request) -> Response:
        import json

        body = json.loads(await request.body() or b"{}")
        pc_id = body.get("pc_id") if isinstance(body, dict) else None
        if pc_id:
            worker = pool.by_pc_id.get(pc_id)
            if worker is None:
                return JSONResponse({"info": "unknown pc_id", "field": "pc_id"}, status_code=404)
            return await forward(worker, request)
        chosen = pool.choose()
        if chosen is None:
            return JSONResponse({"info": "at the session limit"}, status_code=429,
                                headers={"Retry-After": "5"})  # fmt: skip
        try:
            response = await forward(chosen, request)
        finally:
            chosen.starting -= 1
        _remember_pc(response, chosen)
        return response

    @app.get("/sessions")
    async def sessions() -> JSONResponse:
        merged: list[Any] = []
        for worker in pool.workers:
            async with app.state.http.get(worker.url + "/sessions", headers=_auth(settings)) as r:
                if r.status == 200:
                    for s in (await r.json())["sessions"]:
                        merged.append({**s, "worker": worker.index})
        return JSONResponse({"sessions": merged})

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(
            {
                "status": "ok",
                "workers": len(pool.workers),
                "active_sessions": sum(w.active for w in pool.workers),
                "max_sessions": sum(w.capacity for w in pool.workers),
            }
        )

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        texts = []
        for worker in pool.workers:
            async with app.state.http.get(worker.url + "/metrics") as r:
                texts.append(await r.text())
        return PlainTextResponse(merge_metrics(texts), media_type="text/plain; version=0.0.4")

    @app.api_route("/{path:path}", methods=["GET"], include_in_schema=False)
    async def static(request: Request, path: str) -> Response:
        # The page, its assets and the docs are the same on every worker.
        return await forward(pool.workers[0], request)

    return app


def _auth(settings: ServerSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}


def merge_metrics(texts: list[str]) -> str:
    """One exposition from several workers': each series gains a ``worker`` label, and
    every metric family stays one group (its HELP/TYPE once, then all workers' lines)."""
    families: dict[str, list[str]] = {}
    comments: dict[str, list[str]] = {}
    for index, text in enumerate(texts):
        family = ""
        for line in text.splitlines():
            if line.startswith("# TYPE ") or line.startswith("# HELP "):
                family = line.split()[2]
                if index == 0:
                    comments.setdefault(family, []).append(line)
                continue
            match = _METRIC_LINE.match(line)
            if match is None:
                continue
            name, labels, value = match.groups()
            inner = labels[1:-1] + "," if labels else ""
            families.setdefault(family, []).append(f'{name}{{{inner}worker="{index}"}} {value}')
    out = []
    for family in dict.fromkeys([*comments, *families]):
        out += comments.get(family, []) + families.get(family, [])
    return "\n".join(out) + "\n"
