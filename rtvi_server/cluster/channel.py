"""A typed client for one worker's API (over loopback HTTP, with the server's key)."""

from __future__ import annotations

from typing import Any

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
from rtvi_server.sessions.api import APIError, StartAnswer

POLL_TIMEOUT = aiohttp.ClientTimeout(total=2)
CALL_TIMEOUT = aiohttp.ClientTimeout(total=60)


class WorkerUnreachableError(APIError):
    def __init__(self, index: int) -> None:
        super().__init__(503, f"worker {index} is not answering", headers={"Retry-After": "5"})


class WorkerClient:
    def __init__(self, index: int, url: str, api_key: str | None) -> None:
        self.index = index
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
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
            raise WorkerUnreachableError(self.index) from None

    @staticmethod
    def _read(model: type[Any], reply: Any) -> Any:
        try:
            return model.model_validate(reply)
        except ValidationError:
            raise APIError(502, "a worker answered something unreadable") from None

    async def start(self, payload: StartPayload) -> StartAnswer:
        response: StartResponse = self._read(
            StartResponse, await self._call("POST", "/start", payload)
        )
        return response.answer().model_copy(update={"worker": self.index})

    async def get(self, session_id: str) -> SessionInfo:
        return self._mark(
            self._read(SessionInfo, await self._call("GET", f"/sessions/{session_id}"))
        )

    async def delete(self, session_id: str) -> SessionInfo:
        info = self._read(SessionInfo, await self._call("DELETE", f"/sessions/{session_id}"))
        return self._mark(info)

    async def list(
        self, *, live: bool = False, timeout: aiohttp.ClientTimeout = CALL_TIMEOUT
    ) -> list[SessionInfo]:
        path = "/sessions?state=live" if live else "/sessions"
        listed = self._read(SessionList, await self._call("GET", path, timeout=timeout))
        return [self._mark(info) for info in listed.sessions]

    async def offer(self, session_id: str | None, offer: Offer) -> OfferAnswer:
        path = f"/sessions/{session_id}/api/offer" if session_id else "/api/offer"
        answer: OfferAnswer = self._read(OfferAnswer, await self._call("POST", path, offer))
        return answer

    async def patch(self, session_id: str | None, patch: CandidatePatch) -> None:
        path = f"/sessions/{session_id}/api/offer" if session_id else "/api/offer"
        await self._call("PATCH", path, patch)

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

    def _mark(self, info: SessionInfo) -> SessionInfo:
        return info.model_copy(update={"worker": self.index})
