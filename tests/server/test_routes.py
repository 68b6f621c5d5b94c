"""One suite of route tests, run against a single process, the --workers front, and
one host of a two-host cluster (cap 1 each, so sessions also land on the other host).

All serve the same routers over different backends, so auth, refusal bodies,
429s and the session routes must behave the same through each.
"""

import asyncio
import json
import re

import aiohttp
import pytest

from ..support.redisproc import RedisProcess
from ..support.serverproc import ROOT, ServerProcess
from ..support.wait import eventually

BOTS = ROOT / "tests" / "server" / "bots"
TOKEN = "route-suite-token-5e2a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPEN = {"/health", "/ready", "/metrics"}
pytestmark = pytest.mark.slow


def cluster_hosts(redis_url):
    env = {"RTVI_SERVER_API_KEY": TOKEN, "RTVI_CLUSTER_URL": redis_url}
    return [
        ServerProcess(
            bots_dir=BOTS,
            default_profile="echo",
            env={**env, "RTVI_HOST_ID": name},
            max_sessions=1,
            host=host,
        )
        for name, host in (("a", "127.0.0.2"), ("b", "127.0.0.3"))
    ]


class Front:
    """The process the suite talks to; its log is every process's (a cluster may place
    a session, and log its failure, on the other host)."""

    def __init__(self, procs):
        self.url = procs[0].url
        self._procs = procs

    def log(self):
        return "".join(p.log() for p in self._procs)


@pytest.fixture(scope="module", params=["single", "workers", "cluster"])
def api(request, tmp_path_factory):
    redis = None
    if request.param == "cluster":
        redis = RedisProcess(tmp_path_factory.mktemp("redis")).start()
        procs = cluster_hosts(redis.url)
    else:
        extra = ["--workers", "2"] if request.param == "workers" else []
        env = {"RTVI_SERVER_API_KEY": TOKEN}
        procs = [
            ServerProcess(
                bots_dir=BOTS, default_profile="echo", env=env, max_sessions=2, extra_args=extra
            )
        ]
    for proc in procs:
        proc.wait_ready(120)
    yield Front(procs)
    for proc in procs:
        proc.terminate()
        assert TOKEN not in proc.log()
    if redis is not None:
        redis.stop()


async def call(url, method, path, body=None, *, raw=None, headers=None):
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            url + path,
            data=raw if raw is not None else (json.dumps(body) if body is not None else None),
            headers=headers or {},
        ) as r,
    ):
        text = await r.text()
        try:
            reply = json.loads(text)
        except ValueError:
            reply = text
        return r.status, reply, dict(r.headers)


async def end_all(url):
    _, listed, _ = await call(url, "GET", "/sessions?state=live", headers=AUTH)
    for s in listed["sessions"]:
        await call(url, "DELETE", f"/sessions/{s['session_id']}", headers=AUTH)

    async def room():
        _, health, _ = await call(url, "GET", "/health")
        return health["active_sessions"] == 0

    await eventually(room, what="every slot free")


async def test_every_route_needs_the_token_except_the_open_ones(api):
    status, document, _ = await call(api.url, "GET", "/openapi.json")
    assert status == 200
    _, started, _ = await call(api.url, "POST", "/start", {}, headers=AUTH)
    sid = started["sessionId"]
    routes = [
        (method.upper(), path.replace("{session_id}", sid))
        for path, item in document["paths"].items()
        for method in item
    ]
    # start, connect, 4 signalling, 3 sessions, 5 control, health, ready, metrics, calls,
    # action, and 4 telephony webhooks (signed by their provider: 403 unsigned, key or not)
    assert len(routes) == 23
    for method, path in routes:
        status, reply, headers = await call(api.url, method, path, {})
        if path.startswith("/telephony/"):
            assert (status, reply["field"]) == (403, "signature"), (method, path)
            status, reply, _ = await call(api.url, method, path, {}, headers=AUTH)
            assert (status, reply["field"]) == (403, "signature"), (method, path)
            continue
        if path in OPEN:  # /ready says 503 once the calls above filled the server
            assert status in ((200, 503) if path == "/ready" else (200,)), (method, path)
            continue
        assert status == 401, (method, path, status)
        assert reply["info"] == "missing or wrong bearer token"
        assert reply["field"] == "authorization"
        assert headers.get("WWW-Authenticate") == "Bearer"
        status, _, _ = await call(api.url, method, path, {}, headers=AUTH)
        assert status != 401, (method, path)
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await call(api.url, "GET", "/sessions", headers=wrong))[0] == 401
    await end_all(api.url)


