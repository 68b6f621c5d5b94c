"""``GET /health`` (liveness and load), ``GET /ready`` (readiness: 503 when this
process is full, draining, or cut off from its cluster) and ``GET /metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from rtvi_server.server.deps import backend_of
from rtvi_server.server.openapi import answers
from rtvi_server.sessions import Health


def ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="Liveness and load", responses=answers(Health))
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(backend_of(request).health().model_dump(exclude_none=True))

    @router.get(
        "/ready",
        summary="Readiness: 200 while this process takes new sessions, else 503",
        responses=answers(Health, 503),
    )
    async def ready(request: Request) -> JSONResponse:
        health = backend_of(request).health()
        status = 200 if health.ready else 503
        return JSONResponse(health.model_dump(exclude_none=True), status_code=status)

    @router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics(request: Request) -> PlainTextResponse:
        text = await backend_of(request).metrics_text()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return router
