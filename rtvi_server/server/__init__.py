"""The HTTP server: routers over a session backend, one auth check, one error body."""

from rtvi_server.server.app import create_app, create_backend, serve_app
from rtvi_server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app", "create_backend", "serve_app"]
