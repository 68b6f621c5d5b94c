"""``POST /start`` (and ``/connect``, realtime-ai 0.2's default path): start a bot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of, ws_base
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import StartPayload, StartResponse, start_payload

DESCRIPTION = (
    "The meta config (`bot_profile`, `services`, `api_keys`, `config`, `max_duration`, "
    "`transport`). An empty body starts the default bot. Also accepted: `services` as an "
    'array of maps, and the modern runner\'s `{"transport": ..., "body": {...}}`. '
    "Every refusal names the field; no key is ever echoed."
)


def start_router() -> APIRouter:
    router = APIRouter(tags=["start"])

    async def start(request: Request) -> JSONResponse:
        raw = await read_json(request, max_bytes=settings_of(request).max_body_bytes, empty={})
        answer = await backend_of(request).start(start_payload(raw))
        return JSONResponse(answer.to_wire(ws_base(request)).model_dump(exclude_none=True))

    docs: dict[str, Any] = {
        "description": DESCRIPTION,
        "openapi_extra": body(StartPayload, required=False),
        "responses": answers(StartResponse, 400, 401, 413, 429, 500, 501, 502, 503),
    }
    router.add_api_route("/start", start, methods=["POST"], summary="Start a bot", **docs)
    router.add_api_route(
        "/connect", start, methods=["POST"], summary="Start a bot (realtime-ai 0.2 path)", **docs
    )
    return router
