"""The in-process session backend: sessions run in this process, on its event loop.

It is what a single ``rtvi-server serve`` runs, and what each worker process of
``--workers`` runs behind its front. Everything a route asks of sessions comes
here through the :class:`~rtvi_server.sessions.api.SessionBackend` methods.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from loguru import logger

from rtvi_server.sessions.api import (
    APIError,
    CandidatePatch,
    Health,
    Offer,
    OfferAnswer,
    SessionInfo,
    StartAnswer,
    StartPayload,
    internal_error,
    not_found,
)
from rtvi_server.sessions.bot_builder import build_bot
from rtvi_server.sessions.lifecycle import EndReason, SessionRecord
from rtvi_server.sessions.manager import CapacityError, SessionManager
from rtvi_server.sessions.metrics import ServerMetrics
from rtvi_server.sessions.reclaim import MemoryReclaimer
from rtvi_server.sessions.session import Session
from rtvi_server.sessions.stall_watch import LoopStallWatch
from rtvi_server.sessions.start_request import (
    StartError,
    StartLimits,
    StartRequest,
    normalize_start_body,
    start_request,
)
from rtvi_server.sessions.transports import (
    BadOfferError,
    Link,
    UnknownPeerError,
    host_addresses_for,
    transport_kinds,
)
from rtvi_server.sessions.validation import parse_model
from rtvi_server.settings import ServerSettings

START_FAILED = "the bot failed to start"


def start_payload(raw: object) -> StartPayload:
    """A start payload from a request body (accepted shapes normalised, then checked)."""
    return parse_model(StartPayload, normalize_start_body(raw))


def _stall_watch(stall_secs: float) -> LoopStallWatch | None:
    return LoopStallWatch(stall_secs) if stall_secs > 0 else None


class LocalBackend:
    def __init__(self, settings: ServerSettings, *, ice_host: str | None = None) -> None:
        self.settings = settings
        self.manager = SessionManager(
            max_sessions=settings.max_sessions,
            retention_secs=settings.retention_secs,
            max_records=settings.max_ended_records,
            on_ended=self._ended,
        )
        self.reclaimer = MemoryReclaimer()
        self.metrics = ServerMetrics(
            lambda: self.manager.active,
            capacity=settings.max_sessions,
            reclaims=lambda: self.reclaimer.runs,
            stall_watch=_stall_watch(settings.loop_stall_secs),
        )
        self._kinds = transport_kinds(
            host_addresses_for(ice_host or settings.host), settings.ice_servers, settings.telephony
        )
        self._limits = StartLimits(
            bots_dir=settings.bots_dir,
            default_profile=settings.default_profile,
            default_max_duration=settings.default_max_duration,
            max_duration_cap=settings.max_duration_cap,
        )
        self._by_pc_id: dict[str, str] = {}
        #: Called with each session's record when it ends (after its slot came back).
        self.ended_listeners: list[Callable[[SessionRecord], None]] = []

    # -- lifetime -----------------------------------------------------------

    async def startup(self) -> None:
        self.reclaimer.freeze_startup_heap()
        self.reclaimer.set_thresholds(self.settings.gc_thresholds)
        self.metrics.loop_lag.start()
        if self.metrics.stall_watch is not None:
            self.metrics.stall_watch.start()

    async def drain(self, grace_secs: float) -> bool:
        """Refuse new sessions, then let live ones finish for up to ``grace_secs``.

        True if every session ended within the grace period; :meth:`shutdown`
        ends the rest.
        """
        self.manager.stop_admitting()
        live = self.manager.live_count
        logger.info(f"draining: {live} live sessions get up to {grace_secs:g} s to finish")
        return await self.manager.wait_idle(grace_secs)

    def live_infos(self) -> list[SessionInfo]:
        """The sessions running here now (starting, running or ending)."""
        return [s.record.info() for s in self.manager.live()]

    def holds(self, session_id: str) -> bool:
        """Whether this process runs or ran the session (its record is still kept)."""
        return self.manager.record(session_id) is not None

    def holds_peer(self, pc_id: str) -> bool:
        return pc_id in self._by_pc_id

    async def shutdown(self) -> None:
        logger.info("ending live sessions")
        await self.manager.shutdown()
        self.reclaimer.close()
        self.metrics.loop_lag.stop()
        if self.metrics.stall_watch is not None:
            self.metrics.stall_watch.stop()

    def _ended(self, session: Session) -> None:
        record = session.record
        self.metrics.session_ended(record.end_reason or EndReason.ERROR, record.duration)
        for pc_id in [p for p, sid in self._by_pc_id.items() if sid == session.id]:
            del self._by_pc_id[pc_id]
        self.reclaimer.session_ended()
        for listener in self.ended_listeners:
            listener(record)

    # -- starting -----------------------------------------------------------

    def check(self, payload: StartPayload) -> StartRequest:
        """The start request a payload makes, or the 4xx that names what is wrong."""
        try:
            request = start_request(payload, self._limits)
            self._kinds[request.transport].check(request)
        except StartError:
            self.metrics.rejections["invalid"] += 1
            raise
        return request

    async def start(self, payload: StartPayload, *, session_id: str | None = None) -> StartAnswer:
        """Check, admit, open the link, build the bot; a failure starts nothing.

        ``session_id`` is given when a cluster placed the session here (the id
        it was admitted under); otherwise a new one is made.
        """
        request = self.check(payload)
        try:
            self.manager.reserve()  # no await between the check and taking the slot
        except CapacityError:
            self.metrics.rejections["capacity"] += 1
            raise
        try:
            session = await self._open(request, session_id or uuid.uuid4().hex)
        except BaseException as exc:
            self.manager.release()
            self.metrics.rejections["invalid" if isinstance(exc, APIError) else "error"] += 1
            if isinstance(exc, APIError | KeyboardInterrupt | SystemExit):
                raise
            raise internal_error(START_FAILED, f"bot {request.profile!r} failed to start") from exc
        self.manager.add(session)
        link = session.link
        if link.runs_at_start:
            await session.start_bot()
        session.watch()
        self.metrics.starts += 1
        return link.start_answer(session.id)

    async def _open(self, request: StartRequest, session_id: str) -> Session:
        link = await self._kinds[request.transport].open(request, session_id)
        try:
            bot = await build_bot(
                request, link.transport, session_id=session_id, bots_dir=self.settings.bots_dir
            )
        except BaseException:
            await link.discard()
            raise
        record = SessionRecord(
            id=session_id,
            profile=request.profile,
            services=dict(request.services),
            transport=request.transport,
            max_duration=request.max_duration,
        )
        return Session(
            record,
            link,
            bot,
            idle_timeout_secs=self.settings.idle_timeout_secs,
            connect_timeout_secs=self.settings.connect_timeout_secs,
            on_ended=self.manager.session_ended,
            on_latency=self.metrics.turn_latency.observe,
        )

    # -- the sessions API ---------------------------------------------------

    def _record(self, session_id: str) -> SessionRecord:
        record = self.manager.record(session_id)
        if record is None:
            raise not_found(session_id)
        return record

    def _live(self, session_id: str) -> Session:
        session = self.manager.get(session_id)
        if session is None:
            self._record(session_id)  # 404 if it never existed
            raise APIError(410, f"session {session_id} has ended", field="session_id")
        return session

    async def get(self, session_id: str) -> SessionInfo:
        return self._record(session_id).info()

    async def list(self) -> list[SessionInfo]:
        return [r.info() for r in self.manager.records()]

    async def delete(self, session_id: str) -> SessionInfo:
        session = self.manager.get(session_id)
        if session is not None:
            await session.end(EndReason.DELETED)
        return self._record(session_id).info()

    # -- signalling ---------------------------------------------------------

    def _by_pc(self, pc_id: str) -> str:
        session_id = self._by_pc_id.get(pc_id)
        if session_id is None:
            raise UnknownPeerError()
        return session_id

    async def offer(self, session_id: str | None, offer: Offer) -> OfferAnswer:
        """Answer an offer; with no session (``POST /api/offer``), a first offer
        starts one from its ``requestData``."""
        if session_id is None:
            if not offer.pc_id:
                return await self.start_with_offer(offer)
            session_id = self._by_pc(offer.pc_id)
        return await self._answer(session_id, offer)

    async def start_with_offer(self, offer: Offer, *, session_id: str | None = None) -> OfferAnswer:
        """``POST /api/offer`` with no session yet: start one from the offer's
        ``requestData``, then answer the offer."""
        payload = start_payload(offer.requestData or {})
        started = await self.start(payload, session_id=session_id)
        return await self._answer(started.session_id, offer)

    async def _answer(self, session_id: str, offer: Offer) -> OfferAnswer:
        session = self._live(session_id)
        link = session.link
        first = not link.connected
        try:
            answer = await link.offer(offer)
        except BadOfferError:
            if first:
                await session.end(EndReason.OFFER_FAILED)
            raise
        except APIError:
            raise
        except Exception as exc:  # what the client sent could not be negotiated
            logger.warning(f"session {session_id}: offer failed: {exc!r}")
            if first:
                await session.end(EndReason.OFFER_FAILED)
            raise BadOfferError() from None
        self._by_pc_id[answer.pc_id] = session_id
        await session.start_bot()
        return answer.model_copy(update={"session_id": session_id})

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None:
        session = self._live(session_id or self._by_pc(patch.pc_id))
        await session.link.add_candidates(patch)

    async def websocket(self, session_id: str, websocket: Any) -> None:
        """Serve a ``websocket`` session's socket until the session ends."""
        session = self.manager.get(session_id)
        if session is None:
            await websocket.close(code=4404)
            return
        link: Link = session.link
        try:
            await link.accept_socket(websocket)
        except APIError:
            with contextlib.suppress(RuntimeError):  # the link may have closed it already
                await websocket.close(code=4409)
            return
        await session.start_bot()
        await session.wait_ended()

    async def rtvi_request(self, session_id: str, type_: str, data: Any) -> dict[str, Any]:
        session = self._live(session_id)
        if session.bot is None:
            raise APIError(409, "the session's bot is not running", field="session_id")
        try:
            reply = await session.bot.rtvi.request_from_operator(type_, data)
        except LookupError:
            raise APIError(
                409,
                "the session's bot is not running yet (no client connected)",
                field="session_id",
            ) from None
        except TimeoutError:
            raise APIError(504, "the bot did not answer in time", field="session_id") from None
        return dict(reply)

    # -- operations ---------------------------------------------------------

    def health(self) -> Health:
        return Health(
            status="ok" if self.manager.admitting else "draining",
            active_sessions=self.manager.active,
            max_sessions=self.settings.max_sessions,
        )

    async def metrics_text(self) -> str:
        return self.metrics.render()
