"""What every route reads from the app: its backend and settings."""

from __future__ import annotations

from typing import cast

from fastapi import Request, WebSocket

from rtvi_server.sessions.api import SessionBackend
from rtvi_server.settings import ServerSettings


def backend_of(request: Request | WebSocket) -> SessionBackend:
    return cast(SessionBackend, request.app.state.backend)


def settings_of(request: Request | WebSocket) -> ServerSettings:
    return cast(ServerSettings, request.app.state.settings)


def ws_base(request: Request) -> str:
    """This server's address as a WebSocket URL (``ws://`` or ``wss://``)."""
    return str(request.base_url).replace("http", "ws", 1)
