"""Session ownership: admission, lifecycle, timers, and the WebRTC link."""

from rtvi_server.sessions.lifecycle import EndReason, SessionRecord, SessionState
from rtvi_server.sessions.link import SessionLink
from rtvi_server.sessions.manager import CapacityError, SessionManager, ShuttingDownError
from rtvi_server.sessions.session import Session
from rtvi_server.sessions.webrtc import UnknownPeerError, WebRTCLink, configure_host_candidates
from rtvi_server.sessions.websocket import WebSocketLink

__all__ = [
    "CapacityError",
    "EndReason",
    "Session",
    "SessionLink",
    "SessionManager",
    "SessionRecord",
    "SessionState",
    "ShuttingDownError",
    "UnknownPeerError",
    "WebRTCLink",
    "WebSocketLink",
    "configure_host_candidates",
]
