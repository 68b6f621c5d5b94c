"""POST /start validation, auth, admission and metrics, against a served subprocess."""

import asyncio
import json

import aiohttp
import pytest

from rtvi_server.server import ServerSettings, create_app

from ..support.metrics import metric
from ..support.serverproc import ROOT, ServerProcess

pytestmark = pytest.mark.slow

BOTS = ROOT / "tests" / "server" / "bots"
SENTINEL = "sk-SENTINEL-do-not-echo-91c2"


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(bots_dir=BOTS, default_profile="echo", max_sessions=5).wait_ready()
    yield proc
    proc.terminate()


async def post(url, body, *, raw=None, headers=None):
    async with aiohttp.ClientSession() as http:
        data = raw if raw is not None else json.dumps(body)
        async with http.post(url, data=data, headers=headers or {}) as r:
            return r.status, await r.json(content_type=None), dict(r.headers)


async def delete_all(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/sessions") as r:
            sessions = (await r.json())["sessions"]
        for s in sessions:
            if s["state"] != "ended":
                async with http.delete(f"{server.url}/sessions/{s['session_id']}") as r:
                    assert r.status == 200


BAD_STARTS = [
    ("not-json", None, "{oops", "body", "not valid JSON"),
    ("array", [1, 2], None, "body", "must be a JSON object"),
    ("transport", {"transport": "carrier-pigeon"}, None, "transport", "transport must be one of"),
    (
        "profile-unknown",
        {"bot_profile": "voice_2099"},
        None,
        "bot_profile",
        "unknown bot_profile 'voice_2099'",
    ),
    (
        "profile-path",
        {"bot_profile": "../../etc/passwd"},
        None,
        "bot_profile",
        "must be a plain name",
    ),
    ("services-type", {"services": "together"}, None, "services", "services must be an object"),
    (
        "provider-unknown",
        {"services": {"llm": "skynet"}},
        None,
        "services.llm",
        "unknown provider 'skynet'",
    ),
    (
        "provider-no-key",
        {"services": {"llm": "together"}, "api_keys": {"groq": SENTINEL}},
        None,
        "api_keys.together",
        "needs an API key",
    ),
    ("api-keys-type", {"api_keys": [SENTINEL]}, None, "api_keys", "api_keys must be an object"),
    (
        "api-key-value",
        {"api_keys": {"together": 5}},
        None,
        "api_keys.together",
        "api_keys.together must be a string",
    ),
    ("config-shape", {"config": {"llm": 1}}, None, "config", "must be an array"),
    (
        "config-service",
        {"config": [{"service": "tts", "options": []}]},
        None,
        "config[0].service",
        "unknown service 'tts'",
    ),
    (
        "config-option",
        {"config": [{"service": "llm", "options": [{"name": "voice", "value": "x"}]}]},
        None,
        "config[0].options[0]",
        "unknown option llm.voice",
    ),
    (
        "config-type",
        {"config": [{"service": "llm", "options": [{"name": "model", "value": 3}]}]},
        None,
        "config[0].options[0]",
        "expects string, got number",
    ),
    ("duration-negative", {"max_duration": -5}, None, "max_duration", "positive number"),
    ("duration-zero", {"max_duration": 0}, None, "max_duration", "positive number"),
    ("duration-bool", {"max_duration": True}, None, "max_duration", "positive number"),
    ("duration-string", {"max_duration": "600"}, None, "max_duration", "positive number"),
    ("duration-cap", {"max_duration": 86401}, None, "max_duration", "at most 86400"),
]


@pytest.mark.parametrize(
    ("name", "body", "raw", "field", "text"), BAD_STARTS, ids=[b[0] for b in BAD_STARTS]
)
async def test_bad_start_is_a_4xx_naming_the_field(server, name, body, raw, field, text):
    status, reply, _ = await post(server.url + "/start", body, raw=raw)
    assert status == 400, reply
    assert reply["field"] == field
    assert text in reply["info"]
    assert reply["info"] == reply["detail"]
    assert SENTINEL not in json.dumps(reply)


async def test_daily_without_its_key_is_refused_before_starting(server):
    status, reply, _ = await post(server.url + "/start", {"transport": "daily"})
    assert status == 400
    assert reply["field"] == "api_keys.daily"


async def test_a_bot_that_fails_to_build_is_a_500_and_frees_its_slot(server):
    status, reply, _ = await post(server.url + "/start", {"bot_profile": "broken_start"})
    assert status == 500
    assert reply["info"] == "the bot failed to start"
    status, _, _ = await post(server.url + "/start", {})
    assert status == 200
    await delete_all(server)


async def test_empty_modern_and_seed_shapes_start(server):
    for body in (
        {},
        {
            "transport": "webrtc",
            "enableDefaultIceServers": False,
            "body": {"config": [{"service": "llm", "options": [{"name": "model", "value": "m"}]}]},
        },
        {"services": [{"llm": "local", "tts": "piper"}], "bot_profile": "echo", "max_duration": 60},
    ):
        status, reply, _ = await post(server.url + "/start", body)
        assert status == 200, reply
        assert reply["sessionId"] == reply["session_id"]
        assert reply["offer_url"] == f"/sessions/{reply['sessionId']}/api/offer"
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/sessions/{reply['sessionId']}") as r,
    ):
        info = await r.json()
    assert info["state"] == "starting"
    assert info["services"] == {"llm": "local", "tts": "piper"}
    assert info["max_duration"] == 60
    await delete_all(server)


