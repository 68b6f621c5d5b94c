"""The ``daily`` transport: a Daily room per session, as Daily Bots did.

``/start`` creates the room (expiring with the session's ``max_duration``) and two
meeting tokens through Daily's REST API, answers ``{room_url, token}`` for the
client, and the bot joins with its own owner token through daily-python
(pipecat's ``DailyTransport``, the ``daily`` extra). The REST API's base URL is
``DAILY_API_URL`` (default Daily's), so tests run against a loopback stand-in.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from pipecat.transports.daily.utils import (
    DailyRESTHelper,
    DailyRoomParams,
    DailyRoomProperties,
)

from rtvi_server.protocol import JSONObject

DEFAULT_API_URL = "https://api.daily.co/v1"


class DailySetupError(RuntimeError):
    """The daily transport cannot be used as configured; ``field`` names the cause."""

    def __init__(self, message: str, *, field: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class DailyRoom:
    url: str
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


async def create_room(
    api_key: str, max_duration: float, *, api_url: str | None = None
) -> DailyRoom:
    """A private room that expires with the session, and a token each for client and bot."""
    url = api_url or os.environ.get("DAILY_API_URL") or DEFAULT_API_URL
    async with aiohttp.ClientSession() as http:
        rest = DailyRESTHelper(daily_api_key=api_key, daily_api_url=url, aiohttp_session=http)
        expires = time.time() + max_duration
        try:
            room = await rest.create_room(
                DailyRoomParams(
                    privacy="private",
                    properties=DailyRoomProperties(exp=expires, eject_at_room_exp=True),
                )
            )
            client_token = await rest.get_token(room.url, max_duration, owner=False)
            bot_token = await rest.get_token(room.url, max_duration, owner=True)
        except Exception as exc:
            raise DailySetupError(
                f"Daily's REST API refused the room: {exc}", field="transport", status=502
            ) from exc
    return DailyRoom(url=room.url, client_token=client_token, bot_token=bot_token)


def daily_transport(room: DailyRoom) -> Any:
    from pipecat.transports.daily.transport import DailyParams, DailyTransport

    return DailyTransport(
        room.url,
        room.bot_token,
        "bot",
        DailyParams(audio_in_enabled=True, audio_out_enabled=True),
    )


class DailyLink:
    """A session's Daily room; goodbyes go out as app-messages through the transport."""

    def __init__(self, room: DailyRoom, transport: Any) -> None:
        self.room = room
        self._transport = transport

    @property
    def transport(self) -> Any:
        return self._transport

    async def send(self, message: JSONObject) -> None:
        from pipecat.frames.frames import OutputTransportMessageUrgentFrame

        output = self._transport.output()
        await output.send_message(OutputTransportMessageUrgentFrame(message=message))

    def is_alive(self) -> bool:
        return True  # the transport reports participants leaving (on_client_disconnected)

    async def close(self) -> None:
        return None  # the pipeline's end makes the bot leave the room
