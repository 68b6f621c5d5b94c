"""``POST /action``: the seed's HTTP action endpoint (spec 9.3), for clients not connected.

The body is the client's ``requestData`` with ``"actions": [<action message>]``;
the actions run on a text-only instance of the bot that ``requestData`` names
(checked as a start payload is: it is one). The answer is one JSON RTVI message
when that is all there is (``action-response`` or ``error-response``, same
``id``), otherwise a ``text/event-stream`` whose ``data:`` lines are base64 JSON
RTVI messages: what the action caused (``bot-llm-text`` ...), its reply last.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from rtvi_server.server.bodies import read_json
from rtvi_server.server.deps import backend_of, settings_of
from rtvi_server.server.openapi import answers, body
from rtvi_server.sessions import start_payload
from rtvi_server.sessions.api import APIError, HTTPActions, RTVIReply
from rtvi_server.sessions.http_actions import run_actions

MAX_ACTIONS = 8
CLIENT_KEYS = ("actions", "rtvi_client_version")


def _actions(raw: object) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The action messages, and the rest of the body (the start payload)."""
    if not isinstance(raw, dict):
        raise APIError(400, "the body must be a JSON object", field="body")
    actions = raw.get("actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
        raise APIError(400, f"actions must be a list of 1 to {MAX_ACTIONS}", field="actions")
    for i, action in enumerate(actions):
        ok = isinstance(action, dict) and action.get("type") == "action"
        action_id = action.get("id") if isinstance(action, dict) else None
        if not ok or not isinstance(action_id, str) or not 0 < len(action_id) <= 128:
            raise APIError(
                400, "each action is an RTVI action message with an id", field=f"actions[{i}]"
            )
    payload = {k: v for k, v in raw.items() if k not in CLIENT_KEYS}
    labelled = [{**action, "label": "rtvi-ai"} for action in actions]  # RTVI's envelope
    return labelled, {**payload, "transport": "text"}


def sse_event(message: dict[str, Any]) -> bytes:
    """One event as the seed clients read it: ``data:`` and base64 of ASCII JSON."""
    encoded = base64.b64encode(json.dumps(message, ensure_ascii=True).encode()).decode()
    return f"data: {encoded}\n\n".encode()


async def _sse(
    first: Sequence[dict[str, Any]], rest: AsyncGenerator[dict[str, Any]]
) -> AsyncIterator[bytes]:
    for message in first:
        yield sse_event(message)
    async for message in rest:
        yield sse_event(message)


def action_router(paths: Sequence[str] = ("/action",)) -> APIRouter:
    router = APIRouter(tags=["actions"])

    async def action(request: Request) -> Response:
        settings = settings_of(request)
        raw = await read_json(request, max_bytes=settings.max_body_bytes, empty={})
        actions, payload = _actions(raw)
        stream = run_actions(backend_of(request), start_payload(payload), actions)
        first: list[dict[str, Any]] = []
        async for message in stream:  # two messages decide: one is JSON, more stream
            first.append(message)
            if len(first) == 2:
                break
        if len(first) < 2:
            await stream.aclose()
            if not first:
                raise APIError(503, "the bot answered nothing", field="actions")
            return JSONResponse(first[0])
        headers = {"Cache-Control": "no-cache"}
        return StreamingResponse(
            _sse(first, stream), media_type="text/event-stream", headers=headers
        )

    for path in paths:
        router.add_api_route(
            path,
            action,
            methods=["POST"],
            summary="Run actions on a text-only instance of a bot (seed HTTP actions)",
            openapi_extra=body(HTTPActions),
            responses={
                **answers(RTVIReply, 400, 401, 413, 429, 503),
                200: {
                    "description": "One RTVI message, or an event stream of base64 RTVI messages",
                    "content": {"application/json": {}, "text/event-stream": {}},
                },
            },
        )
    return router
