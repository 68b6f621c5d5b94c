"""Sessions: admission, one owner per session, transports as objects, the backends' API."""

from rtvi_server.sessions.api import (
    APIError,
    CandidatePatch,
    ErrorBody,
    Health,
    Offer,
    OfferAnswer,
    SessionBackend,
    SessionInfo,
    SessionList,
    StartAnswer,
    StartPayload,
    StartResponse,
)
from rtvi_server.sessions.lifecycle import EndReason, SessionRecord, SessionState
from rtvi_server.sessions.local import LocalBackend, start_payload
from rtvi_server.sessions.manager import CapacityError, SessionManager, ShuttingDownError
from rtvi_server.sessions.session import Session
from rtvi_server.sessions.start_request import StartError

__all__ = [
    "APIError",
    "CandidatePatch",
    "CapacityError",
    "EndReason",
    "ErrorBody",
    "Health",
    "LocalBackend",
    "Offer",
    "OfferAnswer",
    "Session",
    "SessionBackend",
    "SessionInfo",
    "SessionList",
    "SessionManager",
    "SessionRecord",
    "SessionState",
    "ShuttingDownError",
    "StartAnswer",
    "StartError",
    "StartPayload",
    "StartResponse",
    "start_payload",
]
