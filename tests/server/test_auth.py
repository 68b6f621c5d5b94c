"""The bearer check that guards the API routes."""

import asyncio
import inspect

import pytest
from starlette.requests import Request

from rtvi_server.server.auth import require_bearer
from rtvi_server.sessions.api import APIError


def request(method: str = "POST", token: str | None = None) -> Request:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return Request({"type": "http", "method": method, "headers": headers, "path": "/start"})


def test_the_check_runs_on_the_event_loop():
    # FastAPI sends a plain function dependency to a worker thread on every request.
    assert inspect.iscoroutinefunction(require_bearer("k"))


def test_a_request_with_the_key_passes_and_one_without_it_is_refused():
    check = require_bearer("secret-key")
    asyncio.run(check(request(token="secret-key")))
    asyncio.run(check(request("OPTIONS")))  # a CORS preflight carries no key
    for token in (None, "wrong-key"):
        with pytest.raises(APIError):
            asyncio.run(check(request(token=token)))
