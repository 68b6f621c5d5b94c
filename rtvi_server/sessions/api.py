"""The typed surface every session backend serves, and the error it refuses with.

The HTTP routes, the in-process backend and the worker/cluster backends all
speak these models: the routes validate request bodies with them (and the
OpenAPI document at ``/docs`` is generated from them), backends return them,
and processes exchange them as JSON. Every message in an :class:`APIError` is
text this project wrote; a dependency's exception text never goes into one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit

from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

TransportName = Literal["webrtc", "websocket", "daily", "twilio", "telnyx", "plivo", "text"]
TRANSPORT_NAMES: tuple[TransportName, ...] = (
    "webrtc",
    "websocket",
    "daily",
    "twilio",
    "telnyx",
    "plivo",
    "text",
)


class APIError(Exception):
    """A request refused with a status, a message we wrote, and the field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        error_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.error_id = error_id

    def body(self) -> dict[str, Any]:
        return ErrorBody(
            info=self.message, detail=self.message, field=self.field, error_id=self.error_id
        ).model_dump(exclude_none=True)

    @classmethod
    def from_body(
        cls, status: int, body: object, headers: Mapping[str, str] | None = None
    ) -> APIError:
        """The error another process answered (its body is one of ours)."""
        try:
            parsed = ErrorBody.model_validate(body) if isinstance(body, dict) else None
        except ValueError:  # not one of ours after all
            parsed = None
        message = parsed.info if parsed is not None else "the request failed"
        field = parsed.field if parsed is not None else None
        error_id = parsed.error_id if parsed is not None else None
        kept = {k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"}
        return cls(status, message, field=field, headers=kept, error_id=error_id)


_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
#: Sent by this project's own processes (a --workers front, another cluster host): the
#: answer to a start is then always the full :class:`StartResponse`.
FULL_ANSWER_HEADER = "X-RTVI-Full-Answer"
#: Every start answer names its session here too (the websocket answer's body cannot).
SESSION_ID_HEADER = "X-Session-Id"


def is_session_id(text: str) -> bool:
    """Whether ``text`` has the shape of the session ids this project makes."""
    return bool(_SESSION_ID.match(text))


def not_found(session_id: str) -> APIError:
    """404 for a session id (quoted only when it has the shape of one of ours)."""
    shown = f" {session_id}" if _SESSION_ID.match(session_id) else ""
    return APIError(404, f"no session{shown}", field="session_id")


def internal_error(message: str, where: str) -> APIError:
    """A 500 whose body carries an id the log line (with the details) also carries.

    Call it from an ``except`` block: the traceback goes to the log, never to
    the client.
    """
    error_id = uuid.uuid4().hex[:12]
    logger.exception(f"{where} [error_id={error_id}]")
    return APIError(500, message, error_id=error_id)


#: The operator's config routes under ``/sessions/{id}/``: RTVI request type -> (path,
#: whether the request body is the request's data).
OPERATOR_ROUTES: dict[str, tuple[str, bool]] = {
    "get-config": ("config", False),
    "describe-config": ("config/describe", False),
    "update-config": ("config", True),
    "describe-actions": ("actions", False),
    "action": ("action", True),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Model):
    """Every 4xx and 5xx body. ``info`` is what realtime-ai's ``StartBotError`` reads,
    ``detail`` what FastAPI clients read; ``field`` names what was refused."""

    info: str
    detail: str
    field: str | None = None
    error_id: str | None = Field(
        None, description="On a 500: the id the server's log carries with the details."
    )


class StartPayload(BaseModel):
    """The meta config a client starts a bot with (spec 9.2). Unknown keys are kept
    and handed to the bot as ``args.body``. Also accepted, and normalised to this
    before validation: an empty body, ``services`` as an array of maps (the seed's
    examples), and the modern runner's ``{"transport": ..., "body": {...}}``."""

    model_config = ConfigDict(strict=True, extra="allow")
    REFUSALS: ClassVar[dict[str, str]] = {
        "max_duration": "must be a positive number of seconds",
    }

    bot_profile: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A bot file in the bots directory, by name (default: the server's).",
    )
    transport: TransportName = Field("webrtc", description="How the client connects.")
    services: dict[str, str] | None = Field(
        None, description='Service name to provider name, e.g. {"llm": "together"}.'
    )
    api_keys: dict[str, str] | None = Field(
        None,
        description="Provider name to key. Used to build the services; never echoed or logged.",
        json_schema_extra={"writeOnly": True},
    )
    config: list[dict[str, Any]] | None = Field(
        None,
        description='The start-time config: [{"service": ..., "options": [{"name", "value"}]}].',
    )
    max_duration: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="Seconds before the session ends."
    )


