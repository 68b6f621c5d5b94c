"""The telephony routes' guarantees, against a real server with a light bot.

Webhooks are checked against each provider's signature; the operator's number
mapping picks the bot; a full server turns calls away the provider's way; the
media socket needs its token and the right provider; ``POST /calls`` dials
through the provider's REST API (a loopback stand-in) and the answered call
reaches the bot.
"""

import json
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio

from rtvi_server.testing.phone import PhoneCall

from ..conftest import ROOT
from ..support.carriers import REFUSED_NUMBER, CarrierStandIn, basic
from ..support.phone_webhooks import (
    PLIVO_ID,
    PLIVO_TOKEN,
    TELNYX_KEY,
    TWILIO_SID,
    TWILIO_TOKEN,
    Signer,
    refusal_of,
    stream_of,
)
from ..support.serverproc import ServerProcess
from ..support.wait import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
API_KEY = "server-key-SENTINEL"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
MAPPED = "+15550100100"
PROVIDERS = ["twilio", "telnyx", "plivo"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phones():
    carriers = await CarrierStandIn().start()
    signer = Signer()
    numbers = {MAPPED: {"bot_profile": "echo", "max_duration": 60}}
    env = {
        **signer.env(carriers.url),
        "RTVI_SERVER_API_KEY": API_KEY,
        "RTVI_TELEPHONY_NUMBERS": json.dumps(numbers),
    }
    bots = ROOT / "tests" / "server" / "bots"
    server = ServerProcess(bots_dir=bots, default_profile="echo", env=env, max_sessions=1)
    server.wait_ready()
    yield server, carriers, signer
    server.terminate()
    await carriers.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def http(phones):
    server = phones[0]
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session
        # Every test leaves the server empty for the next (its cap is one session).
        async with session.get(f"{server.url}/sessions?state=live") as r:
            live = (await r.json())["sessions"]
        for info in live:
            await session.delete(f"{server.url}/sessions/{info['session_id']}")


async def live_sessions(http, server):
    async with http.get(f"{server.url}/sessions?state=live") as r:
        return (await r.json())["sessions"]


async def webhook(http, server, signer, provider, to=MAPPED, **kwargs):
    url = f"{server.url}/telephony/{provider}"
    return await signer.post(http, url, provider, signer.form(provider, to), **kwargs)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_mis_signed_or_unsigned_webhook_is_refused_and_starts_nothing(
    phones, http, provider
):
    server, _, signer = phones
    status, body = await webhook(http, server, signer, provider, tamper=True)
    assert status == 403, body
    assert json.loads(body)["field"] == "signature"
    url = f"{server.url}/telephony/{provider}"
    unsigned = {"To": MAPPED, "From": "+15550199999"}
    async with aiohttp.ClientSession() as bare, bare.post(url, data=unsigned) as r:
        assert r.status == 403
    assert await live_sessions(http, server) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_called_number_picks_the_bot_and_the_media_stream_reaches_it(
    phones, http, provider
):
    server, _, signer = phones
    status, markup = await webhook(http, server, signer, provider)
    assert status == 200, markup
    stream = stream_of(provider, markup)
    assert stream is not None
    assert stream.startswith(server.url.replace("http", "ws") + "/telephony/media/")
    (info,) = await live_sessions(http, server)
    assert (info["profile"], info["transport"], info["max_duration"]) == ("echo", provider, 60)
    assert info["state"] == "starting"
    async with PhoneCall(provider, stream) as phone:
        await phone.silence(0.2)

        async def running():
            (current,) = await live_sessions(http, server)
            return current["state"] == "running"

        await eventually(running, what="the bot to run")


async def test_a_call_to_an_unmapped_number_is_rejected(phones, http):
    server, _, signer = phones
    status, markup = await webhook(http, server, signer, "twilio", to="+15559999999")
    assert status == 200
    assert refusal_of("twilio", markup) == "rejected"
    assert await live_sessions(http, server) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_call_at_the_cap_gets_the_providers_busy_answer(phones, http, provider):
    server, _, signer = phones
    status, first = await webhook(http, server, signer, provider)
    assert stream_of(provider, first) is not None
    status, second = await webhook(http, server, signer, provider)
    assert status == 200
    assert refusal_of(provider, second) == "busy"
    assert stream_of(provider, second) is None
    assert len(await live_sessions(http, server)) == 1


async def test_the_media_socket_needs_its_token_and_the_right_provider(phones, http):
    server, _, signer = phones
    _, markup = await webhook(http, server, signer, "twilio")
    stream = stream_of("twilio", markup)
    assert stream is not None
    wrong = stream.rsplit("/", 1)[0] + "/not-the-token"
    async with aiohttp.ClientSession() as bare:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await bare.ws_connect(wrong)
        assert refused.value.status == 403
    async with PhoneCall("plivo", stream) as phone:  # a Plivo stream on a Twilio call
        await eventually(phone.closed_by_server.is_set, what="the socket to close")
    (info,) = await live_sessions(http, server)
    assert info["state"] == "starting"  # the bot never ran on it


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_post_calls_dials_out_and_the_answered_call_reaches_the_bot(phones, http, provider):
    server, carriers, signer = phones
    body = {"provider": provider, "to": "+15550142424", "from": MAPPED}
    async with http.post(f"{server.url}/calls", json=body) as r:
        placed = await r.json()
        assert r.status == 201, placed
    dial = carriers.of(provider, "dial")[-1]
    assert placed["call_id"] == dial.call_id
    (info,) = await live_sessions(http, server)
    assert (info["session_id"], info["profile"]) == (placed["session_id"], "echo")
    if provider == "twilio":
        assert dial.auth == basic(TWILIO_SID, TWILIO_TOKEN)
        assert (dial.body["To"], dial.body["From"]) == ("+15550142424", MAPPED)
        stream = stream_of("twilio", dial.body["Twiml"])
    elif provider == "telnyx":
        assert dial.auth == f"Bearer {TELNYX_KEY}"
        assert dial.body["connection_id"] == "telnyx-connection-1"
        stream = dial.body["stream_url"]
    else:
        assert dial.auth == basic(PLIVO_ID, PLIVO_TOKEN)
        answer_url = dial.body["answer_url"]
        assert urlsplit(answer_url).path == f"/telephony/plivo/calls/{placed['session_id']}"
        form = signer.form("plivo", "+15550142424")
        status, markup = await signer.post(http, answer_url, "plivo", form)
        assert status == 200, markup
        stream = stream_of("plivo", markup)
    assert stream is not None
    async with PhoneCall(provider, stream) as phone:
        await phone.silence(0.2)

        async def running():
            (current,) = await live_sessions(http, server)
            return current["state"] == "running"

        await eventually(running, what="the dialled call to reach the bot")
        async with http.delete(f"{server.url}/sessions/{placed['session_id']}") as r:
            assert r.status == 200
        await carriers.wait_for(provider, "hang_up", phone.call_id)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_call_the_provider_refuses_is_a_502_and_leaves_no_session(phones, http, provider):
    server, _, _ = phones
    body = {"provider": provider, "to": REFUSED_NUMBER, "from": MAPPED}
    async with http.post(f"{server.url}/calls", json=body) as r:
        refused = await r.json()
    assert r.status == 502, refused
    assert refused["field"] == "provider"
    assert "key=x" not in json.dumps(refused)
    assert await live_sessions(http, server) == []


async def test_post_calls_needs_the_bearer_key_and_names_bad_fields(phones, http):
    server, _, _ = phones
    async with aiohttp.ClientSession() as bare:
        body = {"provider": "twilio", "to": "+15550142424", "from": MAPPED}
        async with bare.post(f"{server.url}/calls", json=body) as r:
            assert r.status == 401
    for body, field in [
        ({"provider": "skype", "to": "+15550142424", "from": MAPPED}, "provider"),
        ({"provider": "twilio", "to": "<x>", "from": MAPPED}, "to"),
        ({"provider": "twilio", "to": "+15550142424"}, "from"),
    ]:
        async with http.post(f"{server.url}/calls", json=body) as r:
            refused = await r.json()
        assert (r.status, refused["field"]) == (400, field), refused
    assert await live_sessions(http, server) == []


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def worker_phones(phones):
    _, carriers, signer = phones
    env = {**signer.env(carriers.url), "RTVI_SERVER_API_KEY": API_KEY}
    bots = ROOT / "tests" / "server" / "bots"
    server = ServerProcess(
        bots_dir=bots, default_profile="echo", env=env, extra_args=["--workers", "2"]
    )
    server.wait_ready()
    yield server
    server.terminate()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_with_workers_a_call_is_relayed_to_the_worker_running_its_bot(
    phones, worker_phones, provider
):
    _, carriers, signer = phones
    server = worker_phones
    async with aiohttp.ClientSession(headers=AUTH) as http:
        _, markup = await webhook(http, server, signer, provider)
        stream = stream_of(provider, markup)
        assert stream is not None, markup
        session_id = urlsplit(stream).path.split("/")[3]
        async with PhoneCall(provider, stream) as phone:
            await phone.silence(0.2)

            async def running():
                async with http.get(f"{server.url}/sessions/{session_id}") as r:
                    info = await r.json()
                return info["state"] == "running" and info.get("worker") is not None

            await eventually(running, what="the bot to run on a worker")
            async with http.delete(f"{server.url}/sessions/{session_id}") as r:
                assert r.status == 200
            await carriers.wait_for(provider, "hang_up", phone.call_id)
            await eventually(phone.closed_by_server.is_set, what="the relayed socket to close")
