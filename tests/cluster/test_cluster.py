"""Cluster mode end to end: a real redis-server and three hosts on 127.0.0.2, .3 and .4."""

import asyncio
import signal

import aiohttp
import pytest

from rtvi_server.testing import word_error_rate
from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..conftest import fixture_text
from ..support.cluster import Cluster, get_json
from ..support.wait import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("cluster"), [3, 3, 3])
    yield running
    running.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def start_at(http, url, payload=None):
    async with http.post(url + "/start", json=payload or {}) as r:
        return r.status, await r.json(content_type=None), r.headers


async def end_everything(http, cluster):
    """Delete every live session (through host a) and wait for every slot to come back."""
    status, listed = get_json(cluster.hosts[0].url + "/sessions?state=live")
    assert status == 200
    for info in listed["sessions"]:
        async with http.delete(cluster.hosts[0].url + f"/sessions/{info['session_id']}") as r:
            assert r.status == 200
    for host in cluster.hosts:
        await eventually(
            lambda h=host: get_json(h.url + "/health")[1]["active_sessions"] == 0,
            what=f"{host.url} empty",
        )


async def test_fifty_concurrent_starts_over_three_hosts_admit_exactly_the_cap(cluster, http):
    urls = [h.url for h in cluster.hosts]
    try:
        results = await asyncio.gather(*(start_at(http, urls[i % 3]) for i in range(50)))
        admitted = [body for status, body, _ in results if status == 200]
        refused = [(status, headers) for status, _, headers in results if status != 200]
        assert len(admitted) == 9
        assert {s for s, _ in refused} == {429}
        assert all(h.get("Retry-After") for _, h in refused)
        assert sorted(b["host"] for b in admitted) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3

        # Every admitted session is reachable through every host, and listed by each.
        for body in admitted:
            for url in urls:
                status, info = get_json(f"{url}/sessions/{body['sessionId']}")
                assert (status, info["host"]) == (200, body["host"])
        for url in urls:
            listed = get_json(url + "/sessions?state=live")[1]["sessions"]
            assert sorted(i["session_id"] for i in listed) == sorted(
                b["sessionId"] for b in admitted
            )

        # Ended through a host that does not run it: its slot comes back to the cluster.
        victim = next(b for b in admitted if b["host"] == "c")
        async with http.delete(f"{urls[0]}/sessions/{victim['sessionId']}") as r:
            assert (r.status, (await r.json())["state"]) == (200, "ended")
        await eventually(lambda: cluster.health("c")["active_sessions"] == 2, what="c's slot")
        status, again, _ = await start_at(http, urls[1])
        assert (status, again["host"]) == (200, "c")
        assert (await start_at(http, urls[2]))[0] == 429
    finally:
        await end_everything(http, cluster)


async def test_a_spoken_turn_placed_on_one_host_signalled_through_another(cluster, http, fixtures):
    a = cluster.host("a").url
    try:
        status, first, _ = await start_at(http, a, {"bot_profile": "default"})
        assert status == 200
        if first["host"] == "a":  # a has less room now: the next start goes elsewhere
            status, placed, _ = await start_at(http, a, {"bot_profile": "default"})
            async with http.delete(f"{a}/sessions/{first['sessionId']}"):
                pass
        else:
            placed = first
        assert placed["host"] != "a"
        signalling = next(n for n in "bc" if n != placed["host"])
        wav = fixtures / "librivox_sense_and_sensibility_0870.wav"
        async with WebRTCTestClient(cluster.host(signalling).url) as client:
            client.session_id = placed["sessionId"]
            await client.connect(placed["offer_url"], timeout=60)
            ready = await client.request("client-ready", {}, timeout=60)
            assert ready["type"] == "bot-ready"
            client.play_wav(wav)
            final = await client.wait_for_event(
                "user-transcription", lambda m: m["data"]["final"], timeout=60
            )
            assert word_error_rate(fixture_text(wav), final["data"]["text"]) <= 0.10
            await client.wait_for_event("bot-stopped-speaking", timeout=90)
            assert client.bot_audio_peak > 1000
        status, info = get_json(f"{a}/sessions/{placed['sessionId']}")
        assert (status, info["host"]) == (200, placed["host"])
    finally:
        await end_everything(http, cluster)


async def test_a_websocket_session_is_reached_through_any_host(cluster, http):
    try:
        status, _, headers = await start_at(http, cluster.hosts[0].url, {"transport": "websocket"})
        assert status == 200
        body = get_json(f"{cluster.hosts[0].url}/sessions/{headers['X-Session-Id']}")[1]
        other = next(h for n, h in zip("abc", cluster.hosts, strict=True) if n != body["host"])
        url = other.url.replace("http", "ws", 1) + f"/sessions/{body['sessionId']}/ws"
        async with http.ws_connect(url) as socket:
            await eventually(
                lambda: (
                    get_json(f"{other.url}/sessions/{body['sessionId']}")[1]["state"] == "running"
                ),
                what="the session running once its socket is up",
            )
            await socket.close()
        await eventually(
            lambda: (
                get_json(f"{other.url}/sessions/{body['sessionId']}")[1].get("end_reason")
                == "client_gone"
            ),
            what="the session ended when its relayed socket closed",
        )
    finally:
        await end_everything(http, cluster)


