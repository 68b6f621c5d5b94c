"""The daily transport's REST side, against a loopback stand-in for Daily's REST API."""

import importlib.util
import json
import time

import pytest
from aiohttp import web

from rtvi_server.sessions.transports.daily import DailySetupError, create_room, daily_api_key

KEY = "daily-SENTINEL-4f1e"


@pytest.fixture
async def daily_api():
    requests = []
    state = {"fail": False}

    async def rooms(request):
        requests.append(("rooms", dict(request.headers), await request.json()))
        if state["fail"]:
            return web.json_response({"error": "authentication-error"}, status=401)
        return web.json_response(
            {
                "id": "r1",
                "name": "rtvi-room",
                "api_created": True,
                "privacy": "private",
                "url": "https://rtvi.daily.co/rtvi-room",
                "created_at": "2026-11-24T10:00:00.000Z",
                "config": {},
            }
        )

    async def tokens(request):
        body = await request.json()
        requests.append(("tokens", dict(request.headers), body))
        return web.json_response({"token": f"tok-owner-{body['properties']['is_owner']}"})

    app = web.Application()
    app.router.add_post("/v1/rooms", rooms)
    app.router.add_post("/v1/meeting-tokens", tokens)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1", requests, state
    await runner.cleanup()


async def test_room_and_tokens_are_created_for_the_session(daily_api):
    url, requests, _ = daily_api
    room = await create_room(KEY, 120, api_url=url)
    assert room.url == "https://rtvi.daily.co/rtvi-room"
    assert room.client_token == "tok-owner-False"
    assert room.bot_token == "tok-owner-True"
    assert KEY not in repr(room)
    assert room.client_token not in repr(room)
    kinds = [k for k, _, _ in requests]
    assert kinds == ["rooms", "tokens", "tokens"]
    for _, headers, _ in requests:
        assert headers["Authorization"] == f"Bearer {KEY}"
    room_body = requests[0][2]
    assert room_body["privacy"] == "private"
    assert room_body["properties"]["eject_at_room_exp"] is True
    assert abs(room_body["properties"]["exp"] - (time.time() + 120)) < 10
    token_props = [b["properties"] for _, _, b in requests[1:]]
    assert [p["is_owner"] for p in token_props] == [False, True]
    assert all(p["room_name"] == "rtvi-room" for p in token_props)


async def test_a_refusal_is_reported_without_the_key(daily_api):
    url, _, state = daily_api
    state["fail"] = True
    with pytest.raises(DailySetupError) as err:
        await create_room(KEY, 60, api_url=url)
    assert err.value.status == 502
    assert "401" in str(err.value)
    assert KEY not in str(err.value)


def test_key_comes_from_the_payload_or_the_environment():
    assert daily_api_key({"daily": "k1"}, {}) == "k1"
    assert daily_api_key({}, {"DAILY_API_KEY": "k2"}) == "k2"
    with pytest.raises(DailySetupError) as err:
        daily_api_key({}, {})
    assert err.value.field == "api_keys.daily"


async def test_start_with_daily_is_refused_precisely(tmp_path):
    from fastapi.testclient import TestClient

    from rtvi_server.server import ServerSettings, create_app

    from ..conftest import ROOT

    app = create_app(
        ServerSettings(bots_dir=ROOT / "tests" / "server" / "bots", default_profile="echo")
    )
    with TestClient(app) as client:
        no_key = client.post("/start", json={"transport": "daily"})
        assert no_key.status_code == 400
        assert no_key.json()["field"] == "api_keys.daily"
        with_key = client.post("/start", json={"transport": "daily", "api_keys": {"daily": KEY}})
        if importlib.util.find_spec("daily") is None:
            assert with_key.status_code == 501
            assert with_key.json()["field"] == "transport"
            assert "rtvi-server[daily]" in with_key.json()["info"]
        assert KEY not in json.dumps(with_key.json())
