"""What an option or action handler may do with its session, and how it refuses.

Handlers are called with the session's RTVI processor; they need only this
much of it, so the modules that define standard handlers (``services``) do not
depend on the processor itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class RequestFailedError(Exception):
    """A request answered with ``error-response`` carrying this text.

    Raise it from a handler to refuse with a message meant for the client; any
    other exception a handler raises is answered with a generic message (the
    details go to the log), since a dependency's text is not for clients.
    """


class BotControl(Protocol):
    """The session as a handler sees it (the RTVI processor provides this)."""

    @property
    def applying_initial_config(self) -> bool:
        """True while the config is applied before the first ``bot-ready``."""
        ...

    def after_bot_ready(self, callback: Callable[[], Awaitable[None]]) -> None: ...

    async def push_frame(self, frame: Any, direction: Any = ...) -> None: ...

    async def interrupt_bot(self) -> None: ...