async def test_a_killed_host_has_its_sessions_reported_lost_and_its_slots_come_back(tmp_path, http):
    cluster = Cluster(tmp_path, [2, 2, 2])
    try:
        urls = [h.url for h in cluster.hosts]
        placed = [(await start_at(http, urls[0]))[1] for _ in range(3)]
        assert sorted(p["host"] for p in placed) == ["a", "b", "c"]
        lost = next(p for p in placed if p["host"] == "c")
        cluster.host("c").proc.send_signal(signal.SIGKILL)

        async def reported_lost(url):
            status, info = get_json(f"{url}/sessions/{lost['sessionId']}")
            return status == 200 and info.get("end_reason") == "host_lost" and info

        for url in urls[:2]:
            info = await eventually(lambda u=url: reported_lost(u), timeout=10, what="host_lost")
            assert info["state"] == "ended"
        listed = get_json(urls[1] + "/sessions")[1]["sessions"]
        assert {i["session_id"]: i["end_reason"] for i in listed if i["host"] == "c"} == {
            lost["sessionId"]: "host_lost"
        }
        # The cap is now a's and b's: 4, two of them taken.
        statuses = [(await start_at(http, urls[i % 2]))[0] for i in range(4)]
        assert statuses == [200, 200, 429, 429]
    finally:
        cluster.stop()


async def test_sigterm_drains_a_host_its_session_finishes_and_it_exits_0(tmp_path, http):
    cluster = Cluster(tmp_path, [4, 4], env={"RTVI_DRAIN_GRACE": "60"})
    try:
        a, b = cluster.hosts
        status, body, _ = await start_at(http, b.url, {"max_duration": 6})
        assert status == 200
        draining = cluster.host(body["host"])
        other, other_name = (b, "b") if draining is a else (a, "a")
        draining.proc.send_signal(signal.SIGTERM)
        await eventually(lambda: get_json(draining.url + "/health")[1]["status"] == "draining")
        assert get_json(draining.url + "/ready")[0] == 503
        # New sessions land elsewhere, even when started at the draining host.
        for url in (draining.url, other.url, draining.url):
            status, started, _ = await start_at(http, url)
            assert (status, started.get("host")) == (200, other_name), started
        # Its own session runs to its end, then the host exits 0.
        assert get_json(f"{other.url}/sessions/{body['sessionId']}")[1]["state"] != "ended"
        assert await asyncio.to_thread(draining.proc.wait, 40) == 0
        status, info = get_json(f"{other.url}/sessions/{body['sessionId']}")
        assert (status, info["end_reason"]) == (200, "max_duration")
    finally:
        cluster.stop()


async def test_redis_down_hosts_keep_their_sessions_refuse_new_ones_and_rejoin(tmp_path, http):
    cluster = Cluster(tmp_path, [3, 3, 3])
    try:
        urls = [h.url for h in cluster.hosts]
        placed = [(await start_at(http, urls[0]))[1] for _ in range(3)]
        cluster.redis.stop()
        await eventually(
            lambda: all(get_json(u + "/health")[1]["registry"] == "unreachable" for u in urls),
            what="every host noticing Redis is gone",
        )
        status, refused, headers = await start_at(http, urls[1])
        assert (status, headers["Retry-After"]) == (503, "5")
        assert "registry" in refused["info"]
        assert all(get_json(u + "/ready")[0] == 503 for u in urls)
        # Each host still serves the sessions it runs; one of them ends meanwhile.
        for p in placed:
            owner = cluster.host(p["host"]).url
            assert get_json(f"{owner}/sessions/{p['sessionId']}")[1]["state"] == "starting"
        ended = placed[0]
        async with http.delete(f"{cluster.host(ended['host']).url}/sessions/{ended['sessionId']}"):
            pass

        cluster.redis.start()  # empty: no persistence
        await eventually(cluster.joined, timeout=15, what="every host back in the cluster")
        # The registry holds exactly the two live sessions again: 7 more fit.
        statuses = [(await start_at(http, urls[i % 3]))[0] for i in range(8)]
        assert statuses == [200] * 7 + [429]
        for p in placed[1:]:
            assert get_json(f"{urls[2]}/sessions/{p['sessionId']}")[1]["host"] == p["host"]
    finally:
        cluster.stop()
