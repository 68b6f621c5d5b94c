"""`serve --workers 2`: sessions spread over worker processes, one cap, one front door."""

import asyncio
import json
import os
import signal
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from rtvi_server.cluster.metrics import merge_metrics
from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..support.serverproc import ROOT, ServerProcess
from ..support.wait import eventually

BOTS = ROOT / "tests" / "server" / "bots"
pytestmark = pytest.mark.slow


def health(proc):
    return json.loads(urllib.request.urlopen(proc.url + "/health").read())


def worker_pids(proc):
    """The front's child processes (its workers)."""
    children = Path(f"/proc/{proc.proc.pid}/task/{proc.proc.pid}/children").read_text()
    return [int(p) for p in children.split()]


def test_metrics_of_workers_merge_into_one_exposition():
    one = '# HELP a A.\n# TYPE a counter\na 1\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 3\n'
    two = '# HELP a A.\n# TYPE a counter\na 5\n# TYPE h histogram\nh_bucket{le="1"} 7\nh_sum 9\n'
    assert merge_metrics([one, two]).splitlines() == [
        "# HELP a A.",
        "# TYPE a counter",
        'a{worker="0"} 1',
        'a{worker="1"} 5',
        "# TYPE h histogram",
        'h_bucket{le="1",worker="0"} 2',
        'h_sum{worker="0"} 3',
        'h_bucket{le="1",worker="1"} 7',
        'h_sum{worker="1"} 9',
    ]


async def test_sessions_spread_over_workers_under_one_cap():
    proc = ServerProcess(
        bots_dir=BOTS, default_profile="echo", max_sessions=4, extra_args=["--workers", "2"]
    ).wait_ready(120)
    try:
        async with aiohttp.ClientSession() as http:
            results = []
            for _ in range(6):
                async with http.post(proc.url + "/start", json={}) as r:
                    results.append((r.status, await r.json(content_type=None)))
            assert [s for s, _ in results] == [200, 200, 200, 200, 429, 429]
            workers = [body["worker"] for s, body in results if s == 200]
            assert sorted(workers) == [0, 0, 1, 1]
            async with http.get(proc.url + "/sessions") as r:
                listed = (await r.json())["sessions"]
            assert sorted(s["worker"] for s in listed) == [0, 0, 1, 1]
            assert health(proc)["workers"] == 2
            assert health(proc)["max_sessions"] == 4
            # Ending a session frees its worker's slot for the next start.
            sid = results[0][1]["sessionId"]
            async with http.delete(f"{proc.url}/sessions/{sid}") as r:
                assert r.status == 200
            await eventually(lambda: health(proc)["active_sessions"] == 3, what="the slot back")
            async with http.post(proc.url + "/start", json={}) as r:
                assert r.status == 200
                assert (await r.json())["worker"] == results[0][1]["worker"]

        # A WebRTC session through the front door runs on its worker.
        async with WebRTCTestClient(proc.url) as client:
            status, _ = await client.post("/start", {})
            assert status == 429  # still full
        async with aiohttp.ClientSession() as http, http.get(proc.url + "/sessions") as r:
            for s in (await r.json())["sessions"]:
                async with http.delete(f"{proc.url}/sessions/{s['session_id']}"):
                    pass
        await eventually(lambda: health(proc)["active_sessions"] == 0, what="every slot back")
        async with WebRTCTestClient(proc.url) as client:
            await client.start({})
            await client.connect()
            ready = await client.request("client-ready", {})
            assert ready["type"] == "bot-ready"
            assert (await client.request("get-config"))["type"] == "config"
            metrics = urllib.request.urlopen(proc.url + "/metrics").read().decode()
            assert 'rtvi_session_starts_total{worker="0"}' in metrics
            assert 'rtvi_session_starts_total{worker="1"}' in metrics
            # SIGTERM on the front drains the workers: the client is told.
            proc.proc.send_signal(15)
            await client.wait_for_signal("peerLeft", timeout=20)
        assert await asyncio.to_thread(proc.proc.wait, 40) == 0
    finally:
        proc.terminate()


async def test_a_worker_that_dies_has_its_sessions_reported_ended_and_the_front_goes_on():
    proc = ServerProcess(
        bots_dir=BOTS, default_profile="echo", max_sessions=4, extra_args=["--workers", "2"]
    ).wait_ready(120)
    try:
        async with aiohttp.ClientSession() as http:
            started = []
            for _ in range(4):
                async with http.post(proc.url + "/start", json={}) as r:
                    started.append(await r.json())
            victim = started[0]["worker"]
            lost = [s["sessionId"] for s in started if s["worker"] == victim]
            kept = [s["sessionId"] for s in started if s["worker"] != victim]
            await eventually(lambda: health(proc)["active_sessions"] == 4, what="all four seen")
            os.kill(sorted(worker_pids(proc))[victim], signal.SIGKILL)

            async def reported_lost():
                async with http.get(f"{proc.url}/sessions/{lost[0]}") as r:
                    info = await r.json()
                return info.get("end_reason") == "worker_lost" and info

            info = await eventually(reported_lost, timeout=10, what="the lost session reported")
            assert info["state"] == "ended"
            async with http.get(proc.url + "/sessions") as r:
                listed = {s["session_id"]: s for s in (await r.json())["sessions"]}
            assert all(listed[s]["end_reason"] == "worker_lost" for s in lost)
            assert all(listed[s]["state"] == "starting" for s in kept)
            # The other worker still serves, and the front still answers everything.
            async with http.delete(f"{proc.url}/sessions/{kept[0]}") as r:
                assert r.status == 200
            assert health(proc)["status"] == "ok"
    finally:
        proc.terminate()
