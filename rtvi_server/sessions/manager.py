"""All sessions of a server: admission under a cap, lookup, and shutdown.

Admission is decided synchronously on the event loop (check and take a slot
with no ``await`` in between), so concurrent starts can never both take the
last slot. Ended sessions stay visible for ``retention_secs``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rtvi_server.sessions.lifecycle import EndReason, SessionState
from rtvi_server.sessions.session import Session


class CapacityError(RuntimeError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("the server is at its session limit")
        self.retry_after = retry_after


class ShuttingDownError(RuntimeError):
    pass


class SessionManager:
    def __init__(
        self,
        *,
        max_sessions: int,
        retention_secs: float = 900.0,
        on_ended: Callable[[Session], None] | None = None,
    ) -> None:
        self.max_sessions = max_sessions
        self.retention_secs = retention_secs
        self._sessions: dict[str, Session] = {}
        self._slots_taken = 0
        self._admitting = True
        self._on_ended = on_ended

    @property
    def active(self) -> int:
        """Slots in use: sessions starting, running or ending, and starts in progress."""
        return self._slots_taken

    @property
    def admitting(self) -> bool:
        return self._admitting

    def reserve(self) -> None:
        """Take a slot or refuse. Must be called with no ``await`` before acting on it."""
        if not self._admitting:
            raise ShuttingDownError("the server is shutting down")
        if self._slots_taken >= self.max_sessions:
            raise CapacityError(retry_after=5)
        self._slots_taken += 1

    def release(self) -> None:
        self._slots_taken = max(0, self._slots_taken - 1)

    def add(self, session: Session) -> None:
        self._purge()
        self._sessions[session.id] = session

    def session_ended(self, session: Session) -> None:
        self.release()
        if self._on_ended is not None:
            self._on_ended(session)

    def get(self, session_id: str) -> Session | None:
        self._purge()
        return self._sessions.get(session_id)

    def all(self) -> list[Session]:
        self._purge()
        return list(self._sessions.values())

    async def shutdown(self) -> None:
        """Stop admitting, then end every live session with ``shutdown``."""
        self._admitting = False
        live = [s for s in self._sessions.values() if s.record.state is not SessionState.ENDED]
        await asyncio.gather(*(s.end(EndReason.SHUTDOWN) for s in live), return_exceptions=True)

    def _purge(self) -> None:
        horizon = time.time() - self.retention_secs
        for sid in [
            sid
            for sid, s in self._sessions.items()
            if s.record.ended is not None and s.record.ended < horizon
        ]:
            del self._sessions[sid]
