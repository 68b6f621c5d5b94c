"""The HTTP server: start endpoint, SmallWebRTC signalling, sessions API, metrics."""

from rtvi_server.server.app import create_app
from rtvi_server.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
