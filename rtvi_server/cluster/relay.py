"""A client's WebSocket relayed to the process that runs its session.

Frames go through unchanged in both directions; when either side closes, the
other is closed with the same code, so the session sees its client leave.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
from starlette.websockets import WebSocketDisconnect


async def _client_to_worker(client: Any, worker: aiohttp.ClientWebSocketResponse) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
        while True:
            message = await client.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                await worker.send_bytes(message["bytes"])
            elif message.get("text") is not None:
                await worker.send_str(message["text"])
    await worker.close()


async def _worker_to_client(worker: aiohttp.ClientWebSocketResponse, client: Any) -> None:
    with contextlib.suppress(RuntimeError, ConnectionError):
        async for message in worker:
            if message.type == aiohttp.WSMsgType.BINARY:
                await client.send_bytes(message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                await client.send_text(message.data)
            else:
                break
    with contextlib.suppress(RuntimeError, ConnectionError):
        await client.close(code=worker.close_code or 1000)


async def relay_socket(client: Any, http: aiohttp.ClientSession, url: str) -> None:
    """Relay ``client`` (an accepted-on-success starlette WebSocket) to ``url``."""
    try:
        worker = await http.ws_connect(url, heartbeat=None, max_msg_size=0)
    except (aiohttp.ClientError, TimeoutError):
        await client.close(code=1011)
        return
    await client.accept()
    pumps = [
        asyncio.create_task(_client_to_worker(client, worker)),
        asyncio.create_task(_worker_to_client(worker, client)),
    ]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        await worker.close()
