"""The routes hosts of a cluster call on each other (never a client).

A host that admitted a session in Redis for another host starts it there
through these; ``GET /cluster/sessions`` lists one host's own sessions for
the cluster-wide list. Each request carries the cluster's token (kept in
Redis) besides the server's bearer key; they are left out of ``/docs``.
"""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rtvi_server.cluster.hosts import TOKEN_HEADER, ClusterBackend
from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of, ws_base
from rtvi_server.sessions import APIError, Offer, StartPayload
from rtvi_server.sessions.validation import parse_model


def _cluster_of(request: Request) -> ClusterBackend:
    backend = cast(ClusterBackend, backend_of(request))
    if not backend.token_ok(request.headers.get(TOKEN_HEADER, "")):
        raise APIError(403, "not a host of this cluster", field=TOKEN_HEADER.lower())
    return backend


def cluster_router() -> APIRouter:
    router = APIRouter(prefix="/cluster", include_in_schema=False)

    @router.post("/sessions/{session_id}/start")
    async def start_placed(session_id: str, request: Request) -> JSONResponse:
        backend = _cluster_of(request)
        raw = await read_json(request, max_bytes=settings_of(request).max_body_bytes)
        answer = await backend.start_placed(session_id, parse_model(StartPayload, raw))
        return JSONResponse(answer.to_wire(ws_base(request)).model_dump(exclude_none=True))

    @router.post("/sessions/{session_id}/offer")
    async def offer_placed(session_id: str, request: Request) -> JSONResponse:
        backend = _cluster_of(request)
        raw = await read_json(request, max_bytes=settings_of(request).max_body_bytes)
        answer = await backend.offer_placed(session_id, parse_model(Offer, raw))
        return JSONResponse(answer.model_dump())

    @router.get("/sessions")
    async def sessions_here(request: Request) -> JSONResponse:
        infos = await _cluster_of(request).list_here()
        return JSONResponse({"sessions": [i.to_wire() for i in infos]})

    return router
