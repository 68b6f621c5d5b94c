"""The HTTP API: start a bot, signal its WebRTC peer, see and end sessions.

Routes (OpenAPI at ``/docs``):

- ``POST /start`` (and ``/connect``, realtime-ai 0.2's default path): the meta
  config; answers ``{"sessionId", "session_id", "offer_url", ...}``.
- ``POST|PATCH /sessions/{id}/api/offer``: SmallWebRTC offer and trickle ICE.
- ``POST|PATCH /api/offer``: the same, creating a default session on a first offer.
- ``GET /sessions``, ``GET|DELETE /sessions/{id}``, ``GET /health``, ``GET /metrics``.
"""

from __future__ import annotations

import hmac
import os
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from loguru import logger

from rtvi_server.bots import Bot, BotArgs, load_bot_file
from rtvi_server.memory_transport import MemoryTransport
from rtvi_server.server.metrics import ServerMetrics
from rtvi_server.server.settings import ServerSettings
from rtvi_server.server.start_payload import StartError, StartRequest, parse_start_payload
from rtvi_server.services import ServiceSetupError
from rtvi_server.sessions import (
    CapacityError,
    EndReason,
    Session,
    SessionLink,
    SessionManager,
    SessionRecord,
    ShuttingDownError,
    UnknownPeerError,
    WebRTCLink,
    WebSocketLink,
    configure_host_candidates,
)
from rtvi_server.sessions.daily import (
    DailyLink,
    DailySetupError,
    create_room,
    daily_api_key,
    daily_transport,
    require_daily_python,
)

