"""The `websocket` transport: pipecat's protobuf frames over a real WebSocket."""

import asyncio
import json
import urllib.request

import aiohttp
import pytest
import websockets
from pipecat.frames.frames import InputTransportMessageFrame, OutputTransportMessageUrgentFrame
from pipecat.serializers.protobuf import ProtobufFrameSerializer

from ..support.serverproc import ROOT, ServerProcess
from ..support.wait import eventually

pytestmark = pytest.mark.slow

BOTS = ROOT / "tests" / "server" / "bots"


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(bots_dir=BOTS, default_profile="echo").wait_ready()
    yield proc
    proc.terminate()


class ProtobufClient:
    def __init__(self, ws):
        self.ws = ws
        self.serializer = ProtobufFrameSerializer()
        self.messages = []

    async def send(self, type_, data=None, id_=None):
        message = {
            "label": "rtvi-ai",
            "type": type_,
            "id": id_ or f"w{len(self.messages)}",
            "data": data or {},
        }
        await self.ws.send(
            await self.serializer.serialize(OutputTransportMessageUrgentFrame(message=message))
        )
        return message["id"]

    async def next_message(self, match, timeout=10):
        async def read():
            while True:
                for m in self.messages:
                    if match(m):
                        return m
                frame = await self.serializer.deserialize(await self.ws.recv())
                if isinstance(frame, InputTransportMessageFrame):
                    self.messages.append(frame.message)

        return await asyncio.wait_for(read(), timeout)


async def start(server, body):
    """Start a session; a websocket answer's id comes from its X-Session-Id header."""
    async with aiohttp.ClientSession() as http, http.post(server.url + "/start", json=body) as r:
        reply = await r.json()
        if r.status == 200:
            reply["body_keys"] = sorted(reply)
            reply["sessionId"] = r.headers["X-Session-Id"]
        return r.status, reply


async def test_websocket_session_round_trip_and_end(server):
    status, reply = await start(
        server,
        {
            "transport": "websocket",
            "config": [{"service": "llm", "options": [{"name": "model", "value": "m2"}]}],
        },
    )
    assert status == 200, reply
    # Exactly what @pipecat-ai/websocket-transport accepts (it refuses any other key).
    assert reply["body_keys"] == ["wsUrl", "ws_url"]
    assert reply["ws_url"] == f"ws://127.0.0.1:{server.port}/sessions/{reply['sessionId']}/ws"
    assert reply["wsUrl"] == reply["ws_url"]
    async with websockets.connect(reply["ws_url"]) as ws:
        client = ProtobufClient(ws)
        ready_id = await client.send("client-ready", {})
        ready = await client.next_message(lambda m: m.get("id") == ready_id)
        assert ready["type"] == "bot-ready"
        assert ready["data"]["config"] == [
            {"service": "llm", "options": [{"name": "model", "value": "m2"}]}
        ]
        config_id = await client.send("get-config")
        assert (await client.next_message(lambda m: m.get("id") == config_id))["type"] == "config"
        info = json.loads(
            urllib.request.urlopen(f"{server.url}/sessions/{reply['sessionId']}").read()
        )
        assert info["state"] == "running"
        assert info["transport"] == "websocket"

        request = urllib.request.Request(
            f"{server.url}/sessions/{reply['sessionId']}", method="DELETE"
        )
        await asyncio.to_thread(urllib.request.urlopen, request)
        goodbye = await client.next_message(lambda m: m.get("type") == "server-message")
        assert goodbye["data"]["reason"] == "deleted"

        async def drain():
            while True:
                await asyncio.wait_for(ws.recv(), 5)

        with pytest.raises(websockets.ConnectionClosed):
            await drain()


async def test_websocket_client_leaving_ends_the_session(server):
    _, reply = await start(server, {"transport": "websocket"})
    async with websockets.connect(reply["ws_url"]) as ws:
        client = ProtobufClient(ws)
        await client.next_message(lambda m: m.get("type") == "bot-ready") if await client.send(
            "client-ready"
        ) else None
    url = f"{server.url}/sessions/{reply['sessionId']}"
    info = await eventually(
        lambda: (i := json.loads(urllib.request.urlopen(url).read()))["state"] == "ended" and i,
        what="the session ending",
    )
    assert info["end_reason"] == "client_gone"


async def test_a_websocket_session_accepts_one_connection_and_no_offer(server):
    _, reply = await start(server, {"transport": "websocket"})
    async with websockets.connect(reply["ws_url"]):
        # A second socket for the same session is refused before the handshake completes.
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(reply["ws_url"])
        assert refused.value.response.status_code == 403
        offer_url = f"{server.url}/sessions/{reply['sessionId']}/api/offer"
        async with (
            aiohttp.ClientSession() as http,
            http.post(offer_url, json={"sdp": "x", "type": "offer"}) as r,
        ):
            assert r.status == 409


async def test_websocket_start_is_validated_before_anything_starts(server):
    status, reply = await start(
        server, {"transport": "websocket", "config": [{"service": "nope", "options": []}]}
    )
    assert status == 400
    assert reply["field"] == "config[0].service"
