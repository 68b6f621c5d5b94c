"""STUN/TURN for hosts behind NAT: RTVI_ICE_SERVERS, with a real coturn on loopback."""

import json
import shutil

import pytest

from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..clients.conftest import CLIENTS, run_node
from ..support.serverproc import ROOT, ServerProcess
from ..support.turnproc import PASSWORD, USER, TurnServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    server = TurnServer(tmp_path_factory.mktemp("turn")).wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def relayed_server(turn):
    proc = ServerProcess(
        bots_dir=ROOT / "tests" / "server" / "bots",
        default_profile="echo",
        env={"RTVI_ICE_SERVERS": turn.ice_servers()},
    ).wait_ready()
    yield proc
    proc.terminate()
    assert PASSWORD not in proc.log()


async def test_the_start_answer_names_the_servers_and_the_bot_gathers_relay_candidates(
    relayed_server, turn
):
    async with WebRTCTestClient(relayed_server.url) as client:
        started = await client.start({})
        assert started["iceConfig"] == {
            "iceServers": [
                {
                    "urls": [f"turn:{turn.host}:{turn.port}?transport=udp"],
                    "username": USER,
                    "credential": PASSWORD,
                }
            ]
        }
        await client.connect(started["offer_url"])
        assert (await client.request("client-ready", {}))["type"] == "bot-ready"
    relay = [line for line in client.answer["sdp"].split("\r\n") if "typ relay" in line]
    assert relay, "the bot's peer allocated nothing on the TURN server"
    assert all(f" {turn.host} " in line for line in relay)


def test_a_relay_only_browser_reaches_the_bot_through_coturn(relayed_server, turn, tmp_path):
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
    if not (CLIENTS / "node_modules" / "playwright-core").is_dir():
        pytest.fail("client packages are missing: run scripts/bootstrap (npm ci in clients/)")
    result = run_node(CLIENTS / "browser" / "relay-only.mjs", relayed_server.url, str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert "failure" not in report, report["failure"] + "\n".join(report["console"][-20:])
    pair = report["pair"]
    assert pair["config"]["iceTransportPolicy"] == "relay"
    assert (pair["local"], pair["localAddress"]) == ("relay", turn.host)
    assert pair["bytesSent"] > 0
    assert pair["bytesReceived"] > 0
    assert "bot-ready" in report["events"]
