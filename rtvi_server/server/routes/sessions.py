"""``GET /sessions``, ``GET`` and ``DELETE /sessions/{id}``: see and end sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rtvi_server.server.deps import backend_of
from rtvi_server.server.openapi import answers
from rtvi_server.sessions import APIError, SessionInfo, SessionList

STATES = ("starting", "running", "ending", "ended", "live")


def sessions_router() -> APIRouter:
    router = APIRouter(tags=["sessions"])

    @router.get(
        "/sessions",
        summary="All sessions (ended ones stay for the retention window)",
        description="`?state=` filters: starting, running, ending, ended, or live (not ended).",
        responses=answers(SessionList, 400, 401),
    )
    async def list_sessions(request: Request, state: str | None = None) -> JSONResponse:
        if state is not None and state not in STATES:
            raise APIError(400, f"state must be one of {', '.join(STATES)}", field="state")
        infos = await backend_of(request).list()
        if state == "live":
            infos = [i for i in infos if i.state != "ended"]
        elif state is not None:
            infos = [i for i in infos if i.state == state]
        return JSONResponse({"sessions": [i.to_wire() for i in infos]})

    @router.get(
        "/sessions/{session_id}", summary="One session", responses=answers(SessionInfo, 401, 404)
    )
    async def get_session(session_id: str, request: Request) -> JSONResponse:
        return JSONResponse((await backend_of(request).get(session_id)).to_wire())

    @router.delete(
        "/sessions/{session_id}", summary="End a session", responses=answers(SessionInfo, 401, 404)
    )
    async def delete_session(session_id: str, request: Request) -> JSONResponse:
        return JSONResponse((await backend_of(request).delete(session_id)).to_wire())

    return router
