"""Transport kinds as objects: what each checks, opens, answers and accepts.

A :class:`TransportKind` checks its part of a start request (pure), opens the
session's :class:`Link` (the client side: a peer connection, a socket to be, a
room) and the link says what ``/start`` answers and how a client connects.
Everything that differs between transports lives behind these two types, so the
session and the backend never ask which transport a session uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rtvi_server.processor import ListeningGate
from rtvi_server.protocol import JSONObject
from rtvi_server.sessions.api import (
    APIError,
    CandidatePatch,
    Offer,
    OfferAnswer,
    StartAnswer,
    TransportName,
)
from rtvi_server.sessions.start_request import StartRequest


class Link:
    """One session's connection to its client. Subclasses override what their
    transport offers; the rest is refused with a 409 naming ``transport``."""

    name: TransportName
    #: The bot runs as soon as the session is admitted (no client to wait for).
    runs_at_start = False

    @property
    def transport(self) -> Any:
        """The pipecat transport the bot's pipeline is built on."""
        raise NotImplementedError

    @property
    def connected(self) -> bool:
        """Whether a client has connected (ever): sessions nobody joins end."""
        raise NotImplementedError

    @property
    def pc_id(self) -> str | None:
        """The peer connection's id, for transports that have one."""
        return None

    def start_answer(self, session_id: str) -> StartAnswer:
        raise NotImplementedError

    def observers(self) -> Sequence[Any]:
        """pipecat observers the session adds to its bot's pipeline for this link."""
        return ()

    def hear_at_edge(self, gate: ListeningGate) -> bool:
        """Run ``gate``'s VAD on the user's audio before pipecat's input transport
        sees it (where this link can); True if it will."""
        return False

    def _unsupported(self, what: str) -> APIError:
        return APIError(409, f"this session does not use {what}", field="transport")

    async def offer(self, offer: Offer) -> OfferAnswer:
        raise self._unsupported("webrtc")

    async def add_candidates(self, patch: CandidatePatch) -> None:
        raise self._unsupported("webrtc")

    async def accept_socket(self, websocket: Any) -> None:
        raise self._unsupported("websocket")

    async def send(self, message: JSONObject) -> None:
        """Tell the client something outside the pipeline (the session's goodbye)."""
        raise NotImplementedError

    def is_alive(self) -> bool:
        """False once a client that was connected is gone."""
        raise NotImplementedError

    async def close(self) -> None:
        """Say goodbye at the transport level and release the connection."""
        raise NotImplementedError

    async def discard(self) -> None:
        """Release a link whose session never started (its bot failed to build)."""
        await self.close()


class TransportKind(Protocol):
    """A ``transport`` a start payload can name."""

    @property
    def name(self) -> TransportName: ...

    def check(self, request: StartRequest) -> None:
        """Refuse (``StartError``) what this transport cannot serve; pure."""

    async def open(self, request: StartRequest, session_id: str) -> Link:
        """The session's link, ready for its bot to be built on ``link.transport``."""
        ...
