"""All sessions of a process: admission under a cap, lookup, the ended records, shutdown.

Admission is decided synchronously on the event loop (check and take a slot
with no ``await`` in between), so concurrent starts can never both take the
last slot. A live session is held here until it ends; then only its small
record is kept, in a store bounded by count and age, so a server that has run
a million sessions holds no more than it did after the first thousand.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

from rtvi_server.sessions.api import APIError
from rtvi_server.sessions.lifecycle import EndReason, SessionRecord
from rtvi_server.sessions.session import Session

RETRY_AFTER_SECS = 5


class CapacityError(APIError):
    def __init__(self, retry_after: int = RETRY_AFTER_SECS) -> None:
        super().__init__(
            429, "the server is at its session limit", headers={"Retry-After": str(retry_after)}
        )
        self.retry_after = retry_after


class ShuttingDownError(APIError):
    def __init__(self) -> None:
        super().__init__(
            503, "the server is shutting down", headers={"Retry-After": str(RETRY_AFTER_SECS)}
        )


class EndedRecords:
    """The records of ended sessions, newest last, at most ``max_count`` and
    ``max_age`` seconds old."""

    def __init__(
        self, *, max_count: int, max_age: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._records: OrderedDict[str, SessionRecord] = OrderedDict()
        self._max_count = max_count
        self._max_age = max_age
        self._clock = clock

    def __len__(self) -> int:
        self.purge()
        return len(self._records)

    def add(self, record: SessionRecord) -> None:
        self._records[record.id] = record
        self._records.move_to_end(record.id)
        self.purge()

    def get(self, session_id: str) -> SessionRecord | None:
        self.purge()
        return self._records.get(session_id)

    def all(self) -> list[SessionRecord]:
        self.purge()
        return list(self._records.values())

    def purge(self) -> None:
        horizon = self._clock() - self._max_age
        records = self._records
        while records:
            oldest = next(iter(records.values()))
            if len(records) <= self._max_count and (oldest.ended or 0) >= horizon:
                break
            records.popitem(last=False)


class SessionManager:
    def __init__(
        self,
        *,
        max_sessions: int,
        retention_secs: float = 900.0,
        max_records: int = 10_000,
        on_ended: Callable[[Session], None] | None = None,
    ) -> None:
        self.max_sessions = max_sessions
        self._live: dict[str, Session] = {}
        self._ended = EndedRecords(max_count=max_records, max_age=retention_secs)
        self._slots_taken = 0
        self._admitting = True
        self._on_ended = on_ended
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        """Slots in use: sessions starting, running or ending, and starts in progress."""
        return self._slots_taken

    @property
    def admitting(self) -> bool:
        return self._admitting

    @property
    def live_count(self) -> int:
        return len(self._live)

    @property
    def ended_count(self) -> int:
        return len(self._ended)

    def reserve(self) -> None:
        """Take a slot or refuse. Must be called with no ``await`` before acting on it."""
        if not self._admitting:
            raise ShuttingDownError()
        if self._slots_taken >= self.max_sessions:
            raise CapacityError()
        self._slots_taken += 1

    def release(self) -> None:
        self._slots_taken = max(0, self._slots_taken - 1)

    def add(self, session: Session) -> None:
        self._live[session.id] = session
        self._idle.clear()

    def session_ended(self, session: Session) -> None:
        """A session's end: its slot comes back and only its record stays."""
        self.release()
        self._live.pop(session.id, None)
        self._ended.add(session.record)
        if not self._live:
            self._idle.set()
        if self._on_ended is not None:
            self._on_ended(session)

    def get(self, session_id: str) -> Session | None:
        """A live session (starting, running or ending)."""
        return self._live.get(session_id)

    def record(self, session_id: str) -> SessionRecord | None:
        live = self._live.get(session_id)
        return live.record if live is not None else self._ended.get(session_id)

    def records(self) -> list[SessionRecord]:
        return [s.record for s in self._live.values()] + self._ended.all()

    def live(self) -> list[Session]:
        return list(self._live.values())

    def stop_admitting(self) -> None:
        """New starts are refused from now on (503); live sessions go on."""
        self._admitting = False

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every live session to end; True if they did."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def shutdown(self) -> None:
        """Stop admitting, then end every live session with ``shutdown``."""
        self._admitting = False
        live = list(self._live.values())
        await asyncio.gather(*(s.end(EndReason.SHUTDOWN) for s in live), return_exceptions=True)
