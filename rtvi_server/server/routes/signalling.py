"""SmallWebRTC signalling (offer, trickle ICE) and the ``websocket`` transport's socket."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse

from rtvi_server.server.auth import socket_ok
from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import CandidatePatch, Offer, OfferAnswer
from rtvi_server.sessions.api import Done
from rtvi_server.sessions.validation import parse_model

OFFER_ERRORS = (400, 401, 404, 409, 410, 413, 429)


async def _offer(request: Request) -> Offer:
    raw = await read_json(request, max_bytes=settings_of(request).max_body_bytes)
    return parse_model(Offer, raw)


async def _patch(request: Request) -> CandidatePatch:
    raw = await read_json(request, max_bytes=settings_of(request).max_body_bytes)
    return parse_model(CandidatePatch, raw)


def signalling_router() -> APIRouter:
    router = APIRouter(tags=["signalling"])
    offer_docs: dict[str, Any] = {
        "openapi_extra": body(Offer),
        "responses": answers(OfferAnswer, *OFFER_ERRORS),
    }
    patch_docs: dict[str, Any] = {
        "openapi_extra": body(CandidatePatch),
        "responses": answers(Done, 400, 404, 409),
    }

    @router.post("/sessions/{session_id}/api/offer", summary="SmallWebRTC offer", **offer_docs)
    async def session_offer(session_id: str, request: Request) -> JSONResponse:
        answer = await backend_of(request).offer(session_id, await _offer(request))
        return JSONResponse(answer.model_dump())

    @router.patch("/sessions/{session_id}/api/offer", summary="Trickle ICE", **patch_docs)
    async def session_patch(session_id: str, request: Request) -> JSONResponse:
        await backend_of(request).patch(session_id, await _patch(request))
        return JSONResponse(Done().model_dump())

    @router.post(
        "/api/offer", summary="SmallWebRTC offer; a first offer starts a bot", **offer_docs
    )
    async def bare_offer(request: Request) -> JSONResponse:
        answer = await backend_of(request).offer(None, await _offer(request))
        return JSONResponse(answer.model_dump())

    @router.patch("/api/offer", summary="Trickle ICE (by pc_id)", **patch_docs)
    async def bare_patch(request: Request) -> JSONResponse:
        await backend_of(request).patch(None, await _patch(request))
        return JSONResponse(Done().model_dump())

    return router


def socket_router() -> APIRouter:
    """The ``websocket`` transport (auth by header, or ``?token=`` for browsers: the
    server's key or the session's own socket token from ``/start``)."""
    router = APIRouter()

    @router.websocket("/sessions/{session_id}/ws")
    async def session_socket(websocket: WebSocket, session_id: str) -> None:
        api_key = settings_of(websocket).api_key
        token = websocket.query_params.get("token", "")
        if not socket_ok(api_key, session_id, websocket.headers, token):
            await websocket.close(code=4401)
            return
        await backend_of(websocket).websocket(session_id, websocket)

    return router
