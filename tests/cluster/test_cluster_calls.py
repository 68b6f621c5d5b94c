"""Phone calls and HTTP actions in cluster mode: any host takes the webhook, any host
relays the media stream to the one the call was placed on, and the cap is the cluster's."""

import json
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio

from rtvi_server.testing.phone import PhoneCall

from ..support.carriers import CarrierStandIn
from ..support.cluster import Cluster, get_json
from ..support.phone_webhooks import Signer, refusal_of, stream_of
from ..support.wait import eventually

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phones(tmp_path_factory):
    carriers = await CarrierStandIn().start()
    signer = Signer()
    cluster = Cluster(tmp_path_factory.mktemp("calls"), [1, 1, 1], env=signer.env(carriers.url))
    yield cluster, carriers, signer
    cluster.stop()
    await carriers.stop()


def live(cluster):
    return get_json(cluster.hosts[0].url + "/sessions?state=live")[1]["sessions"]


async def test_calls_fill_the_cluster_each_relayed_through_another_host(phones):
    cluster, carriers, signer = phones
    a, b, c = cluster.hosts
    calls = []
    async with aiohttp.ClientSession() as http:
        try:
            for provider in ("twilio", "telnyx", "plivo"):
                hook = f"{a.url}/telephony/{provider}"
                form = signer.form(provider, "+15550100")
                _, markup = await signer.post(http, hook, provider, form)
                stream = stream_of(provider, markup)
                assert stream is not None, markup
                session_id = urlsplit(stream).path.split("/")[3]
                owner = get_json(f"{a.url}/sessions/{session_id}")[1]["host"]
                via = next(h for n, h in zip("abc", cluster.hosts, strict=True) if n != owner)
                relayed = via.url.replace("http", "ws", 1) + urlsplit(stream).path
                phone = await PhoneCall(provider, relayed).__aenter__()
                calls.append((provider, session_id, phone))
                await phone.silence(0.2)
                await eventually(
                    lambda s=session_id: get_json(f"{c.url}/sessions/{s}")[1]["state"] == "running",
                    what=f"the {provider} call's bot running on host {owner}",
                )
            assert sorted(i["host"] for i in live(cluster)) == ["a", "b", "c"]
            _, busy = await signer.post(
                http, f"{b.url}/telephony/twilio", "twilio", signer.form("twilio", "+15550100")
            )
            assert refusal_of("twilio", busy) == "busy"  # the cluster's cap, not one host's
            for provider, session_id, phone in calls:
                async with http.delete(f"{c.url}/sessions/{session_id}") as r:
                    assert r.status == 200
                await carriers.wait_for(provider, "hang_up", phone.call_id)
                await eventually(phone.closed_by_server.is_set, what="the relayed stream closing")
        finally:
            for _, _, phone in calls:
                await phone.__aexit__(None, None, None)
    await eventually(lambda: live(cluster) == [], what="every call ending")


async def test_an_http_action_runs_on_whichever_host_admits_it(phones):
    cluster, _, _ = phones
    unknown = {"service": "llm", "action": "no_such_action"}
    action = {"label": "rtvi-ai", "type": "action", "id": "c1", "data": unknown}
    async with aiohttp.ClientSession() as http:
        for host in cluster.hosts:
            async with http.post(f"{host.url}/action", json={"actions": [action]}) as r:
                reply = json.loads(await r.text())
            assert r.status == 200
            assert (reply["id"], reply["type"]) == ("c1", "error-response")
    await eventually(lambda: live(cluster) == [], what="the text sessions ending")