async def test_the_socket_route_needs_the_token_too(api):
    from rtvi_server.server.auth import socket_token

    _, started, headers = await call(
        api.url, "POST", "/start", {"transport": "websocket"}, headers=AUTH
    )
    try:
        ws_url = started["ws_url"]
        session_id = {k.lower(): v for k, v in headers.items()}["x-session-id"]
        assert ws_url.endswith(f"/sessions/{session_id}/ws")
        assert TOKEN not in json.dumps(started)
        assert started["token"] == socket_token(TOKEN, session_id)
        another = socket_token(TOKEN, "0" * 32)  # another session's token
        async with aiohttp.ClientSession() as http:
            for refused in ("", "?token=nope", f"?token={another}"):
                with pytest.raises(aiohttp.WSServerHandshakeError):
                    async with http.ws_connect(ws_url + refused):
                        pass
            # The session's own token (what websocket-transport appends), or the server's key.
            async with http.ws_connect(ws_url + f"?token={started['token']}") as ws:
                assert not ws.closed
    finally:
        await end_all(api.url)
    _, again, _ = await call(api.url, "POST", "/start", {"transport": "websocket"}, headers=AUTH)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(again["ws_url"] + f"?token={TOKEN}") as ws,
        ):
            assert not ws.closed
    finally:
        await end_all(api.url)


REFUSALS = [
    ("POST", "/start", None, b"{not json", 400, "body"),
    ("POST", "/start", {"bot_profile": "a" * 5000}, None, 400, "bot_profile"),
    ("POST", "/start", {"services": {"llm": "skynet"}}, None, 400, "services.llm"),
    ("POST", "/start", {"max_duration": -1}, None, 400, "max_duration"),
    ("POST", "/start", None, b'{"k": "' + b"x" * 70000 + b'"}', 413, "body"),
    ("GET", "/sessions/0123456789abcdef0123456789abcdef", None, None, 404, "session_id"),
    ("DELETE", "/sessions/nope", None, None, 404, "session_id"),
    ("GET", "/sessions?state=sleeping", None, None, 400, "state"),
    ("POST", "/api/offer", None, b"", 400, "body"),
    ("POST", "/api/offer", {"type": "offer"}, None, 400, "sdp"),
    ("PATCH", "/api/offer", {"pc_id": "nope", "candidates": []}, None, 404, "pc_id"),
    ("PATCH", "/api/offer", {"candidates": "x"}, None, 400, "pc_id"),
    ("POST", "/no-such-route", {}, None, 404, "path"),
]


@pytest.mark.parametrize(("method", "path", "body", "raw", "status", "field"), REFUSALS)
async def test_refusals_are_error_bodies_naming_the_field(
    api, method, path, body, raw, status, field
):
    got, reply, _ = await call(api.url, method, path, body, raw=raw, headers=AUTH)
    assert got == status, reply
    assert reply["field"] == field
    assert reply["info"] == reply["detail"]
    assert not re.search(r"Traceback|[A-Z]\w+Error\b|\.py\b", json.dumps(reply))


async def test_a_bot_that_fails_to_build_is_a_500_with_an_error_id_in_the_log(api):
    status, reply, _ = await call(
        api.url, "POST", "/start", {"bot_profile": "broken_start"}, headers=AUTH
    )
    assert status == 500
    assert reply["info"] == "the bot failed to start"
    assert re.fullmatch(r"[0-9a-f]{12}", reply["error_id"])
    assert "model server unreachable" not in json.dumps(
        reply
    )  # the bot's own words stay in the log
    await eventually(lambda: f"error_id={reply['error_id']}" in api.log(), what="the id in the log")
    assert (await call(api.url, "POST", "/start", {}, headers=AUTH))[0] == 200  # its slot came back
    await end_all(api.url)


