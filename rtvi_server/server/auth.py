"""Who may call a route: one check, used by every router and by the socket route.

With ``RTVI_SERVER_API_KEY`` set, every route but the open ones (health,
metrics, the docs, the web page) needs ``Authorization: Bearer <key>``; a
WebSocket may also carry the key as ``?token=`` (browsers cannot set headers
on a WebSocket).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request

from rtvi_server.sessions.api import APIError

UNAUTHORIZED = "missing or wrong bearer token"


def unauthorized() -> APIError:
    return APIError(
        401, UNAUTHORIZED, field="authorization", headers={"WWW-Authenticate": "Bearer"}
    )


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_ok(api_key: str | None, headers: Mapping[str, str], token: str = "") -> bool:
    """Whether a request with these headers (and query ``token``) may pass."""
    if not api_key:
        return True
    given = headers.get("authorization", "")
    if given.startswith("Bearer ") and _matches(given.removeprefix("Bearer "), api_key):
        return True
    return bool(token) and _matches(token, api_key)


def socket_token(api_key: str, session_id: str) -> str:
    """A token that opens one session's socket and nothing else.

    Derived from the server's key, so every process holding the key (workers,
    cluster hosts) checks it without sharing any state, and the key itself
    never reaches a client.
    """
    digest = hmac.new(api_key.encode(), f"socket:{session_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def socket_ok(api_key: str | None, session_id: str, headers: Mapping[str, str], token: str) -> bool:
    """Whether a WebSocket may open ``session_id``'s socket: the server's bearer key
    (header or ``?token=``), or the session's own :func:`socket_token`."""
    if bearer_ok(api_key, headers, token):
        return True
    return bool(api_key and token) and _matches(token, socket_token(str(api_key), session_id))


def require_bearer(api_key: str | None) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency refusing requests without the server's key.

    A coroutine: FastAPI runs a plain function dependency on a worker thread,
    which for a check this small costs more than the check itself."""

    async def check(request: Request) -> None:
        if request.method != "OPTIONS" and not bearer_ok(api_key, request.headers):
            raise unauthorized()

    return check
