"""Session ownership: admission, lifecycle, timers, and the WebRTC link."""

from rtvi_server.sessions.lifecycle import EndReason, SessionRecord, SessionState
from rtvi_server.sessions.manager import CapacityError, SessionManager, ShuttingDownError
from rtvi_server.sessions.session import Session
from rtvi_server.sessions.webrtc import UnknownPeerError, WebRTCLink, configure_host_candidates

__all__ = [
    "CapacityError",
    "EndReason",
    "Session",
    "SessionManager",
    "SessionRecord",
    "SessionState",
    "ShuttingDownError",
    "UnknownPeerError",
    "WebRTCLink",
    "configure_host_candidates",
]
