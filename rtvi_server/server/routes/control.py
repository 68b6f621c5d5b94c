"""The operator's control of a running session over HTTP: its config and actions.

For the operator's backend (a phone call has no data channel; any session can be
steered from outside): describe, read and update the config with the same checks
and all-or-nothing rule as ``update-config``, list and run actions. Each answers
the RTVI reply the data channel would carry; a refusal (an ``error-response``) is
a 400 naming the field, with that reply in ``rtvi``. Trusted as ``/start`` is:
options a client may not write, the operator may.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import APIError
from rtvi_server.sessions.api import ActionCall, ConfigUpdate, RTVIReply

ERRORS = (400, 401, 404, 409, 410)


async def _reply(request: Request, session_id: str, type_: str, field: str) -> JSONResponse:
    data: Any = {}
    if request.method == "POST":
        data = await read_json(request, max_bytes=settings_of(request).max_body_bytes)
    reply = await backend_of(request).rtvi_request(session_id, type_, data)
    if reply.get("type") == "error-response":
        text = str((reply.get("data") or {}).get("error", "refused"))
        error = APIError(400, text, field=field)
        return JSONResponse({**error.body(), "rtvi": reply}, status_code=400)
    return JSONResponse(reply)


def control_router() -> APIRouter:
    router = APIRouter(tags=["control"])
    docs: dict[str, Any] = {"responses": answers(RTVIReply, *ERRORS)}

    @router.get("/sessions/{session_id}/config", summary="The session's config", **docs)
    async def get_config(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, "get-config", "session_id")

    @router.get(
        "/sessions/{session_id}/config/describe", summary="The bot's services and options", **docs
    )
    async def describe_config(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, "describe-config", "session_id")

    @router.post(
        "/sessions/{session_id}/config",
        summary="Update the config (all or nothing), as update-config does",
        openapi_extra=body(ConfigUpdate),
        **docs,
    )
    async def update_config(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, "update-config", "config")

    @router.get("/sessions/{session_id}/actions", summary="The bot's actions", **docs)
    async def describe_actions(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, "describe-actions", "session_id")

    @router.post(
        "/sessions/{session_id}/action",
        summary="Run an action",
        openapi_extra=body(ActionCall),
        **docs,
    )
    async def run_action(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, "action", "action")

    return router
