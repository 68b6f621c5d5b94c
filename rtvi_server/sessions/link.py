"""What a session needs from the connection to its client, whatever the transport."""

from __future__ import annotations

from typing import Any, Protocol

from rtvi_server.protocol import JSONObject


class SessionLink(Protocol):
    """The client side of a session: its pipecat transport, a way to tell the
    client something outside the pipeline, liveness, and closing."""

    @property
    def transport(self) -> Any: ...

    async def send(self, message: JSONObject) -> None: ...

    def is_alive(self) -> bool: ...

    async def close(self) -> None: ...
