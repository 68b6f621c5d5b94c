"""A client flooding its session with requests is slowed down; nobody else notices."""

import time

import pytest

from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..support.serverproc import ROOT, ServerProcess
from ..support.wait import eventually

pytestmark = pytest.mark.slow
BOTS = ROOT / "tests" / "server" / "bots"
FLOOD = 500


@pytest.fixture(scope="module")
def server():
    proc = ServerProcess(bots_dir=BOTS, default_profile="echo").wait_ready()
    yield proc
    proc.terminate()


async def ready_client(server):
    client = WebRTCTestClient(server.url)
    await client.__aenter__()
    await client.start({})
    await client.connect()
    assert (await client.request("client-ready", {}))["type"] == "bot-ready"
    return client


async def test_a_flood_is_refused_in_part_every_request_answered_and_a_bystander_served(server):
    flooder, bystander = await ready_client(server), await ready_client(server)
    try:
        ids = [await flooder.send("get-config") for _ in range(FLOOD)]
        # Meanwhile the other session answers promptly.
        for _ in range(5):
            t0 = time.monotonic()
            assert (await bystander.request("get-config", timeout=5))["type"] == "config"
            assert time.monotonic() - t0 < 2.0
        replies = await eventually(
            lambda: (
                all(flooder.replies_to(i) for i in ids) and [flooder.replies_to(i) for i in ids]
            ),
            timeout=20,
            what="a reply to every flooded request",
        )
        assert all(len(r) == 1 for r in replies)  # exactly one reply each
        kinds = [r[0]["type"] for r in replies]
        refused = [r[0] for r in replies if r[0]["type"] == "error-response"]
        assert kinds.count("config") >= 50  # the burst went through
        assert len(refused) >= FLOOD // 2
        assert all("too many requests" in r["data"]["error"] for r in refused)

        # The flooding session goes on once its budget refills.
        async def answered():
            return (await flooder.request("get-config", timeout=5))["type"] == "config"

        await eventually(answered, timeout=10, interval=0.5, what="the flooder served again")
    finally:
        await flooder.close()
        await bystander.close()
