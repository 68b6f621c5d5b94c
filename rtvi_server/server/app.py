"""The HTTP API: start a bot, signal its WebRTC peer, see and end sessions.

One set of routers over one :class:`~rtvi_server.sessions.api.SessionBackend`:
the in-process backend for a single process, the worker backend behind the
``--workers`` front door (and, later, backends across hosts). Auth, body
limits, error bodies and 429s therefore exist once (OpenAPI at ``/docs``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from rtvi_server.patches import self_check
from rtvi_server.server.auth import require_bearer
from rtvi_server.server.errors import install_error_handlers
from rtvi_server.server.openapi import document_models
from rtvi_server.server.routes.action import action_router
from rtvi_server.server.routes.calls import PlaceCall, PlacedCall, calls_router
from rtvi_server.server.routes.control import control_router
from rtvi_server.server.routes.ops import ops_router
from rtvi_server.server.routes.page import mount_static, page_router
from rtvi_server.server.routes.sessions import sessions_router
from rtvi_server.server.routes.signalling import signalling_router, socket_router
from rtvi_server.server.routes.start import start_router
from rtvi_server.server.routes.telephony import telephony_router
from rtvi_server.sessions import (
    CandidatePatch,
    ErrorBody,
    Health,
    LocalBackend,
    Offer,
    OfferAnswer,
    SessionBackend,
    SessionInfo,
    SessionList,
    StartPayload,
    StartResponse,
)
from rtvi_server.sessions.api import (
    ActionCall,
    ConfigUpdate,
    Done,
    HTTPActions,
    RTVIReply,
    SocketStartResponse,
)
from rtvi_server.sessions.telephony import check_numbers
from rtvi_server.settings import ServerSettings, SettingsError

DOCUMENTED = (
    StartPayload,
    StartResponse,
    SocketStartResponse,
    SessionInfo,
    SessionList,
    Offer,
    OfferAnswer,
    CandidatePatch,
    Done,
    Health,
    ErrorBody,
    ConfigUpdate,
    ActionCall,
    RTVIReply,
    HTTPActions,
    PlaceCall,
    PlacedCall,
)


def create_backend(settings: ServerSettings, workers: int = 1) -> SessionBackend:
    """Where the sessions of ``rtvi-server serve`` live: in this process, in
    ``workers`` worker processes, or on the hosts of a cluster (``RTVI_CLUSTER_URL``)."""
    if settings.cluster_url:
        if workers > 1:
            raise SettingsError(
                "cluster mode runs one process per host: drop --workers and run more hosts"
            )
        from rtvi_server.cluster.hosts import ClusterBackend

        return ClusterBackend(settings)
    if workers > 1:
        from rtvi_server.cluster import WorkerBackend

        return WorkerBackend(settings, workers)
    return LocalBackend(settings, ice_host=settings.ice_host)


def serve_app(settings: ServerSettings, workers: int = 1) -> FastAPI:
    """The app ``rtvi-server serve`` runs, with the routes its backend needs."""
    backend = create_backend(settings, workers)
    routers: list[APIRouter] = []
    if settings.cluster_url:
        from rtvi_server.server.routes.cluster import cluster_router

        routers.append(cluster_router())
    return create_app(settings, backend, routers)


def create_app(
    settings: ServerSettings,
    backend: SessionBackend | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The app serving ``backend`` (by default, sessions in this process)."""
    settings.check()
    check_numbers(settings.telephony.numbers)
    sessions: SessionBackend = backend or LocalBackend(settings, ice_host=settings.ice_host)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        self_check()
        await sessions.startup()
        yield
        await sessions.shutdown()

    app = FastAPI(
        title="rtvi-server",
        description="Start RTVI voice bots and connect to them over WebRTC or a WebSocket.",
        lifespan=lifespan,
    )
    app.state.backend = sessions
    app.state.settings = settings
    install_error_handlers(app)  # inside CORS, so error answers carry its headers too
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
    )

    guarded = [Depends(require_bearer(settings.api_key))]
    own = (
        start_router(),
        signalling_router(),
        sessions_router(),
        control_router(),
        calls_router(),
        action_router(),
    )
    for router in (*own, *routers):
        app.include_router(router, dependencies=guarded)
    app.include_router(socket_router())
    app.include_router(telephony_router())  # signed by the providers, not the bearer key
    app.include_router(ops_router())
    app.include_router(page_router())
    mount_static(app)
    document_models(app, DOCUMENTED)
    return app
