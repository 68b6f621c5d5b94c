"""The typed messages between a front process and the processes that run sessions.

Requests and answers are the session API's own models (``rtvi_server.sessions.api``:
:class:`StartPayload`, :class:`StartResponse`, :class:`SessionInfo`, :class:`Offer`,
:class:`OfferAnswer`, :class:`CandidatePatch`, :class:`Health`, :class:`ErrorBody`),
sent as the JSON a worker's routes read and write; this module adds what only
the front needs to know of each worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rtvi_server.sessions.api import (
    CandidatePatch,
    ErrorBody,
    Health,
    Offer,
    OfferAnswer,
    SessionInfo,
    SessionList,
    StartPayload,
    StartResponse,
)

__all__ = [
    "CandidatePatch",
    "ErrorBody",
    "Health",
    "Offer",
    "OfferAnswer",
    "SessionInfo",
    "SessionList",
    "StartPayload",
    "StartResponse",
    "WorkerState",
]

#: Polls a worker may miss before it is marked down and its sessions reported ended.
MISSED_POLLS_DOWN = 3


@dataclass
class WorkerState:
    """What the front knows of one worker, refreshed by polling it."""

    index: int
    url: str
    capacity: int
    up: bool = False
    active: int = 0  # the worker's own count (its /health), sessions and starts
    starting: int = 0  # starts forwarded to it and not answered yet
    missed_polls: int = 0
    live: dict[str, SessionInfo] = field(default_factory=dict)

    @property
    def room(self) -> int:
        return self.capacity - self.active - self.starting if self.up else 0

    def poll_failed(self) -> bool:
        """Count a missed poll; True when that makes the worker down."""
        self.missed_polls += 1
        if self.up and self.missed_polls >= MISSED_POLLS_DOWN:
            self.up = False
            return True
        return False

    def polled(self, health: Health, live: list[SessionInfo]) -> None:
        self.up = True
        self.missed_polls = 0
        self.active = health.active_sessions
        self.live = {info.session_id: info for info in live}
