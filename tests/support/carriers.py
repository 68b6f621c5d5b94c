"""Loopback stand-ins for the REST APIs of Twilio, Telnyx and Plivo.

Each route answers the way the provider's API does (the paths, auth and answer
shapes the server relies on) and records the request, so tests check what the
server asked for: a hang-up of which call, an outbound call to whom, with what.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .aioserve import serve


@dataclass
class CarrierRequest:
    provider: str
    action: str  # "hang_up" or "dial"
    call_id: str
    auth: str
    body: dict[str, Any]


#: Calls to this number are refused by every stand-in (as an unverified number is).
REFUSED_NUMBER = "+15550000000"


def _refused(body: dict[str, Any]) -> bool:
    return REFUSED_NUMBER in (body.get("To"), body.get("to"))


@dataclass
class CarrierStandIn:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[CarrierRequest] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> CarrierStandIn:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls.json", self._twilio_dial)
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{call}.json", self._twilio_update)
        app.router.add_post("/v2/calls", self._telnyx_dial)
        app.router.add_post("/v2/calls/{call}/actions/hangup", self._telnyx_hang_up)
        app.router.add_post("/v1/Account/{account}/Call/", self._plivo_dial)
        app.router.add_delete("/v1/Account/{account}/Call/{call}/", self._plivo_hang_up)
        self._runner, self.port = await serve(app, self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(
        self, request: web.Request, provider: str, action: str, call: str
    ) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
        else:
            body = dict(parse_qsl(raw.decode()))
        auth = request.headers.get("Authorization", "")
        async with self._changed:
            self.requests.append(CarrierRequest(provider, action, call, auth, body))
            self._changed.notify_all()
        return body

    async def wait_for(
        self, provider: str, action: str, call_id: str | None = None, timeout: float = 30
    ) -> CarrierRequest:
        def found() -> CarrierRequest | None:
            return next(
                (
                    r
                    for r in self.requests
                    if (r.provider, r.action) == (provider, action) and call_id in (None, r.call_id)
                ),
                None,
            )

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result

    def of(self, provider: str, action: str) -> list[CarrierRequest]:
        return [r for r in self.requests if (r.provider, r.action) == (provider, action)]

    async def _twilio_dial(self, request: web.Request) -> web.Response:
        sid = "CA" + uuid.uuid4().hex
        if _refused(await self._record(request, "twilio", "dial", sid)):
            return web.json_response({"code": 21219, "message": "unverified: key=x"}, status=400)
        return web.json_response({"sid": sid, "status": "queued"}, status=201)

    async def _twilio_update(self, request: web.Request) -> web.Response:
        call = request.match_info["call"]
        await self._record(request, "twilio", "hang_up", call)
        return web.json_response({"sid": call, "status": "completed"})

    async def _telnyx_dial(self, request: web.Request) -> web.Response:
        call = "v3:" + uuid.uuid4().hex
        if _refused(await self._record(request, "telnyx", "dial", call)):
            return web.json_response({"errors": [{"detail": "refused: key=x"}]}, status=422)
        return web.json_response({"data": {"call_control_id": call, "record_type": "call"}})

    async def _telnyx_hang_up(self, request: web.Request) -> web.Response:
        await self._record(request, "telnyx", "hang_up", request.match_info["call"])
        return web.json_response({"data": {"result": "ok"}})

    async def _plivo_dial(self, request: web.Request) -> web.Response:
        call = str(uuid.uuid4())
        if _refused(await self._record(request, "plivo", "dial", call)):
            return web.json_response({"error": "refused: key=x"}, status=400)
        body = {"api_id": str(uuid.uuid4()), "message": "call fired", "request_uuid": call}
        return web.json_response(body, status=201)

    async def _plivo_hang_up(self, request: web.Request) -> web.Response:
        await self._record(request, "plivo", "hang_up", request.match_info["call"])
        return web.Response(status=204)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