async def test_cap_admits_exactly_the_limit_under_50_concurrent_starts(server):
    await delete_all(server)
    refused = metric(server.url, 'rtvi_start_rejections_total{reason="capacity"}')
    deleted = metric(server.url, 'rtvi_sessions_ended_total{reason="deleted"}')
    results = await asyncio.gather(*(post(server.url + "/start", {}) for _ in range(50)))
    statuses = [s for s, _, _ in results]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 45
    assert all(h.get("Retry-After") == "5" for s, _, h in results if s == 429)
    assert metric(server.url, 'rtvi_start_rejections_total{reason="capacity"}') == refused + 45
    assert metric(server.url, "rtvi_active_sessions") == 5
    await delete_all(server)
    assert metric(server.url, "rtvi_active_sessions") == 0
    assert metric(server.url, 'rtvi_sessions_ended_total{reason="deleted"}') == deleted + 5


async def test_unknown_session_and_pc_id_are_404(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/sessions/nope") as r:
            assert r.status == 404
        async with http.patch(
            server.url + "/api/offer", json={"pc_id": "nope", "candidates": []}
        ) as r:
            assert r.status == 404


async def test_auth_is_required_when_a_key_is_set():
    token = "server-token-3b1f"
    proc = ServerProcess(
        bots_dir=BOTS, default_profile="echo", env={"RTVI_SERVER_API_KEY": token}
    ).wait_ready()
    try:
        status, _, headers = await post(proc.url + "/start", {})
        assert status == 401
        assert headers.get("WWW-Authenticate") == "Bearer"
        status, _, _ = await post(
            proc.url + "/start", {}, headers={"Authorization": "Bearer wrong"}
        )
        assert status == 401
        status, _, _ = await post(
            proc.url + "/start", {}, headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200
        async with aiohttp.ClientSession() as http:
            async with http.get(proc.url + "/sessions") as r:
                assert r.status == 401
            async with http.get(proc.url + "/health") as r:
                assert r.status == 200
    finally:
        proc.terminate()
    assert token not in proc.log()


def test_binding_beyond_loopback_needs_a_key():
    with pytest.raises(ValueError, match="set RTVI_SERVER_API_KEY"):
        create_app(ServerSettings(host="0.0.0.0", bots_dir=BOTS))
    create_app(ServerSettings(host="0.0.0.0", bots_dir=BOTS, api_key="k"))


async def test_keys_never_reach_a_response_or_the_log(server):
    status, reply, _ = await post(
        server.url + "/start",
        {
            "services": {"llm": "together", "tts": "openai"},
            "api_keys": {"together": SENTINEL, "openai": SENTINEL + "-tts"},
        },
    )
    assert status == 200, reply
    async with aiohttp.ClientSession() as http:
        bodies = []
        for path in ("/sessions", f"/sessions/{reply['sessionId']}", "/metrics", "/health"):
            async with http.get(server.url + path) as r:
                bodies.append(await r.text())
        async with http.delete(f"{server.url}/sessions/{reply['sessionId']}") as r:
            bodies.append(await r.text())
    assert not [b for b in bodies if SENTINEL in b]
    assert SENTINEL not in json.dumps(reply)
    assert SENTINEL not in server.log()
