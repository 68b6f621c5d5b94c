"""Messages a test client has received, and waiting for the one a test expects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class MessageLog:
    """An append-only list of RTVI messages that tests can wait on."""

    def __init__(
        self, messages: list[Message] | None = None, changed: asyncio.Event | None = None
    ) -> None:
        # Both may be shared with a producer that appends and signals on its own.
        self.messages: list[Message] = messages if messages is not None else []
        self.changed = changed or asyncio.Event()

    def add(self, message: Message) -> None:
        self.messages.append(message)
        self.changed.set()

    async def wait_for(self, match: Callable[[Message], bool], timeout: float = 30) -> Message:
        """The first message (already received or still to come) that ``match`` accepts."""

        async def poll() -> Message:
            while True:
                for message in self.messages:
                    if match(message):
                        return message
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(poll(), timeout)

    async def wait_for_event(
        self, type_: str, match: Callable[[Message], bool] | None = None, timeout: float = 30
    ) -> Message:
        return await self.wait_for(
            lambda m: m.get("type") == type_ and (match is None or match(m)), timeout
        )

    def events(self, type_: str) -> list[Message]:
        return [m for m in self.messages if m.get("type") == type_]

    def replies_to(self, request_id: str) -> list[Message]:
        return [m for m in self.messages if m.get("id") == request_id]


class ReceivesMessages:
    """Waiting on received messages, for test clients that keep a ``MessageLog``."""

    _log: MessageLog

    async def wait_for(self, match: Callable[[Message], bool], timeout: float = 30) -> Message:
        """The first message (already received or still to come) that ``match`` accepts."""
        return await self._log.wait_for(match, timeout)

    async def wait_for_event(
        self, type_: str, match: Callable[[Message], bool] | None = None, timeout: float = 30
    ) -> Message:
        return await self._log.wait_for_event(type_, match, timeout)

    def events(self, type_: str) -> list[Message]:
        return self._log.events(type_)

    def replies_to(self, request_id: str) -> list[Message]:
        """Every message carrying ``request_id`` (a request gets exactly one)."""
        return self._log.replies_to(request_id)
