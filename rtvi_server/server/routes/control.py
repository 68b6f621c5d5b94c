"""The operator's control of a running session over HTTP: its config and actions.

For the operator's backend (a phone call has no data channel; any session can be
steered from outside): describe, read and update the config with the same checks
and all-or-nothing rule as ``update-config``, list and run actions. Each answers
the RTVI reply the data channel would carry; a refusal (an ``error-response``) is
a 400 naming the field, with that reply in ``rtvi``. Trusted as ``/start`` is:
options a client may not write, the operator may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import APIError
from rtvi_server.sessions.api import OPERATOR_ROUTES, ActionCall, ConfigUpdate, RTVIReply

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


#: RTVI request type -> (summary, the field a refusal names, the request body's model).
ROUTES: dict[str, tuple[str, str, type[BaseModel] | None]] = {
    "get-config": ("The session's config", "session_id", None),
    "describe-config": ("The bot's services and options", "session_id", None),
    "update-config": (
        "Update the config (all or nothing), as update-config does",
        "config",
        ConfigUpdate,
    ),
    "describe-actions": ("The bot's actions", "session_id", None),
    "action": ("Run an action", "action", ActionCall),
}


def _route(type_: str, field: str) -> Callable[[str, Request], Awaitable[JSONResponse]]:
    async def serve(session_id: str, request: Request) -> JSONResponse:
        return await _reply(request, session_id, type_, field)

    return serve


def control_router() -> APIRouter:
    """One route per entry of :data:`OPERATOR_ROUTES` (the path and whether it has a body)."""
    router = APIRouter(tags=["control"])
    for type_, (path, with_body) in OPERATOR_ROUTES.items():
        summary, field, model = ROUTES[type_]
        router.add_api_route(
            f"/sessions/{{session_id}}/{path}",
            _route(type_, field),
            methods=["POST" if with_body else "GET"],
            summary=summary,
            responses=answers(RTVIReply, *ERRORS),
            openapi_extra=body(model) if model is not None else None,
        )
    return router
