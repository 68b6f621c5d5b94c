"""Cluster mode (``RTVI_CLUSTER_URL``): many hosts, one service.

Every host runs its own sessions in process (a :class:`LocalBackend`) and
serves every route for every session of the cluster: admission is one atomic
step in Redis (:mod:`rtvi_server.cluster.registry`), which may place a session
on another host; a request for a session another host runs is forwarded there
with the sessions API's own typed messages (and a ``websocket`` session's
socket is relayed), so clients behind one load balancer need nothing new.
WebRTC media flows between the client and the host that runs the session.

When Redis is unreachable a host goes on serving the sessions it runs and
refuses new ones with 503; when it returns, the first heartbeat repairs the
registry from what each host really runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from loguru import logger

from rtvi_server.cluster.channel import PeerClient, UnreachableError
from rtvi_server.cluster.membership import Membership
from rtvi_server.cluster.registry import HostEntry, Registry, RegistryUnavailableError
from rtvi_server.cluster.relay import relay_socket
from rtvi_server.sessions.api import (
    OPERATOR_ROUTES,
    APIError,
    CandidatePatch,
    Health,
    Offer,
    OfferAnswer,
    SessionInfo,
    StartAnswer,
    StartPayload,
    is_session_id,
    not_found,
)
from rtvi_server.sessions.local import LocalBackend, start_payload
from rtvi_server.settings import ServerSettings

T = TypeVar("T")
#: The header a host presents on another host's cluster routes.
TOKEN_HEADER = "X-RTVI-Cluster-Token"
#: Tries to place one start: a host that stopped answering or began draining
#: since the last heartbeat refuses with 503, and the next try goes elsewhere.
PLACEMENT_TRIES = 3
HOST = "host {}"


class HostClient(PeerClient):
    """Another host of the cluster; what it answers names it."""

    def __init__(self, host_id: str, url: str, api_key: str | None, token: str) -> None:
        super().__init__(HOST.format(host_id), url, api_key, {TOKEN_HEADER: token})
        self.host_id = host_id

    def _mark(self, info: Any) -> Any:
        return info.model_copy(update={"host": self.host_id})


class ClusterBackend:
    def __init__(self, settings: ServerSettings) -> None:
        if not settings.cluster_url:
            raise ValueError("cluster mode needs RTVI_CLUSTER_URL")
        self.settings = settings
        self.local = LocalBackend(settings, ice_host=settings.ice_host)
        self.host_id = settings.host_id or uuid.uuid4().hex[:12]
        url = settings.public_url or f"http://{settings.host}:{settings.port}"
        self.registry = Registry(settings.cluster_url)
        self.membership = Membership(
            self.registry,
            HostEntry(self.host_id, url.rstrip("/"), settings.max_sessions, draining=False),
            live=self.local.live_infos,
            retention_secs=settings.retention_secs,
        )
        self.local.ended_listeners.append(self.membership.ended)
        self._peers: dict[tuple[str, str, str], HostClient] = {}
        self._draining = False

    # -- lifetime -----------------------------------------------------------

    async def startup(self) -> None:
        await self.local.startup()
        await self.membership.start()

    async def drain(self, grace_secs: float) -> bool:
        """No new session lands here; live ones get ``grace_secs`` to finish."""
        self._draining = True
        self.membership.set_draining()
        with contextlib.suppress(RegistryUnavailableError):
            await self.membership.beat()
        return await self.local.drain(grace_secs)

    async def shutdown(self) -> None:
        self._draining = True
        await self.local.shutdown()
        await self.membership.leave()
        for peer in self._peers.values():
            await peer.close()
        await self.registry.close()

    def token_ok(self, given: str) -> bool:
        """Whether a request on the cluster routes comes from a host of this cluster."""
        token = self.membership.token
        return bool(token and given) and hmac.compare_digest(given.encode(), str(token).encode())

    # -- placing sessions ---------------------------------------------------

    async def _peer(self, host_id: str, url: str) -> HostClient:
        token = self.membership.token
        if token is None:
            raise RegistryUnavailableError()
        key = (host_id, url, token)
        peer = self._peers.get(key)
        if peer is None:
            peer = HostClient(host_id, url, self.settings.api_key, token)
            await peer.open()
            self._peers[key] = peer
        return peer

    async def _placed(
        self,
        here: Callable[[str], Awaitable[T]],
        there: Callable[[HostClient, str], Awaitable[T]],
    ) -> T:
        """Admit a new session in Redis, then start it where it was placed."""
        if not self.membership.connected:
            raise RegistryUnavailableError()
        for attempt in range(1, PLACEMENT_TRIES + 1):
            session_id = uuid.uuid4().hex
            placement = await self.registry.admit(session_id)
            try:
                if placement.host_id == self.host_id:
                    return await here(session_id)
                peer = await self._peer(placement.host_id, placement.url)
                return await there(peer, session_id)
            except APIError as exc:
                await self.membership.cancel(session_id, placement.host_id)
                if exc.status != 503 or attempt == PLACEMENT_TRIES:
                    raise
                logger.info(f"host {placement.host_id} refused a placed start; placing again")
            except BaseException:
                await self.membership.cancel(session_id, placement.host_id)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _confirm(self, session_id: str) -> None:
        session = self.local.manager.get(session_id)
        if session is not None:
            await self.membership.confirm(
                session.record.info(), lambda: self.local.manager.get(session_id) is not None
            )

    async def start(self, payload: StartPayload) -> StartAnswer:
        self.local.check(payload)  # a bad payload is refused here, before any slot
        return await self._placed(
            lambda sid: self.start_placed(sid, payload),
            lambda peer, sid: peer.start(payload, path=f"/cluster/sessions/{sid}/start"),
        )

    async def start_placed(self, session_id: str, payload: StartPayload) -> StartAnswer:
        """Start a session the cluster admitted on this host (its slot already taken)."""
        _check_placed_id(session_id)
        answer = await self.local.start(payload, session_id=session_id)
        await self._confirm(session_id)
        return answer.model_copy(update={"host": self.host_id})

    async def offer_placed(self, session_id: str, offer: Offer) -> OfferAnswer:
        """``POST /api/offer`` with no session: start one here and answer its offer."""
        _check_placed_id(session_id)
        answer = await self.local.start_with_offer(offer, session_id=session_id)
        await self._confirm(session_id)
        await self._bind(answer)
        return answer

    async def _bind(self, answer: OfferAnswer) -> None:
        if answer.session_id is None:
            return
        session = self.local.manager.get(answer.session_id)
        ttl = session.record.max_duration if session is not None else 60.0
        with contextlib.suppress(RegistryUnavailableError):
            await self.registry.bind_peer(answer.pc_id, answer.session_id, ttl + 60)

    # -- routing ------------------------------------------------------------

    async def _where(self, session_id: str) -> HostClient | SessionInfo | None:
        """Who serves a session: this host (None), another host, or nobody any more
        (the ended session's info)."""
        if self.local.holds(session_id):
            return None
        where = await self.registry.locate(session_id)
        if where is None or where.host_id == self.host_id:
            raise not_found(session_id)
        if where.state == "lost" and where.info is not None:
            return where.info
        if where.url is None and where.state == "ended" and where.info is not None:
            return where.info  # its host has left; the registry keeps the record
        if where.url is None:
            if where.state == "live":  # its host stopped beating; soon reported lost
                raise UnreachableError(HOST.format(where.host_id))
            raise not_found(session_id)
        return await self._peer(where.host_id, where.url)

    def _here(self, info: SessionInfo) -> SessionInfo:
        return info.model_copy(update={"host": self.host_id})

    async def get(self, session_id: str) -> SessionInfo:
        where = await self._where(session_id)
        if where is None:
            return self._here(await self.local.get(session_id))
        if isinstance(where, SessionInfo):
            return where
        return await where.get(session_id)

    async def delete(self, session_id: str) -> SessionInfo:
        where = await self._where(session_id)
        if where is None:
            return self._here(await self.local.delete(session_id))
        if isinstance(where, SessionInfo):
            return where
        return await where.delete(session_id)

    async def _live_where(self, session_id: str) -> HostClient | None:
        where = await self._where(session_id)
        if isinstance(where, SessionInfo):
            raise APIError(410, f"session {session_id} has ended", field="session_id")
        return where

    async def _peer_owner(self, pc_id: str) -> str:
        owner = await self.registry.peer_session(pc_id)
        if owner is None:
            raise APIError(404, "unknown pc_id", field="pc_id")
        return owner

    async def offer(self, session_id: str | None, offer: Offer) -> OfferAnswer:
        if session_id is None:
            if not offer.pc_id:
                start_payload(offer.requestData or {})  # refused here, before any slot
                return await self._placed(
                    lambda sid: self.offer_placed(sid, offer),
                    lambda peer, sid: peer.offer(sid, offer, f"/cluster/sessions/{sid}/offer"),
                )
            if self.local.holds_peer(offer.pc_id):
                return await self.local.offer(None, offer)
            session_id = await self._peer_owner(offer.pc_id)
        where = await self._live_where(session_id)
        if where is not None:
            return await where.offer(session_id, offer)
        answer = await self.local.offer(session_id, offer)
        await self._bind(answer)
        return answer

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None:
        if session_id is None:
            if self.local.holds_peer(patch.pc_id):
                await self.local.patch(None, patch)
                return
            session_id = await self._peer_owner(patch.pc_id)
        where = await self._live_where(session_id)
        if where is None:
            await self.local.patch(session_id, patch)
        else:
            await where.patch(session_id, patch)

    async def rtvi_request(self, session_id: str, type_: str, data: Any) -> dict[str, Any]:
        where = await self._live_where(session_id)
        if where is None:
            return await self.local.rtvi_request(session_id, type_, data)
        path, with_body = OPERATOR_ROUTES[type_]
        return await where.rtvi_request(session_id, path, data if with_body else None)

    async def websocket(self, session_id: str, websocket: Any) -> None:
        try:
            where = await self._where(session_id)
        except APIError:
            await websocket.close(code=4404)
            return
        if where is None:
            await self.local.websocket(session_id, websocket)
        elif isinstance(where, SessionInfo):
            await websocket.close(code=4404)
        else:
            await relay_socket(websocket, where.http, where.socket_url(session_id))

    async def list_here(self) -> list[SessionInfo]:
        """This host's own sessions (live and ended)."""
        return [self._here(i) for i in await self.local.list()]

    async def list(self) -> list[SessionInfo]:
        """Every session of the cluster: this host's, each live host's, and those
        of hosts found lost."""
        listed = await self.list_here()
        if not self.membership.connected:
            return listed
        with contextlib.suppress(RegistryUnavailableError):
            hosts = [h for h in await self.registry.hosts() if h.host_id != self.host_id]
            peers = [await self._peer(h.host_id, h.url) for h in hosts]
            answers = await asyncio.gather(
                *(p.list(path="/cluster/sessions") for p in peers), return_exceptions=True
            )
            for answer in answers:
                if isinstance(answer, list):
                    listed += answer
            listed += await self.registry.lost_sessions()
        return listed

    # -- operations ---------------------------------------------------------

    def health(self) -> Health:
        local = self.local.health()
        return local.model_copy(
            update={
                "status": "draining" if self._draining else local.status,
                "host": self.host_id,
                "registry": "connected" if self.membership.connected else "unreachable",
            }
        )

    async def metrics_text(self) -> str:
        return await self.local.metrics_text()


def _check_placed_id(session_id: str) -> None:
    if not is_session_id(session_id):
        raise APIError(400, "a placed session id is 32 hex digits", field="session_id")
