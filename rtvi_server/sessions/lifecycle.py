"""Session states, end reasons and the public view of a session (never any key)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SessionState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    ENDING = "ending"
    ENDED = "ended"


class EndReason(StrEnum):
    MAX_DURATION = "max_duration"
    IDLE = "idle"
    CLIENT_GONE = "client_gone"
    DELETED = "deleted"
    DISCONNECT_BOT = "disconnect_bot"
    ERROR = "error"
    SHUTDOWN = "shutdown"


END_MESSAGES = {
    EndReason.MAX_DURATION: "The session reached its maximum duration.",
    EndReason.IDLE: "The session ended after a period without activity.",
    EndReason.CLIENT_GONE: "The client disconnected.",
    EndReason.DELETED: "The session was ended by the server.",
    EndReason.DISCONNECT_BOT: "The client asked the bot to disconnect.",
    EndReason.ERROR: "The bot stopped because of an error.",
    EndReason.SHUTDOWN: "The server is shutting down.",
}


@dataclass
class SessionRecord:
    """What the sessions API shows about one session."""

    id: str
    profile: str
    services: dict[str, str]
    transport: str
    max_duration: float
    started: float = field(default_factory=time.time)
    state: SessionState = SessionState.STARTING
    ended: float | None = None
    end_reason: EndReason | None = None

    @property
    def duration(self) -> float:
        return (self.ended or time.time()) - self.started

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_id": self.id,
            "sessionId": self.id,
            "state": self.state.value,
            "profile": self.profile,
            "services": dict(self.services),
            "transport": self.transport,
            "started": self.started,
            "duration": round(self.duration, 3),
            "max_duration": self.max_duration,
        }
        if self.end_reason is not None:
            body["end_reason"] = self.end_reason.value
            body["ended"] = self.ended
        return body
