"""The seed's client libraries from npm, in Node, over WebRTC (werift) to rtvi-server."""

import json

import pytest

from .conftest import run_node

pytestmark = pytest.mark.slow


def report_of(node_clients, script, server, tmp_path):
    out = tmp_path / "report.json"
    result = run_node(node_clients / "node" / script, server.url, str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert "failure" not in report, report["failure"]
    return report


def option(config, service, name):
    entry = next(e for e in config if e["service"] == service)
    return next(o["value"] for o in entry["options"] if o["name"] == name)


def test_realtime_ai_0_2_3_rtvi_client(node_clients, default_server, tmp_path):
    r = report_of(node_clients, "realtime-ai-023.mjs", default_server, tmp_path)
    cb = r["callbacks"]
    assert r["version"] == "0.2.3"
    # connect() resolves with bot-ready's data: version and the full config,
    # including the client's start-time config.
    assert r["botReady"]["version"] == "0.3.0"
    assert option(r["botReady"]["config"], "llm", "temperature") == 0.4
    assert cb["onBotReady"] == [r["botReady"]]
    assert [s["name"] for s in r["describe"]["data"]["config"]] == ["vad", "stt", "tts", "llm"]
    assert cb["onConfigDescribe"][0] == r["describe"]["data"]
    # The bounds ride along as extra keys of each option; the client passes them through.
    llm = next(s for s in r["describe"]["data"]["config"] if s["name"] == "llm")
    temperature = next(o for o in llm["options"] if o["name"] == "temperature")
    assert (temperature["minimum"], temperature["maximum"]) == (0, 2)
    assert [e["service"] for e in r["config"]] == ["vad", "stt", "tts", "llm"]
    assert option(r["updated"]["data"]["config"], "tts", "voice") == "en_US-joe-medium"
    assert cb["onConfig"]  # hydrated from the update's reply
    # The LLM helper's actions.
    assert r["context"]["messages"][0]["role"] == "system"
    assert r["appended"] is True  # the helper unwraps .data.result
    assert r["contextAfter"]["messages"][-1] == {
        "role": "user",
        "content": "Remember the number seven.",
    }
    assert r["ran"]["type"] == "action-response"  # run() resolves with the whole message
    assert r["ran"]["data"] == {"result": True}
    # An invalid update is rejected with the error-response, and onMessageError fires.
    assert r["invalidUpdate"]["type"] == "error-response"
    assert "option tts.speed expects number" in r["invalidUpdate"]["data"]["error"]
    assert any(m["id"] == r["invalidUpdate"]["id"] for m in cb["onMessageError"])
    # The bot turn's events reached the documented callbacks with their payload shapes.
    for name in ("onBotLlmStarted", "onBotLlmStopped", "onBotTtsStarted", "onBotTtsStopped"):
        assert cb.get(name), name
    assert all(isinstance(t["text"], str) for t in cb["onBotLlmText"])
    assert all(isinstance(t["text"], str) and t["text"] for t in cb["onBotTranscript"])
    assert {"ttfb", "processing"} & set(cb["onMetrics"][0])
    assert r["stateBeforeDisconnect"] == "ready"
    assert cb["onTransportStateChanged"][:5] == [
        "initialized",
        "authenticating",
        "connecting",
        "connected",
        "ready",
    ]
    assert "disconnected" in cb["onTransportStateChanged"]


def test_realtime_ai_0_1_9_voice_client(node_clients, default_server, tmp_path):
    r = report_of(node_clients, "realtime-ai-019.mjs", default_server, tmp_path)
    cb = r["callbacks"]
    # start() resolves once bot-ready has hydrated the client.
    assert r["started"]["version"] == "0.3.0"
    assert option(r["started"]["config"], "llm", "temperature") == 0.4
    assert cb["onBotReady"][0]["version"] == "0.3.0"
    assert r["describe"]["type"] == "config-available"
    assert r["config"]["type"] == "config"
    assert option(r["updated"]["data"]["config"], "llm", "max_tokens") == 30
    assert r["action"] == {
        "label": "rtvi-ai",
        "type": "action-response",
        "id": r["action"]["id"],
        "data": {"result": True},
    }
    # 0.1.x reads the bot's words from `tts-text`: onBotTranscript gets a string.
    assert cb["onBotTranscript"]
    assert all(isinstance(t, str) and t for t in cb["onBotTranscript"])
    assert r["badAction"]["data"]["error"] == "Action llm:summarise not registered"
    assert any(m["id"] == r["badAction"]["id"] for m in cb["onMessageError"])
    assert "ready" in cb["onTransportStateChanged"]
