"""A model loading for one session never holds up another session's audio.

Session A starts with a trusted start config naming a voice whose load takes
seconds; meanwhile session B, already talking, keeps getting its VAD events
on time. Then A switches voice at runtime to another slow one: likewise.
"""

import asyncio
import shutil
import time

import pytest

from rtvi_server.services import local_tts
from rtvi_server.services.local_models import piper_download_dir, piper_voice_path
from rtvi_server.testing import BotHarness

from ..conftest import ROOT

pytestmark = pytest.mark.slow
SLOW_SECS = 3.0
SPEECH = "librivox_sense_and_sensibility_0870.wav"


@pytest.fixture
def slow_voices(tmp_path, monkeypatch):
    """Two installed voices whose first load takes SLOW_SECS (in the loader's thread)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    src = piper_voice_path("en_US-joe-medium")
    for name in ("slow-one", "slow-two"):
        shutil.copy(src, piper_download_dir() / f"{name}.onnx")
        shutil.copy(src.with_suffix(".onnx.json"), piper_download_dir() / f"{name}.onnx.json")
    load = local_tts.PIPER_VOICES._loader

    def slow_load(name):
        if name.startswith("slow-"):
            time.sleep(SLOW_SECS)  # the load itself, in a worker thread
        return load(name)

    monkeypatch.setattr(local_tts.PIPER_VOICES, "_loader", slow_load)


async def speech_heard_within(bot, fixtures, seconds):
    """B speaks; its user-started-speaking must come within ``seconds`` of the speech."""
    count = len(bot.events("user-started-speaking"))
    started = time.monotonic()
    playing = asyncio.create_task(bot.play_wav(fixtures / SPEECH))
    await bot.wait_for(lambda m: len(bot.events("user-started-speaking")) > count, timeout=10)
    heard_after = time.monotonic() - started
    playing.cancel()
    assert heard_after < seconds, heard_after


async def test_a_slow_model_load_does_not_delay_another_sessions_vad_events(slow_voices, fixtures):
    async with BotHarness.from_file(ROOT / "bots" / "default.py") as b:
        await b.connect()
        start_config = [{"service": "tts", "options": [{"name": "voice", "value": "slow-one"}]}]
        a = BotHarness.from_file(ROOT / "bots" / "default.py", config=start_config)
        building = asyncio.create_task(a.__aenter__())  # loads "slow-one" for SLOW_SECS
        await speech_heard_within(b, fixtures, SLOW_SECS / 2)
        assert not building.done()  # B was heard while A's voice was still loading
        await building
        try:
            await a.connect()
            switching = asyncio.create_task(
                a.request(
                    "update-config",
                    {
                        "config": [
                            {"service": "tts", "options": [{"name": "voice", "value": "slow-two"}]}
                        ]
                    },
                    timeout=SLOW_SECS * 3,
                )
            )
            await b.silence(1.0)
            await speech_heard_within(b, fixtures, SLOW_SECS / 2)
            assert (await switching)["type"] == "config"
        finally:
            await a.__aexit__(None, None, None)
