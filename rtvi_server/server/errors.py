"""Every error a route answers has an :class:`~rtvi_server.sessions.api.ErrorBody`.

Refusals carry the message and field their code wrote (:class:`APIError`);
FastAPI's own refusals (a path that does not exist, a method not served) get
the same body; anything unexpected answers a generic 500 whose ``error_id`` the
log line with the traceback also carries, never the exception's text.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rtvi_server.sessions.api import APIError, internal_error
from rtvi_server.sessions.validation import field_path

_STATUS_TEXT = {
    401: "missing or wrong bearer token",
    404: "no such route",
    405: "method not allowed on this route",
    413: "the body is too large",
}


def error_response(error: APIError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    return error_response(exc)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = _STATUS_TEXT.get(exc.status_code, "the request was refused")
    field = {401: "authorization", 404: "path", 405: "method", 413: "body"}.get(exc.status_code)
    return error_response(APIError(exc.status_code, message, field=field, headers=exc.headers))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    loc = tuple(errors[0].get("loc", ())) if errors else ()
    where = field_path(tuple(p for p in loc if p not in ("path", "query", "body")))
    return error_response(APIError(400, f"{where} is not valid", field=where))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(UnexpectedErrorMiddleware)


class UnexpectedErrorMiddleware:
    """A bug in a route answers 500 with an error id, and nothing else leaks.

    (Starlette's own server-error handler re-raises after answering, which puts
    a second traceback in the log and can reset the connection.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            error = internal_error("internal error", f"{scope.get('method')} {scope.get('path')}")
            if started:
                return
            response = error_response(error)
            await response(scope, receive, send)
