"""The modern official client in a real browser, through the page rtvi-server serves."""

import json
import shutil
import wave
from urllib.parse import urlparse

import pytest

from rtvi_server.testing import word_error_rate

from ..conftest import ROOT, fixture_text
from .conftest import run_node

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "test-artifacts"


def padded_wav(src, dst, seconds):
    """The fixture followed by silence (Chromium loops its fake microphone)."""
    with wave.open(str(src)) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    with wave.open(str(dst), "wb") as out:
        out.setparams(params)
        out.writeframes(frames + b"\0" * (params.framerate * params.sampwidth * seconds))


@pytest.mark.parametrize("transport", ["webrtc", "websocket"])
def test_page_with_client_js_1_13_in_chromium(
    node_clients, default_server, fixtures, tmp_path, transport
):
    """startBotAndConnect() with each official transport, through a spoken turn."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
    wav = fixtures / "librivox_sense_and_sensibility_0870.wav"
    mic = tmp_path / "mic.wav"
    padded_wav(wav, mic, 9)
    expected = fixture_text(wav)
    first_words = " ".join(expected.split()[:3])
    result = run_node(
        node_clients / "browser" / "page-flow.mjs",
        default_server.url,
        str(mic),
        str(tmp_path),
        first_words,
        transport,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)
    if (tmp_path / "page.png").exists():
        shutil.copy(tmp_path / "page.png", ARTIFACTS / f"web-page-{transport}.png")
    assert "failure" not in report, report["failure"] + "\n" + "\n".join(report["console"][-20:])

    # Nothing left loopback, and the page loaded nothing from outside the server.
    assert report["outside"] == []
    assert all(
        urlparse(u).hostname == "127.0.0.1" for u in report["requests"] if u.startswith("http")
    )
    assert report["requests"], "the interception saw no requests"

    page = report["page"]
    kinds = [e["kind"] for e in page["events"]]
    for kind in (
        "bot-ready",
        "user-started-speaking",
        "user-stopped-speaking",
        "bot-started-speaking",
        "bot-llm-text",
    ):
        assert kind in kinds, kind
    assert page["transport"] == transport
    best = min(word_error_rate(expected, t) for t in page["userTranscripts"])
    assert best <= 0.10, page["userTranscripts"]
    # The bot's words came as bot-output (client-js 1.13's onBotOutput), not the fallback.
    assert page["botOutputs"] > 0
    assert any(t.strip() for t in page["botTranscripts"]), page["botTranscripts"]
    assert page["latencies"]
    assert all(0 < ms < 30_000 for ms in page["latencies"])
    if transport == "webrtc":  # the WebSocket transport plays audio without a track
        assert page["botAudioPeak"] > 0.02
    # The config form: a change applied, a refused one explained in plain words.
    assert page["lastUpdate"] == [
        {"service": "llm", "options": [{"name": "temperature", "value": 0.15}]}
    ]
    temperature = next(
        o
        for e in page["config"]
        if e["service"] == "llm"
        for o in e["options"]
        if o["name"] == "temperature"
    )
    assert temperature["value"] == 0.15
    assert page["errors"] == [
        "The bot refused the change: data.config[0].options[0]: llm.max_tokens must be between 1 and 4096"
    ]
    assert (ARTIFACTS / f"web-page-{transport}.png").stat().st_size > 10_000
    assert report["finalStatus"] == "disconnected"
