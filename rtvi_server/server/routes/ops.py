"""``GET /health`` (liveness and load) and ``GET /metrics`` (Prometheus text)."""

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

    @router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    async def metrics(request: Request) -> PlainTextResponse:
        text = await backend_of(request).metrics_text()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return router