async def test_the_cap_is_a_429_with_retry_after_and_slots_come_back(api):
    await end_all(api.url)
    results = await asyncio.gather(
        *(call(api.url, "POST", "/start", {}, headers=AUTH) for _ in range(6))
    )
    statuses = sorted(s for s, _, _ in results)
    assert statuses == [200, 200, 429, 429, 429, 429]
    for status, reply, headers in results:
        if status == 429:
            assert headers["Retry-After"] == "5"
            assert reply["info"] == "the server is at its session limit"
    await end_all(api.url)
    assert (await call(api.url, "POST", "/start", {}, headers=AUTH))[0] == 200
    await end_all(api.url)


async def test_session_routes_show_list_and_end_a_session(api):
    _, started, _ = await call(
        api.url, "POST", "/start", {"services": {"llm": "local"}}, headers=AUTH
    )
    sid = started["sessionId"]
    assert started["offer_url"] == f"/sessions/{sid}/api/offer"
    status, info, _ = await call(api.url, "GET", f"/sessions/{sid}", headers=AUTH)
    assert status == 200
    assert (info["state"], info["services"], info["sessionId"]) == (
        "starting",
        {"llm": "local"},
        sid,
    )
    _, listed, _ = await call(api.url, "GET", "/sessions?state=live", headers=AUTH)
    assert sid in [s["session_id"] for s in listed["sessions"]]
    status, deleted, _ = await call(api.url, "DELETE", f"/sessions/{sid}", headers=AUTH)
    assert (status, deleted["state"], deleted["end_reason"]) == (200, "ended", "deleted")
    _, again, _ = await call(api.url, "GET", f"/sessions/{sid}", headers=AUTH)
    assert again["end_reason"] == "deleted"
    _, live, _ = await call(api.url, "GET", "/sessions?state=live", headers=AUTH)
    assert sid not in [s["session_id"] for s in live["sessions"]]
    _, ended, _ = await call(api.url, "GET", "/sessions?state=ended", headers=AUTH)
    assert sid in [s["session_id"] for s in ended["sessions"]]
    status, reply, _ = await call(
        api.url, "POST", f"/sessions/{sid}/api/offer", {"sdp": "v=0"}, headers=AUTH
    )
    assert (status, reply["field"]) == (410, "session_id")


async def test_the_operator_reads_and_changes_a_running_sessions_config_over_http(api):
    from rtvi_server.testing.webrtc_client import WebRTCTestClient

    try:
        async with WebRTCTestClient(api.url, token=TOKEN) as client:
            started = await client.start({})
            sid = started["sessionId"]
            status, early, _ = await call(api.url, "GET", f"/sessions/{sid}/config", headers=AUTH)
            assert (status, early["field"]) == (409, "session_id")  # no client, no pipeline yet
            await client.connect()
            assert (await client.request("client-ready", {}))["type"] == "bot-ready"
            base = f"/sessions/{sid}"
            status, config, _ = await call(api.url, "GET", base + "/config", headers=AUTH)
            assert (status, config["type"]) == (200, "config")
            assert config["data"]["config"] == [
                {"service": "llm", "options": [{"name": "model", "value": "echo"}]}
            ]
            status, described, _ = await call(
                api.url, "GET", base + "/config/describe", headers=AUTH
            )
            assert (status, described["type"]) == (200, "config-available")
            update = {"config": [{"service": "llm", "options": [{"name": "model", "value": "m9"}]}]}
            status, updated, _ = await call(api.url, "POST", base + "/config", update, headers=AUTH)
            assert (status, updated["data"]["config"][0]["options"][0]["value"]) == (200, "m9")
            # The client sees the change too: the same processor answered.
            assert (await client.request("get-config"))["data"] == updated["data"]
            bad = {"config": [{"service": "llm", "options": [{"name": "model", "value": 7}]}]}
            status, refused, _ = await call(api.url, "POST", base + "/config", bad, headers=AUTH)
            assert status == 400, refused
            assert (status, refused["field"], refused["rtvi"]["type"]) == (
                400,
                "config",
                "error-response",
            )
            status, actions, _ = await call(api.url, "GET", base + "/actions", headers=AUTH)
            assert (status, actions["type"]) == (200, "actions-available")
            nope = {"service": "llm", "action": "nope", "arguments": []}
            status, refused, _ = await call(api.url, "POST", base + "/action", nope, headers=AUTH)
            assert (status, refused["field"]) == (400, "action")
            assert (await call(api.url, "GET", base + "/config"))[0] == 401
    finally:
        await end_all(api.url)
