"""Session states, end reasons and the record kept of a session (never any key)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from rtvi_server.sessions.api import SessionInfo


class SessionState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    ENDING = "ending"
    ENDED = "ended"


class EndReason(StrEnum):
    MAX_DURATION = "max_duration"
    IDLE = "idle"
    NEVER_CONNECTED = "never_connected"
    OFFER_FAILED = "offer_failed"
    CLIENT_GONE = "client_gone"
    DELETED = "deleted"
    DISCONNECT_BOT = "disconnect_bot"
    ERROR = "error"
    SHUTDOWN = "shutdown"
    WORKER_LOST = "worker_lost"
    HOST_LOST = "host_lost"


END_MESSAGES = {
    EndReason.MAX_DURATION: "The session reached its maximum duration.",
    EndReason.IDLE: "The session ended after a period without activity.",
    EndReason.NEVER_CONNECTED: "No client connected to the session in time.",
    EndReason.OFFER_FAILED: "The client's WebRTC offer could not be answered.",
    EndReason.CLIENT_GONE: "The client disconnected.",
    EndReason.DELETED: "The session was ended by the server.",
    EndReason.DISCONNECT_BOT: "The client asked the bot to disconnect.",
    EndReason.ERROR: "The bot stopped because of an error.",
    EndReason.SHUTDOWN: "The server is shutting down.",
    EndReason.WORKER_LOST: "The process that ran the session stopped.",
    EndReason.HOST_LOST: "The host that ran the session stopped answering.",
}


@dataclass(slots=True)
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

    def info(self) -> SessionInfo:
        return SessionInfo(
            session_id=self.id,
            state=self.state.value,
            profile=self.profile,
            services=dict(self.services),
            transport=self.transport,
            started=self.started,
            duration=round(self.duration, 3),
            max_duration=self.max_duration,
            ended=self.ended,
            end_reason=self.end_reason.value if self.end_reason is not None else None,
        )
