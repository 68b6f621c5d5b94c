"""``POST /start`` (and ``/connect``, realtime-ai 0.2's default path): start a bot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rtvi_server.server.auth import socket_token
from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of, ws_base
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import StartPayload, StartResponse, start_payload
from rtvi_server.sessions.api import FULL_ANSWER_HEADER, SESSION_ID_HEADER

DESCRIPTION = (
    "The meta config (`bot_profile`, `services`, `api_keys`, `config`, `max_duration`, "
    "`transport`). An empty body starts the default bot. Also accepted: `services` as an "
    'array of maps, and the modern runner\'s `{"transport": ..., "body": {...}}`. '
    "Every refusal names the field; no key is ever echoed. For `websocket` the answer is "
    "`{wsUrl, ws_url, token}` only (what `@pipecat-ai/websocket-transport` accepts); every "
    "answer names the session in the `X-Session-Id` header."
)


def start_router() -> APIRouter:
    router = APIRouter(tags=["start"])

    async def start(request: Request) -> JSONResponse:
        settings = settings_of(request)
        raw = await read_json(request, max_bytes=settings.max_body_bytes, empty={})
        answer = await backend_of(request).start(start_payload(raw))
        headers = {SESSION_ID_HEADER: answer.session_id}
        if request.headers.get(FULL_ANSWER_HEADER) == "1":
            full = answer.to_wire(ws_base(request)).model_dump(exclude_none=True)
            return JSONResponse(full, headers=headers)
        token = socket_token(settings.api_key, answer.session_id) if settings.api_key else None
        return JSONResponse(answer.client_body(ws_base(request), token), headers=headers)

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
