"""The seed's HTTP action endpoint: actions run on a text-only instance of a bot.

A realtime-ai 0.2 / client-js 0.4 client that calls ``action()`` while not
connected POSTs ``{...requestData, "actions": [...]}`` (spec 9.3). We start a
``text`` session of the bot that payload names (admitted, capped, placed and
listed like any other), talk to it as a client would over an in-memory socket
(``client-ready``, then each action), and yield what it sends back: the events
the action caused (``bot-llm-text`` ...) and then the action's reply, held until
a flush marker has come through the whole pipeline, so the reply comes last.
The session is ended when the actions are done.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from loguru import logger

from rtvi_server.protocol import outbound
from rtvi_server.sessions.api import APIError, SessionBackend, StartPayload
from rtvi_server.sessions.memory_socket import ClientEnd, socket_pair
from rtvi_server.sessions.transports.text import FLUSH, FLUSHED

ACTION_TIMEOUT_SECS = 60.0
READY_TIMEOUT_SECS = 30.0
REPLIES = ("action-response", "error-response")
NOT_FORWARDED = ("bot-ready", FLUSHED)


def _is_flushed(message: dict[str, Any], flush_id: str) -> bool:
    return message.get("type") == FLUSHED and message.get("id") == flush_id


class _Conversation:
    """A client's side of one text session, over the in-memory socket."""

    def __init__(self, client: ClientEnd) -> None:
        self._client = client

    async def _next(self) -> dict[str, Any]:
        message = await self._client.receive()
        if message is None:
            raise APIError(503, "the bot ended before answering", field="actions")
        return message

    async def ready(self) -> None:
        """``client-ready`` until ``bot-ready``, then past what the bot sends on its own
        at start (events held until ``bot-ready``): the actions' streams carry only
        what they caused."""
        await self._client.send(outbound.message("client-ready", {}, id="http-ready"))
        while (await self._next()).get("type") != "bot-ready":
            pass
        await self._client.send({"label": "rtvi-ai", "type": FLUSH, "id": "http-ready"})
        while not _is_flushed(await self._next(), "http-ready"):
            pass

    async def run(self, action: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The events ``action`` caused, then its reply."""
        action_id = str(action["id"])
        await self._client.send(action)
        reply: dict[str, Any] | None = None
        flush_id = f"flush-{action_id}"
        llm_running = flushed = False
        while reply is None or not flushed or llm_running:
            message = await self._next()
            kind = message.get("type")
            if kind in REPLIES and message.get("id") == action_id:
                reply = message
                await self._client.send({"label": "rtvi-ai", "type": FLUSH, "id": flush_id})
            elif _is_flushed(message, flush_id):
                flushed = True
            elif kind not in NOT_FORWARDED:
                if kind in ("bot-llm-started", "bot-llm-stopped"):
                    llm_running = kind == "bot-llm-started"
                yield message
        yield reply


async def run_actions(
    backend: SessionBackend, payload: StartPayload, actions: Sequence[dict[str, Any]]
) -> AsyncGenerator[dict[str, Any]]:
    """Start a text session of the bot ``payload`` names and run ``actions`` on it."""
    answer = await backend.start(payload)
    server_end, client = socket_pair()
    serving = asyncio.create_task(backend.websocket(answer.session_id, server_end))
    current = str(actions[0].get("id"))
    try:
        await asyncio.wait_for(server_end.accepted.wait(), READY_TIMEOUT_SECS)
        conversation = _Conversation(client)
        await asyncio.wait_for(conversation.ready(), READY_TIMEOUT_SECS)
        for action in actions:
            current = str(action.get("id"))
            async with asyncio.timeout(ACTION_TIMEOUT_SECS):
                async for message in conversation.run(action):
                    yield message
    except TimeoutError:
        logger.warning(f"session {answer.session_id}: an HTTP action timed out")
        yield outbound.error_response(current, "the action timed out")
    finally:
        client.close()
        with contextlib.suppress(APIError):
            await backend.delete(answer.session_id)
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving
