"""The seed's HTTP action endpoint (spec 9.3): actions from a client that is not connected.

realtime-ai 0.2.3 in Node calls ``action()`` while disconnected; the server runs
it on a text-only instance of the offline default bot whose LLM is a loopback
OpenAI-compatible stand-in (key and URL server-side), and answers one JSON RTVI
message or a stream of base64 RTVI messages ending with the action's reply.
"""

import asyncio
import base64
import json

import aiohttp
import pytest
import pytest_asyncio

from ..conftest import ROOT
from ..support.openai_server import OpenAICompatibleServer
from ..support.serverproc import ServerProcess
from .conftest import CLIENTS

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
REPLY = ["It is", " sunny", " in Paris", " today."]
API_KEY = "server-key-SENTINEL"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def action(action_id, name, arguments=(), service="llm"):
    data = {"service": service, "action": name, "arguments": list(arguments)}
    return {"label": "rtvi-ai", "type": "action", "id": action_id, "data": data}


APPEND = action(
    "a-run",
    "append_to_messages",
    [
        {"name": "messages", "value": [{"role": "user", "content": "Weather in Paris?"}]},
        {"name": "run_immediately", "value": True},
    ],
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers():
    chat = await OpenAICompatibleServer(reply_tokens=REPLY).start()
    env = {
        "RTVI_SERVER_API_KEY": API_KEY,
        "TOGETHER_API_KEY": "tg-SENTINEL",
        "TOGETHER_BASE_URL": f"{chat.url}/together/v1",
    }
    single = ServerProcess(bots_dir=ROOT / "bots", env=env).wait_ready()
    workers = ServerProcess(bots_dir=ROOT / "bots", env=env, extra_args=["--workers", "2"])
    workers.wait_ready()
    yield {"single": single, "workers": workers}, chat
    single.terminate()
    workers.terminate()
    await chat.stop()


async def post(server, body):
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.post(f"{server.url}/action", json=body) as r,
    ):
        kind = r.headers.get("Content-Type", "")
        if kind.startswith("text/event-stream"):
            text = await r.text()
            events = [b for b in text.split("\n\n") if b.strip()]
            assert all(e.startswith("data: ") and "\n" not in e for e in events), text
            return r.status, [json.loads(base64.b64decode(e[6:])) for e in events]
        return r.status, await r.json()


async def live(server):
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.get(f"{server.url}/sessions?state=live") as r,
    ):
        return (await r.json())["sessions"]


@pytest.mark.parametrize("mode", ["single", "workers"])
async def test_an_action_without_events_is_one_json_reply(servers, mode):
    server = servers[0][mode]
    status, reply = await post(server, {"actions": [action("a-get", "get_context")]})
    assert status == 200
    assert (reply["type"], reply["id"]) == ("action-response", "a-get")
    assert reply["data"]["result"]["messages"][0]["role"] == "system"
    assert await live(server) == []  # the text-only instance is gone


@pytest.mark.parametrize("mode", ["single", "workers"])
async def test_an_llm_action_streams_its_text_and_ends_with_its_reply(servers, mode):
    (by_mode, chat) = servers
    server = by_mode[mode]
    body = {"services": {"llm": "together"}, "rtvi_client_version": "0.2.3", "actions": [APPEND]}
    status, messages = await post(server, body)
    assert status == 200
    kinds = [m["type"] for m in messages]
    assert kinds[-1] == "action-response"
    assert messages[-1] == {
        "label": "rtvi-ai",
        "type": "action-response",
        "id": "a-run",
        "data": {"result": True},
    }
    assert kinds.index("bot-llm-started") < kinds.index("bot-llm-stopped")
    text = "".join(m["data"]["text"] for m in messages if m["type"] == "bot-llm-text")
    assert text == "".join(REPLY)
    assert chat.requests[-1].headers["Authorization"] == "Bearer tg-SENTINEL"
    assert "tg-SENTINEL" not in json.dumps(messages)
    assert await live(server) == []


async def test_bad_bodies_are_400s_naming_the_field_and_unknown_actions_error_responses(servers):
    server = servers[0]["single"]
    for body, field in [
        ({}, "actions"),
        ({"actions": []}, "actions"),
        ({"actions": [{"type": "action"}]}, "actions[0]"),
        ({"actions": [action("x", "get_context")], "bot_profile": "../etc"}, "bot_profile"),
        ({"actions": [action("x", "get_context")], "services": {"llm": "nope"}}, "services.llm"),
    ]:
        status, reply = await post(server, body)
        assert (status, reply.get("field")) == (400, field), reply
    status, reply = await post(server, {"actions": [action("a-bad", "no_such_action")]})
    assert status == 200
    assert (reply["type"], reply["id"]) == ("error-response", "a-bad")
    async with aiohttp.ClientSession() as bare, bare.post(f"{server.url}/action", json={}) as r:
        assert r.status == 401
    assert await live(server) == []


async def test_realtime_ai_0_2_3_action_while_disconnected(servers, node_clients, tmp_path):
    server = servers[0]["single"]
    out = tmp_path / "report.json"
    script = CLIENTS / "node" / "realtime-ai-http-action.mjs"
    node = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        server.url,
        str(out),
        API_KEY,
        cwd=CLIENTS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(node.communicate(), 150)
    assert node.returncode == 0, stderr.decode()[-3000:]
    report = json.loads(out.read_text())
    assert "failure" not in report, report["failure"]
    assert report["stateBefore"] == report["stateAfter"]  # never connected
    assert report["context"]["type"] == "action-response"
    assert report["context"]["data"]["result"]["messages"][0]["role"] == "system"
    assert report["appended"]["data"] == {"result": True}
    texts = report["callbacks"]["onBotLlmText"]
    assert "".join(t["text"] for t in texts) == "".join(REPLY)
    assert report["callbacks"]["onBotLlmStopped"]
    assert "no_such_action" in report["unknown"]["error"]  # the promise was rejected
    assert await live(server) == []
