"""The ``daily`` transport: a Daily room per session, as Daily Bots did.

``/start`` creates the room (expiring with the session's ``max_duration``) and two
meeting tokens through Daily's REST API, answers ``{room_url, token}`` for the
client, and the bot joins with its own owner token through daily-python
(pipecat's ``DailyTransport``, the ``daily`` extra). The REST API's base URL is
``DAILY_API_URL`` (default Daily's), so tests run against a loopback stand-in.
A room whose bot fails to build is deleted again.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from loguru import logger

from rtvi_server.protocol import JSONObject
from rtvi_server.sessions.api import StartAnswer, TransportName
from rtvi_server.sessions.start_request import StartError, StartRequest
from rtvi_server.sessions.transports.base import Link

DEFAULT_API_URL = "https://api.daily.co/v1"
_TIMEOUT = aiohttp.ClientTimeout(total=15)


class DailySetupError(StartError):
    """The daily transport cannot be used as configured; ``field`` names the cause."""


@dataclass(frozen=True)
class DailyRoom:
    url: str
    name: str
    client_token: str
    bot_token: str = ""

    def __repr__(self) -> str:  # tokens are credentials: keep them out of logs
        return f"DailyRoom(url={self.url!r})"


def daily_api_key(api_keys: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    key = api_keys.get("daily") or env.get("DAILY_API_KEY")
    if not key:
        raise DailySetupError(
            "transport 'daily' needs a Daily API key: pass api_keys.daily or set DAILY_API_KEY",
            field="api_keys.daily",
        )
    return key


def require_daily_python() -> None:
    if importlib.util.find_spec("daily") is None:
        raise DailySetupError(
            "transport 'daily' needs daily-python: pip install 'rtvi-server[daily]'",
            field="transport",
            status=501,
        )


class _DailyREST:
    """The three calls of Daily's REST API a session needs."""

    def __init__(self, http: aiohttp.ClientSession, api_key: str, api_url: str) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._url = api_url.rstrip("/")

    async def _post(self, path: str, body: dict[str, Any], what: str) -> Any:
        try:
            async with self._http.post(self._url + path, json=body, headers=self._headers) as r:
                if r.status != 200:
                    raise DailySetupError(
                        f"Daily's REST API refused the {what} (HTTP {r.status})",
                        field="transport",
                        status=502,
                    )
                return await r.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning(f"Daily REST {path} failed: {exc!r}")
            raise DailySetupError(
                f"Daily's REST API could not be reached for the {what}",
                field="transport",
                status=502,
            ) from None

    async def create_room(self, expires: float) -> tuple[str, str]:
        props = {"exp": int(expires), "eject_at_room_exp": True}
        data = await self._post("/rooms", {"privacy": "private", "properties": props}, "room")
        return str(data["url"]), str(data["name"])

    async def token(self, room_name: str, expires: float, *, owner: bool) -> str:
        props = {"room_name": room_name, "is_owner": owner, "exp": int(expires)}
        data = await self._post("/meeting-tokens", {"properties": props}, "meeting token")
        return str(data["token"])

    async def delete_room(self, room_name: str) -> None:
        async with self._http.delete(f"{self._url}/rooms/{room_name}", headers=self._headers):
            pass


def _api_url(api_url: str | None) -> str:
    return api_url or os.environ.get("DAILY_API_URL") or DEFAULT_API_URL


async def create_room(
    api_key: str, max_duration: float, *, api_url: str | None = None
) -> DailyRoom:
    """A private room that expires with the session, and a token each for client and bot."""
    expires = time.time() + max_duration
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as http:
        rest = _DailyREST(http, api_key, _api_url(api_url))
        url, name = await rest.create_room(expires)
        client_token = await rest.token(name, expires, owner=False)
        bot_token = await rest.token(name, expires, owner=True)
    return DailyRoom(url=url, name=name, client_token=client_token, bot_token=bot_token)


async def delete_room(api_key: str, room: DailyRoom, *, api_url: str | None = None) -> None:
    """Best effort: a room left behind expires with its ``exp`` anyway."""
    try:
        async with aiohttp.ClientSession(timeout=_TIMEOUT) as http:
            await _DailyREST(http, api_key, _api_url(api_url)).delete_room(room.name)
    except (aiohttp.ClientError, TimeoutError) as exc:
        logger.warning(f"could not delete Daily room {room.name}: {exc!r}")


def daily_transport(room: DailyRoom) -> Any:
    from pipecat.transports.daily.transport import DailyParams, DailyTransport

    return DailyTransport(
        room.url,
        room.bot_token,
        "bot",
        DailyParams(audio_in_enabled=True, audio_out_enabled=True),
    )


class DailyLink(Link):
    """A session's Daily room; goodbyes go out as app-messages through the transport."""

    name: TransportName = "daily"
    runs_at_start = True  # the bot joins the room at once and waits there

    def __init__(self, room: DailyRoom, transport: Any, api_key: str) -> None:
        self.room = room
        self._transport = transport
        self._api_key = api_key
        self._joined = False

        @transport.event_handler("on_client_connected")
        async def on_joined(_transport: Any, _participant: Any) -> None:
            self._joined = True

    @property
    def transport(self) -> Any:
        return self._transport

    @property
    def connected(self) -> bool:
        return self._joined

    def start_answer(self, session_id: str) -> StartAnswer:
        return StartAnswer(
            session_id=session_id,
            transport="daily",
            room_url=self.room.url,
            token=self.room.client_token,
        )

    async def send(self, message: JSONObject) -> None:
        from pipecat.frames.frames import OutputTransportMessageUrgentFrame

        output = self._transport.output()
        await output.send_message(OutputTransportMessageUrgentFrame(message=message))

    def is_alive(self) -> bool:
        return True  # the transport reports participants leaving (on_client_disconnected)

    async def close(self) -> None:
        return None  # the pipeline's end makes the bot leave the room

    async def discard(self) -> None:
        await delete_room(self._api_key, self.room)


class DailyKind:
    """Sessions in a Daily room created for them."""

    name: TransportName = "daily"

    def check(self, request: StartRequest) -> None:
        daily_api_key(request.api_keys)
        require_daily_python()

    async def open(self, request: StartRequest, session_id: str) -> DailyLink:
        key = daily_api_key(request.api_keys)
        room = await create_room(key, request.max_duration)
        return DailyLink(room, daily_transport(room), key)