JSONBody = dict[str, Any]
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class ServerState:
    """Everything the routes share; one per app."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.manager = SessionManager(max_sessions=settings.max_sessions, on_ended=self._ended)
        self.metrics = ServerMetrics(lambda: self.manager.active)
        self.by_pc_id: dict[str, Session] = {}
        # Sessions whose transport arrives later (websocket): how to build their bot then.
        self.late_bots: dict[str, Callable[[Any], Awaitable[Bot]]] = {}

    def _ended(self, session: Session) -> None:
        reason = session.record.end_reason or EndReason.ERROR
        self.metrics.ended[reason.value] += 1
        self.metrics.session_duration.observe(session.record.duration)
        if reason is EndReason.ERROR:
            self.metrics.errors += 1
        pc_id = getattr(session.link, "pc_id", None)
        if pc_id is not None:
            self.by_pc_id.pop(pc_id, None)

    async def start_session(self, payload: object) -> Session:
        """Validate, admit, build the bot; a failure at any step starts nothing."""
        settings = self.settings
        try:
            request = parse_start_payload(
                payload,
                bots_dir=settings.bots_dir,
                default_profile=settings.default_profile,
                default_max_duration=settings.default_max_duration,
                max_duration_cap=settings.max_duration_cap,
            )
            if request.transport == "daily":
                try:
                    daily_api_key(request.api_keys)
                    require_daily_python()
                except DailySetupError as exc:
                    raise StartError(str(exc), field=exc.field, status=exc.status) from exc
        except StartError:
            self.metrics.rejections["invalid"] += 1
            raise
        try:
            self.manager.reserve()  # no await between the check and taking the slot
        except CapacityError:
            self.metrics.rejections["capacity"] += 1
            raise
        try:
            session = await self._build(request)
        except BaseException:
            self.manager.release()
            self.metrics.rejections["invalid"] += 1
            raise
        self.manager.add(session)
        if isinstance(session.link, WebRTCLink):
            self.by_pc_id[session.link.pc_id] = session
        if isinstance(session.link, DailyLink):
            await session.start_bot()  # the bot joins the room now
        session.watch()
        self.metrics.starts += 1
        return session

    async def _build(self, request: StartRequest) -> Session:
        settings = self.settings
        session_id = uuid.uuid4().hex
        create_bot = load_bot_file(settings.bots_dir / f"{request.profile}.py")

        async def build(transport: Any) -> Bot:
            args = BotArgs(
                transport=transport,
                services=request.services,
                api_keys=request.api_keys,
                config=request.config,
                session_id=session_id,
                body=request.extra,
            )
            try:
                bot = await create_bot(args)
            except ServiceSetupError as exc:
                raise StartError(str(exc), field=exc.field) from exc
            problem = bot.rtvi.check_start_config()
            if problem is not None:
                raise StartError(str(problem), field=problem.path)
            return bot

        link: SessionLink
        if request.transport == "webrtc":
            link = WebRTCLink()
            bot: Bot | None = await build(link.transport)
        elif request.transport == "daily":
            await build(MemoryTransport())  # everything checked before a room exists
            try:
                room = await create_room(daily_api_key(request.api_keys), request.max_duration)
            except DailySetupError as exc:
                raise StartError(str(exc), field=exc.field, status=exc.status) from exc
            link = DailyLink(room, daily_transport(room))
            bot = await build(link.transport)
        else:
            # The socket comes later: check everything now on a stand-in transport,
            # build the real bot when the client connects.
            await build(MemoryTransport())
            link, bot = WebSocketLink(), None
            self.late_bots[session_id] = build
        record = SessionRecord(
            id=session_id,
            profile=request.profile,
            services=dict(request.services),
            transport=request.transport,
            max_duration=request.max_duration,
        )
        return Session(
            record,
            bot,
            link,
            idle_timeout_secs=settings.idle_timeout_secs,
            on_ended=self.manager.session_ended,
            on_latency=self.metrics.turn_latency.observe,
        )


def _error(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: JSONBody = {"info": message, "detail": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(settings: ServerSettings) -> FastAPI:
    settings.check()
    # Behind a multi-worker front, ICE offers the front's address (RTVI_ICE_HOST).
    configure_host_candidates(os.environ.get("RTVI_ICE_HOST") or settings.host)
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        logger.info("draining sessions")
        await state.manager.shutdown()

    app = FastAPI(
        title="rtvi-server",
        description="Start RTVI voice bots and connect to them over WebRTC.",
        lifespan=lifespan,
    )
    app.state.rtvi = state
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
    )

    open_paths = {"/", "/health", "/metrics", "/docs", "/openapi.json", "/docs/oauth2-redirect"}

    @app.middleware("http")
    async def authenticate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if (
            settings.api_key
            and request.method != "OPTIONS"
            and path not in open_paths
            and not path.startswith("/static/")
        ):
            given = request.headers.get("authorization", "")
            expected = f"Bearer {settings.api_key}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return _error(
                    401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
                )
        return await call_next(request)

    async def read_json(request: Request) -> object:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return await request.json()
        except ValueError as exc:
            raise StartError(f"the body is not valid JSON: {exc}", field="body") from exc

    async def start_from(payload: object) -> Session | JSONResponse:
        """Start a session, or the response that says why not (one mapping for all routes)."""
        try:
            return await state.start_session(payload)
        except StartError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        except CapacityError as exc:
            return _error(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
        except ShuttingDownError as exc:
            return _error(503, str(exc), headers={"Retry-After": "5"})
        except Exception:
            logger.exception("bot failed to start")
            return _error(500, "the bot failed to start")

    async def start(request: Request) -> JSONResponse:
        try:
            payload = await read_json(request)
        except StartError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        session = await start_from(payload)
        if isinstance(session, JSONResponse):
            return session
        sid = session.id
        body: JSONBody = {
            "sessionId": sid,
            "session_id": sid,
            "transport": session.record.transport,
        }
        if isinstance(session.link, DailyLink):
            body["room_url"] = session.link.room.url
            body["token"] = session.link.room.client_token
        elif isinstance(session.link, WebSocketLink):
            base = str(request.base_url).replace("http", "ws", 1).rstrip("/")
            body["ws_url"] = body["wsUrl"] = f"{base}/sessions/{sid}/ws"
        else:
            body["offer_url"] = f"/sessions/{sid}/api/offer"
        return JSONResponse(body)

    app.add_api_route("/start", start, methods=["POST"], summary="Start a bot session")
    app.add_api_route("/connect", start, methods=["POST"], summary="Start (realtime-ai 0.2 path)")

    def find(session_id: str) -> Session:
        session = state.manager.get(session_id)
        if session is None:
            raise HTTPException(404, f"no session {session_id}")
        return session

    async def answer_offer(session: Session, body: object) -> JSONResponse:
        if not isinstance(session.link, WebRTCLink):
            return _error(409, f"session {session.id} does not use webrtc", field="transport")
        if not isinstance(body, dict) or not isinstance(body.get("sdp"), str):
            return _error(400, "an offer needs 'sdp' and 'type'", field="sdp")
        if session.record.state.value in ("ending", "ended"):
            return _error(410, f"session {session.id} has ended")
        try:
            answer = await session.link.offer(
                body["sdp"],
                str(body.get("type", "offer")),
                body.get("pc_id"),
                bool(body.get("restart_pc", False)),
            )
        except UnknownPeerError:
            return _error(404, "unknown pc_id", field="pc_id")
        except Exception as exc:
            logger.warning(f"session {session.id}: offer failed: {exc!r}")
            return _error(400, f"the offer could not be answered: {exc}", field="sdp")
        state.by_pc_id[session.link.pc_id] = session
        await session.start_bot()
        return JSONResponse(answer)

    async def patch_candidates(session: Session | None, body: object) -> JSONResponse:
        if session is not None and not isinstance(session.link, WebRTCLink):
            return _error(409, f"session {session.id} does not use webrtc", field="transport")
        if not isinstance(body, dict) or not isinstance(body.get("pc_id"), str):
            return _error(400, "a candidate patch needs 'pc_id' and 'candidates'", field="pc_id")
        if session is None:
            session = state.by_pc_id.get(body["pc_id"])
        if session is None:
            return _error(404, "unknown pc_id", field="pc_id")
        if not isinstance(session.link, WebRTCLink):
            return _error(409, f"session {session.id} does not use webrtc", field="transport")
        candidates = body.get("candidates", [])
        if not isinstance(candidates, list):
            return _error(400, "candidates must be an array", field="candidates")
        try:
            await session.link.add_candidates(body["pc_id"], candidates)
        except UnknownPeerError:
            return _error(404, "unknown pc_id", field="pc_id")
        except (ValueError, AssertionError, IndexError) as exc:
            return _error(400, f"bad candidate: {exc}", field="candidates")
        return JSONResponse({"status": "success"})

    @app.post("/sessions/{session_id}/api/offer", summary="SmallWebRTC offer for a session")
    async def session_offer(session_id: str, request: Request) -> JSONResponse:
        return await answer_offer(find(session_id), await request.json())

    @app.patch("/sessions/{session_id}/api/offer", summary="Trickle ICE candidates")
    async def session_patch(session_id: str, request: Request) -> JSONResponse:
        return await patch_candidates(find(session_id), await request.json())

    @app.post("/api/offer", summary="SmallWebRTC offer; a first offer starts the default bot")
    async def bare_offer(request: Request) -> JSONResponse:
        body = await request.json()
        pc_id = body.get("pc_id") if isinstance(body, dict) else None
        session = state.by_pc_id.get(pc_id) if isinstance(pc_id, str) else None
        if session is None:
            if pc_id:
                return _error(404, "unknown pc_id", field="pc_id")
            request_data = body.get("requestData") if isinstance(body, dict) else None
            start_response = await start_from(
                request_data if isinstance(request_data, dict) else {}
            )
            if isinstance(start_response, JSONResponse):
                return start_response
            session = start_response
        return await answer_offer(session, body)

    @app.patch("/api/offer", summary="Trickle ICE candidates")
    async def bare_patch(request: Request) -> JSONResponse:
        return await patch_candidates(None, await request.json())

    @app.websocket("/sessions/{session_id}/ws")
    async def session_socket(websocket: WebSocket, session_id: str) -> None:
        """The ``websocket`` transport: protobuf frames (``?token=`` when auth is on)."""
        if settings.api_key:
            given = websocket.headers.get("authorization", "").removeprefix("Bearer ")
            given = given or websocket.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                await websocket.close(code=4401)
                return
        session = state.manager.get(session_id)
        build = state.late_bots.pop(session_id, None)
        if session is None or build is None or not isinstance(session.link, WebSocketLink):
            await websocket.close(code=4404)
            return
        await websocket.accept()
        transport = session.link.bind(websocket)
        try:
            session.attach(await build(transport))
            await session.start_bot()
        except Exception as exc:
            logger.exception(f"session {session_id}: bot failed to start")
            await session.end(EndReason.ERROR, detail=str(exc))
            return
        await session.wait_ended()

    @app.get("/sessions", summary="All sessions (ended ones stay for 15 minutes)")
    async def list_sessions() -> JSONBody:
        return {"sessions": [s.record.to_json() for s in state.manager.all()]}

    @app.get("/sessions/{session_id}", summary="One session")
    async def get_session(session_id: str) -> JSONBody:
        return find(session_id).record.to_json()

    @app.delete("/sessions/{session_id}", summary="End a session")
    async def delete_session(session_id: str) -> JSONBody:
        session = find(session_id)
        if session.record.end_reason is None:
            await session.end(EndReason.DELETED)
        return session.record.to_json()

    @app.get("/health", summary="Liveness and load")
    async def health() -> JSONBody:
        return {
            "status": "ok" if state.manager.admitting else "draining",
            "active_sessions": state.manager.active,
            "max_sessions": settings.max_sessions,
        }

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    async def web_page() -> Response:
        if not (WEB_DIR / "static" / "app.js").is_file():
            return HTMLResponse(
                "<p>The web client is not built: run <code>scripts/bootstrap</code> "
                "(needs Node.js) to build it into rtvi_server/web/static.</p>",
                status_code=503,
            )
        return FileResponse(WEB_DIR / "index.html")

    (WEB_DIR / "static").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.exception_handler(StartError)
    async def start_error(_request: Request, exc: StartError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    return app
