"""An ended session leaves nothing behind: every object it owned is collectable.

The default offline bot is served in this process (uvicorn in the test's loop),
so the test can hold weak references to what each session owned while real
aiortc clients connect over loopback and play a recorded fixture.
"""

import asyncio
import gc
import weakref

import aiohttp
import pytest

from rtvi_server.audio.silero_engine import shared_engine
from rtvi_server.server import ServerSettings, create_app
from rtvi_server.sessions.lifecycle import SessionRecord, SessionState
from rtvi_server.sessions.manager import EndedRecords
from rtvi_server.testing.webrtc_client import WebRTCTestClient

from ..conftest import FIXTURES, ROOT
from ..support.inprocess import serving
from ..support.wait import eventually

pytestmark = pytest.mark.slow

SPEECH = FIXTURES / "librivox_sense_and_sensibility_0870.wav"


def watch_sessions(backend):
    """Weak references to each session, its bot's worker and its link, as they start."""
    refs = []
    add = backend.manager.add

    def adding(session):
        refs.append(
            (weakref.ref(session), weakref.ref(session.bot.worker), weakref.ref(session.link))
        )
        add(session)

    backend.manager.add = adding
    return refs


async def one_connected(url, end):
    async with WebRTCTestClient(url) as client:
        await client.start({})
        await client.connect()
        assert (await client.request("client-ready", {}, timeout=30))["type"] == "bot-ready"
        client.play_wav(SPEECH)
        await asyncio.sleep(0.5)  # the user is mid-sentence when the session ends
        if end == "delete":
            async with aiohttp.ClientSession() as http:
                await http.delete(f"{url}/sessions/{client.session_id}")
            await client.wait_for_signal("peerLeft")
        elif end == "disconnect-bot":
            await client.send("disconnect-bot", {})
            await client.wait_for_signal("peerLeft")
    return client.session_id


async def test_ended_sessions_are_released_and_only_their_records_stay():
    settings = ServerSettings(bots_dir=ROOT / "bots", connect_timeout_secs=1.0)
    app = create_app(settings)
    backend = app.state.backend
    refs = watch_sessions(backend)
    async with serving(app) as url:
        ids = []
        async with aiohttp.ClientSession() as http:
            for i in range(6):
                async with http.post(url + "/start", json={}) as r:
                    sid = (await r.json())["sessionId"]
                ids.append(sid)
                if i % 2 == 0:  # deleted; the others end by the connect timeout
                    async with http.delete(f"{url}/sessions/{sid}") as r:
                        assert r.status == 200
        for end in ("delete", "disconnect-bot", "leave"):
            ids.append(await one_connected(url, end))
        # Every session ends (the unconnected ones by never_connected, the client that
        # left by client_gone), then nothing of them is left but records.
        await eventually(lambda: backend.manager.active == 0, what="every session ending")
        assert backend.manager.live_count == 0
        reasons = {backend.manager.record(sid).end_reason.value for sid in ids}
        assert reasons == {"deleted", "never_connected", "disconnect_bot", "client_gone"}
    gc.collect()
    alive = [i for i, group in enumerate(refs) for ref in group if ref() is not None]
    assert len(refs) == len(ids)
    assert alive == []
    assert shared_engine().streams == 0  # no VAD stream slot outlives its session


def test_the_ended_records_are_bounded_by_count_and_age():
    now = [1000.0]
    store = EndedRecords(max_count=3, max_age=60, clock=lambda: now[0])
    for i in range(5):
        now[0] = 1000.0 + i
        store.add(
            SessionRecord(
                id=f"s{i}",
                profile="p",
                services={},
                transport="webrtc",
                max_duration=1,
                state=SessionState.ENDED,
                ended=now[0],
            )
        )
    assert [r.id for r in store.all()] == ["s2", "s3", "s4"]  # the oldest went first
    now[0] = 1063.5
    assert [r.id for r in store.all()] == ["s4"]  # the others are past 60 s
    assert store.get("s3") is None


async def test_phone_call_and_http_action_sessions_are_released_too(fixtures):
    from rtvi_server.settings import TelephonySettings
    from rtvi_server.testing.phone import PhoneCall

    from ..support.carriers import CarrierStandIn
    from ..support.phone_webhooks import Signer, stream_of

    carriers = await CarrierStandIn().start()
    signer = Signer()
    env = signer.env(carriers.url)
    telephony = TelephonySettings.from_env(env)
    settings = ServerSettings(
        bots_dir=ROOT / "tests" / "server" / "bots", default_profile="echo", telephony=telephony
    )
    app = create_app(settings)
    backend = app.state.backend
    refs = watch_sessions(backend)
    try:
        async with serving(app) as url, aiohttp.ClientSession() as http:
            for i, provider in enumerate(("twilio", "telnyx", "plivo") * 2):
                hook = f"{url}/telephony/{provider}"
                _, markup = await signer.post(http, hook, provider, signer.form(provider, "+1555"))
                async with PhoneCall(provider, stream_of(provider, markup)) as phone:
                    await phone.silence(0.3)
                    if i % 2:  # the caller hangs up, or the operator ends the call
                        await phone.hang_up()
                    else:
                        (live,) = [s.id for s in backend.manager.live()]
                        await http.delete(f"{url}/sessions/{live}")
                        await carriers.wait_for(provider, "hang_up", phone.call_id)
                await eventually(lambda: backend.manager.active == 0, what="the call ending")
            body = {
                "actions": [
                    {"type": "action", "id": "a1", "data": {"service": "llm", "action": "x"}}
                ]
            }
            for _ in range(3):
                async with http.post(f"{url}/action", json=body) as r:
                    assert r.status == 200
            await eventually(lambda: backend.manager.active == 0, what="every session ending")
    finally:
        await carriers.stop()
    gc.collect()
    assert len(refs) == 9
    assert [i for i, group in enumerate(refs) for ref in group if ref() is not None] == []