class IceServerInfo(_Model):
    """A STUN or TURN server, as ``RTCIceServer`` spells it."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceConfig(_Model):
    """What ``@pipecat-ai/small-webrtc-transport`` reads from the ``/start`` answer."""

    iceServers: list[IceServerInfo]  # noqa: N815 (the client's spelling)


class StartAnswer(_Model):
    """What a backend answers a start with; the route turns it into a :class:`StartResponse`."""

    session_id: str
    transport: TransportName
    offer_path: str | None = None
    ws_path: str | None = None
    room_url: str | None = None
    token: str | None = None
    worker: int | None = None
    host: str | None = None
    ice_servers: list[IceServerInfo] | None = None

    def client_body(self, ws_base: str, socket_token: str | None) -> dict[str, Any]:
        """The answer a client reads. For ``websocket`` that is exactly the connection
        parameters ``@pipecat-ai/websocket-transport`` takes (it refuses any other
        key, so ``startBotAndConnect()`` works); the session id is in the URL's path
        and the :data:`SESSION_ID_HEADER` header."""
        wire = self.to_wire(ws_base)
        if self.transport != "websocket" or wire.ws_url is None:
            return wire.model_dump(exclude_none=True)
        socket = SocketStartResponse(wsUrl=wire.ws_url, ws_url=wire.ws_url, token=socket_token)
        return socket.model_dump(exclude_none=True)

    def to_wire(self, ws_base: str) -> StartResponse:
        """The answer as clients read it (both id spellings; an absolute ``ws_url``)."""
        ws_url = ws_base.rstrip("/") + self.ws_path if self.ws_path is not None else None
        return StartResponse(
            sessionId=self.session_id,
            session_id=self.session_id,
            transport=self.transport,
            offer_url=self.offer_path,
            ws_url=ws_url,
            wsUrl=ws_url,
            room_url=self.room_url,
            token=self.token,
            worker=self.worker,
            host=self.host,
            iceConfig=IceConfig(iceServers=self.ice_servers) if self.ice_servers else None,
        )


class SocketStartResponse(_Model):
    """``/start``'s answer for ``transport: "websocket"``: where to connect, and with
    auth on, a token for this session's socket alone (``?token=``)."""

    wsUrl: str  # noqa: N815 (the client's spelling)
    ws_url: str
    token: str | None = Field(
        None, description="With RTVI_SERVER_API_KEY set: this session's socket token."
    )


class StartResponse(_Model):
    """``/start``'s answer. Which connection fields are set depends on the transport:
    ``offer_url`` (webrtc), ``ws_url``/``wsUrl`` (websocket), ``room_url`` and
    ``token`` (daily)."""

    sessionId: str  # noqa: N815 (the clients' spelling)
    session_id: str
    transport: TransportName
    offer_url: str | None = Field(None, description="webrtc: where to POST the SDP offer.")
    ws_url: str | None = Field(None, description="websocket: where to connect.")
    wsUrl: str | None = Field(None, description="websocket: the same, as client-js reads it.")  # noqa: N815
    room_url: str | None = Field(None, description="daily: the room to join.")
    token: str | None = Field(None, description="daily: the client's meeting token.")
    worker: int | None = Field(None, description="With --workers: the worker that runs it.")
    host: str | None = Field(None, description="In cluster mode: the host that runs it.")
    iceConfig: IceConfig | None = Field(  # noqa: N815 (the client's spelling)
        None, description="webrtc, with RTVI_ICE_SERVERS set: the STUN/TURN servers to use."
    )

    def answer(self) -> StartAnswer:
        """The backend's answer again (a front reading a worker's response)."""
        ws_path = urlsplit(self.ws_url).path if self.ws_url else None
        return StartAnswer(
            session_id=self.session_id,
            transport=self.transport,
            offer_path=self.offer_url,
            ws_path=ws_path,
            room_url=self.room_url,
            token=self.token,
            worker=self.worker,
            host=self.host,
            ice_servers=self.iceConfig.iceServers if self.iceConfig else None,
        )


class SessionInfo(_Model):
    """What the sessions API shows of one session (never a key)."""

    session_id: str
    sessionId: str = ""  # noqa: N815 (the clients' spelling; always session_id)
    state: Literal["starting", "running", "ending", "ended"]
    profile: str
    services: dict[str, str]
    transport: str
    started: float
    duration: float
    max_duration: float
    ended: float | None = None
    end_reason: str | None = None
    worker: int | None = None
    host: str | None = None

    def model_post_init(self, _context: Any) -> None:
        self.sessionId = self.session_id

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SessionList(_Model):
    sessions: list[SessionInfo]


