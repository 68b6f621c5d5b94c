"""How sessions end, each over a real loopback WebRTC connection."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..support.metrics import metric
from ..support.serverproc import ROOT, ServerProcess
from ..support.wait import eventually

pytestmark = pytest.mark.slow

BOTS = ROOT / "tests" / "server" / "bots"


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(
        bots_dir=BOTS,
        default_profile="echo",
        env={"RTVI_IDLE_TIMEOUT": "5", "RTVI_CONNECT_TIMEOUT": "2"},
    ).wait_ready()
    yield proc
    proc.terminate()


def get_json(url):
    with urllib.request.urlopen(url) as r:
        return json.loads(r.read())


async def connected(server, payload=None):
    client = WebRTCTestClient(server.url)
    await client.__aenter__()
    await client.start(payload or {})
    await client.connect()
    ready = await client.request("client-ready", {})
    assert ready["type"] == "bot-ready"
    return client


async def ended_with(server, client, reason, timeout=10):
    await client.wait_for_signal("peerLeft", timeout=timeout)
    goodbye = await client.wait_for_event(
        "server-message", lambda m: m["data"].get("type") == "session-ended", timeout=5
    )
    assert goodbye["data"]["reason"] == reason
    info = await ended(server, client.session_id)
    assert info["end_reason"] == reason
    return info


async def ended(server, session_id, timeout=10):
    url = f"{server.url}/sessions/{session_id}"
    return await eventually(
        lambda: (info := get_json(url))["state"] == "ended" and info,
        timeout=timeout,
        what=f"session {session_id} ending",
    )


async def test_max_duration_ends_on_time(server):
    client = await connected(server, {"max_duration": 2})
    try:
        info = await ended_with(server, client, "max_duration", timeout=6)
        assert 1.9 <= info["duration"] <= 4.0
    finally:
        await client.close()


async def test_idle_session_ends(server):
    client = await connected(server)
    try:
        await ended_with(server, client, "idle", timeout=10)
    finally:
        await client.close()


async def test_activity_keeps_a_session_alive(server):
    client = await connected(server)
    try:
        for _ in range(7):
            await asyncio.sleep(1.0)
            assert (await client.request("get-config"))["type"] == "config"
        assert get_json(f"{server.url}/sessions/{client.session_id}")["state"] == "running"
    finally:
        await client.close()


async def test_client_that_stops_pinging_is_gone_within_seconds(server):
    client = await connected(server)
    try:
        client.stop_pinging()
        info = await ended(server, client.session_id, timeout=6)
        assert info["end_reason"] == "client_gone"
    finally:
        await client.close()


async def test_delete_ends_the_session_and_tells_the_client(server):
    client = await connected(server)
    try:
        request = urllib.request.Request(
            f"{server.url}/sessions/{client.session_id}", method="DELETE"
        )
        with urllib.request.urlopen(request) as r:
            assert r.status == 200
        await ended_with(server, client, "deleted")
    finally:
        await client.close()


async def test_disconnect_bot_ends_the_session(server):
    client = await connected(server)
    try:
        await client.send("disconnect-bot", {})
        await ended_with(server, client, "disconnect_bot")
    finally:
        await client.close()


async def test_malformed_text_on_the_data_channel_gets_an_error_and_the_session_goes_on(server):
    client = await connected(server)
    try:
        client.send_raw("{this is not json")
        err = await client.wait_for_event("error")
        assert err["data"]["fatal"] is False
        assert "not valid JSON" in err["data"]["error"]
        client.send_raw(json.dumps({"label": "rtvi-ai", "id": "no-type-1"}))
        reply = await client.wait_for(lambda m: m.get("id") == "no-type-1")
        assert reply["type"] == "error-response"
        assert (await client.request("get-config"))["type"] == "config"
    finally:
        await client.close()


async def test_a_raising_bot_ends_only_its_own_session(server):
    errors = metric(server.url, "rtvi_session_errors_total")
    bystander = await connected(server)
    client = await connected(server, {"bot_profile": "raising"})
    try:
        await client.send("describe-config", {})
        fatal = await client.wait_for_event("error", lambda m: m["data"]["fatal"], timeout=10)
        assert "The bot stopped because of an error." in fatal["data"]["error"]
        await ended_with(server, client, "error")
        assert get_json(server.url + "/health")["status"] == "ok"
        assert (await bystander.request("get-config"))["type"] == "config"
        assert metric(server.url, "rtvi_session_errors_total") == errors + 1
    finally:
        await client.close()
        await bystander.close()


def post_json(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def test_a_session_nobody_connects_to_ends_and_gives_its_slot_back(server):
    status, started = post_json(server.url + "/start", {})
    assert status == 200
    info = await ended(server, started["sessionId"], timeout=6)
    assert info["end_reason"] == "never_connected"
    assert 1.9 <= info["duration"] <= 4.0
    assert get_json(server.url + "/health")["active_sessions"] == 0


@pytest.mark.parametrize(
    "sdp", ["v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "hello", "v=0\r\ns=-\r\n"]
)
async def test_a_failed_offer_ends_its_session_at_once(server, sdp):
    status, started = post_json(server.url + "/start", {})
    offer_url = server.url + started["offer_url"]
    status, reply = post_json(offer_url, {"sdp": sdp, "type": "offer"})
    assert status == 400
    assert reply["field"] == "sdp"
    info = get_json(f"{server.url}/sessions/{started['sessionId']}")
    assert info["state"] == "ended"
    assert info["end_reason"] == "offer_failed"
    # The session is gone: a second offer is refused as for an ended session.
    status, reply = post_json(offer_url, {"sdp": sdp, "type": "offer"})
    assert status == 410


async def test_sigterm_drains_sessions_and_exits_cleanly():
    proc = ServerProcess(bots_dir=BOTS, default_profile="echo").wait_ready()
    client = await connected(proc)
    try:
        await asyncio.to_thread(proc.proc.send_signal, 15)
        await client.wait_for_signal("peerLeft", timeout=10)
        goodbye = await client.wait_for_event(
            "server-message", lambda m: m["data"].get("type") == "session-ended"
        )
        assert goodbye["data"]["reason"] == "shutdown"
        code = await asyncio.to_thread(proc.proc.wait, 20)
        assert code == 0, proc.log()
    finally:
        await client.close()
        proc.terminate()
