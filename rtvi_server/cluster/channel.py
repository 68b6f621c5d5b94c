"""Typed clients for another rtvi-server process's API: a worker (over loopback
HTTP), or another host of a cluster; both with the server's key."""

from __future__ import annotations

from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from rtvi_server.cluster.proto import (
    CandidatePatch,
    Health,
    Offer,
    OfferAnswer,
    SessionInfo,
    SessionList,
    StartPayload,
    StartResponse,
)
from rtvi_server.sessions.api import FULL_ANSWER_HEADER, APIError, StartAnswer

Marked = TypeVar("Marked", SessionInfo, StartAnswer)

POLL_TIMEOUT = aiohttp.ClientTimeout(total=2)
CALL_TIMEOUT = aiohttp.ClientTimeout(total=60)


class UnreachableError(APIError):
    def __init__(self, name: str) -> None:
        super().__init__(503, f"{name} is not answering", headers={"Retry-After": "5"})


class PeerClient:
    """The sessions API of another process, answering in the API's own models.

    ``name`` is how errors call it ("worker 1", "host b2c4"); :meth:`_mark`
    stamps what it answers with where it came from.
    """

    def __init__(
        self, name: str, url: str, api_key: str | None, extra_headers: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.headers[FULL_ANSWER_HEADER] = "1"
        self.headers.update(extra_headers or {})
        self._http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._http = aiohttp.ClientSession(headers=self.headers)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None = None,
        timeout: aiohttp.ClientTimeout = CALL_TIMEOUT,
    ) -> Any:
        assert self._http is not None
        data = body.model_dump(exclude_none=True) if body is not None else None
        try:
            async with self._http.request(method, self.url + path, json=data, timeout=timeout) as r:
                reply = await r.json(content_type=None)
                if r.status >= 400:
                    raise APIError.from_body(r.status, reply, r.headers)
                return reply
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise UnreachableError(self.name) from None

    @staticmethod
    def _read(model: type[Any], reply: Any) -> Any:
        try:
            return model.model_validate(reply)
        except ValidationError:
            raise APIError(502, "another process answered something unreadable") from None

    async def start(self, payload: StartPayload, path: str = "/start") -> StartAnswer:
        response: StartResponse = self._read(StartResponse, await self._call("POST", path, payload))
        return self._mark(response.answer())

    async def get(self, session_id: str) -> SessionInfo:
        info: SessionInfo = self._read(
            SessionInfo, await self._call("GET", f"/sessions/{session_id}")
        )
        return self._mark(info)

    async def delete(self, session_id: str) -> SessionInfo:
        info: SessionInfo = self._read(
            SessionInfo, await self._call("DELETE", f"/sessions/{session_id}")
        )
        return self._mark(info)

    async def list(
        self,
        *,
        live: bool = False,
        timeout: aiohttp.ClientTimeout = CALL_TIMEOUT,
        path: str | None = None,
    ) -> list[SessionInfo]:
        path = path or ("/sessions?state=live" if live else "/sessions")
        listed = self._read(SessionList, await self._call("GET", path, timeout=timeout))
        return [self._mark(info) for info in listed.sessions]

    async def offer(
        self, session_id: str | None, offer: Offer, path: str | None = None
    ) -> OfferAnswer:
        path = path or (f"/sessions/{session_id}/api/offer" if session_id else "/api/offer")
        answer: OfferAnswer = self._read(OfferAnswer, await self._call("POST", path, offer))
        return answer

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None:
        path = f"/sessions/{session_id}/api/offer" if session_id else "/api/offer"
        await self._call("PATCH", path, patch)

    async def rtvi_request(self, session_id: str, path: str, body: Any) -> dict[str, Any]:
        """The operator's config routes of a session, on the process that runs it."""
        assert self._http is not None
        method = "GET" if body is None else "POST"
        try:
            async with self._http.request(
                method, self.url + f"/sessions/{session_id}/{path}", json=body, timeout=CALL_TIMEOUT
            ) as r:
                reply = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise UnreachableError(self.name) from None
        if r.status == 400 and isinstance(reply, dict) and isinstance(reply.get("rtvi"), dict):
            return dict(reply["rtvi"])  # the bot's refusal: the front answers it the same way
        if r.status >= 400:
            raise APIError.from_body(r.status, reply, r.headers)
        return dict(reply)

    async def health(self) -> Health:
        reply = await self._call("GET", "/health", timeout=POLL_TIMEOUT)
        health: Health = self._read(Health, reply)
        return health

    async def metrics(self) -> str:
        assert self._http is not None
        try:
            async with self._http.get(self.url + "/metrics", timeout=POLL_TIMEOUT) as r:
                return await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return ""

    def socket_url(self, session_id: str) -> str:
        return self.url.replace("http", "ws", 1) + f"/sessions/{session_id}/ws"

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    def _mark(self, info: Marked) -> Marked:
        return info


class WorkerClient(PeerClient):
    """One worker process of ``--workers``; what it answers names its index."""

    def __init__(self, index: int, url: str, api_key: str | None) -> None:
        super().__init__(f"worker {index}", url, api_key)
        self.index = index

    def _mark(self, info: Marked) -> Marked:
        return info.model_copy(update={"worker": self.index})