class Offer(BaseModel):
    """A SmallWebRTC offer (spec 12.3); ``pc_id`` and ``restart_pc`` on renegotiation."""

    model_config = ConfigDict(strict=True, extra="allow")

    sdp: str = Field(max_length=64 * 1024)
    type: Literal["offer"] = "offer"
    pc_id: str | None = Field(None, max_length=128)
    restart_pc: bool = False
    requestData: dict[str, Any] | None = Field(  # noqa: N815 (the client's spelling)
        None, description="With POST /api/offer alone: the start payload of a new session."
    )


class OfferAnswer(_Model):
    """The SDP answer; ``session_id`` says which session the peer belongs to."""

    sdp: str
    type: str
    pc_id: str
    session_id: str | None = None


class IceCandidate(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    candidate: str = Field("", max_length=1024)
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


class CandidatePatch(BaseModel):
    """Trickle ICE: candidates for an answered peer connection."""

    model_config = ConfigDict(strict=True, extra="allow")

    pc_id: str = Field(max_length=128)
    candidates: list[IceCandidate] = Field(default_factory=list, max_length=64)


class ConfigUpdate(BaseModel):
    """``POST /sessions/{id}/config``: what ``update-config`` carries."""

    model_config = ConfigDict(extra="allow")

    config: list[dict[str, Any]] = Field(
        description='[{"service": ..., "options": [{"name", "value"}]}], applied all or nothing.'
    )
    interrupt: bool = Field(False, description="Interrupt the bot first.")


class ActionCall(BaseModel):
    """``POST /sessions/{id}/action``: what ``action`` carries."""

    model_config = ConfigDict(extra="allow")

    service: str
    action: str
    arguments: list[dict[str, Any]] = Field(default_factory=list)


class HTTPActions(BaseModel):
    """``POST /action``: the client's ``requestData`` (the bot's start payload:
    ``bot_profile``, ``services``, ``config`` ...) with the action messages to run."""

    model_config = ConfigDict(extra="allow")

    actions: list[dict[str, Any]] = Field(
        description='[{"label": "rtvi-ai", "type": "action", "id": ..., "data": {...}}]'
    )


class RTVIReply(BaseModel):
    """The RTVI message the data channel would carry (``config``, ``action-response`` ...)."""

    model_config = ConfigDict(extra="allow")

    label: str = "rtvi-ai"
    type: str
    id: str | None = None
    data: Any = None


class Health(_Model):
    status: Literal["ok", "draining"]
    active_sessions: int
    max_sessions: int
    workers: int | None = None
    host: str | None = Field(default=None, description="In cluster mode: this host's id.")
    registry: Literal["connected", "unreachable"] | None = Field(
        default=None, description="In cluster mode: whether this host reaches the cluster's Redis."
    )

    @property
    def ready(self) -> bool:
        """Whether this process should be sent new sessions (readiness probes)."""
        full = self.active_sessions >= self.max_sessions
        return self.status == "ok" and not full and self.registry != "unreachable"


class Done(_Model):
    status: Literal["success"] = "success"


class SocketLike(Protocol):
    """What a backend needs of a client's WebSocket (starlette's, or a proxy)."""

    async def accept(self) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class SessionBackend(Protocol):
    """Where sessions live: this process, worker processes, or hosts of a cluster.

    The routes depend on this alone, so auth, validation, error bodies and 429s
    exist once whatever runs the sessions.
    """

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def drain(self, grace_secs: float) -> bool:
        """Take no new sessions; wait up to ``grace_secs`` for live ones to end.
        True if they all did (:meth:`shutdown` then ends the rest)."""
        ...

    async def start(self, payload: StartPayload) -> StartAnswer: ...

    async def get(self, session_id: str) -> SessionInfo: ...

    async def list(self) -> list[SessionInfo]: ...

    async def delete(self, session_id: str) -> SessionInfo: ...

    async def offer(self, session_id: str | None, offer: Offer) -> OfferAnswer: ...

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None: ...

    async def websocket(self, session_id: str, websocket: Any) -> None: ...

    async def rtvi_request(self, session_id: str, type_: str, data: Any) -> dict[str, Any]:
        """A config-surface request (``get-config``, ``update-config``, ``action`` ...)
        from the operator's backend: the RTVI reply the data channel would carry."""
        ...

    def health(self) -> Health: ...

    async def metrics_text(self) -> str: ...
