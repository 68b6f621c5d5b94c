"""The ``text`` transport: RTVI JSON over a WebSocket, no audio (the echo test bot)."""

import json

import aiohttp

from rtvi_server.server import ServerSettings, create_app

from ..conftest import ROOT
from ..support.inprocess import serving

BOTS = ROOT / "tests" / "server" / "bots"


async def test_a_text_session_speaks_rtvi_json_and_refuses_garbage_without_ending():
    settings = ServerSettings(bots_dir=BOTS, default_profile="echo")
    async with serving(create_app(settings)) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/start", json={"transport": "text"}) as r:
            started = await r.json()
        assert r.status == 200, started
        assert started["transport"] == "text"
        async with http.ws_connect(started["ws_url"]) as ws:
            await ws.send_str(json.dumps({"label": "rtvi-ai", "type": "client-ready", "id": "r1"}))
            ready = json.loads((await ws.receive()).data)
            assert (ready["type"], ready["id"]) == ("bot-ready", "r1")
            await ws.send_str('{"label": "rtvi-ai", "type": "get-config", "id": "g1"')  # cut off
            refused = json.loads((await ws.receive()).data)
            assert refused["type"] in ("error", "error-response")
            await ws.send_str(json.dumps({"label": "rtvi-ai", "type": "get-config", "id": "g2"}))
            config = json.loads((await ws.receive()).data)
            assert (config["type"], config["id"]) == ("config", "g2")
            flush = {"label": "rtvi-ai", "type": "rtvi-server-flush", "id": "f1"}
            await ws.send_str(json.dumps(flush))
            flushed = json.loads((await ws.receive()).data)
            assert (flushed["type"], flushed["id"]) == ("rtvi-server-flushed", "f1")
        async with http.get(f"{url}/sessions/{started['session_id']}") as r:
            info = await r.json()
        assert info["transport"] == "text"
