"""The default bot, offline, on real recorded speech (issue: services and offline bot)."""

import asyncio
import shutil

import numpy as np
import pytest

from rtvi_server.services.local_models import (
    piper_download_dir,
    piper_voice_path,
)
from rtvi_server.testing import BotHarness, word_error_rate

from ..conftest import ROOT, fixture_text
from ..support.network_guard import loopback_only
from ..support.speech import transcribe

pytestmark = pytest.mark.slow


async def test_default_bot_hears_answers_and_speaks_offline(fixtures, tmp_path, monkeypatch):
    wav = fixtures / "librivox_sense_and_sensibility_0870.wav"
    # An operator installed a second voice (in the Piper download folder): clients may
    # switch to it by name; never by a path.
    monkeypatch.setenv("HOME", str(tmp_path))
    voices = piper_download_dir()
    src = piper_voice_path("en_US-joe-medium")
    shutil.copy(src, voices / "joe-copy.onnx")
    shutil.copy(src.with_suffix(".onnx.json"), voices / "joe-copy.onnx.json")
    with loopback_only() as outside:
        async with BotHarness.from_file(ROOT / "bots" / "default.py") as bot:
            ready = await bot.connect()
            assert [e["service"] for e in ready["data"]["config"]] == ["vad", "stt", "tts", "llm"]

            await bot.play_wav(wav)
            await bot.silence(1.0)
            final = await bot.wait_for_event("user-transcription", lambda m: m["data"]["final"])
            wer = word_error_rate(fixture_text(wav), final["data"]["text"])
            assert wer <= 0.10, (wer, final["data"]["text"])

            await bot.wait_for_event("bot-llm-stopped", timeout=60)
            await bot.wait_for_event("bot-stopped-speaking", timeout=60)
            reply = bot.bot_text()
            assert len(reply.split()) >= 2, reply
            assert bot.events("bot-started-speaking")

            audio = bot.audio
            assert np.abs(np.frombuffer(audio, dtype=np.int16)).max() > 1000  # not silence
            heard = await asyncio.to_thread(transcribe, audio, bot.audio_sample_rate)
            tts_wer = word_error_rate(reply, heard)
            assert tts_wer <= 0.30, (tts_wer, reply, heard)

            # Runtime changes reach the running services before the next turn.
            resources = bot.bot.resources
            packaged = resources["tts"]._voice.config
            old_voice = resources["tts"]._voice
            confidence = resources["vad"].params.confidence
            update = {
                "config": [
                    {
                        "service": "vad",
                        "options": [{"name": "params", "value": {"stop_secs": 0.3}}],
                    },
                    {
                        "service": "tts",
                        "options": [{"name": "voice", "value": "joe-copy"}],
                    },
                ]
            }
            reply_msg = await bot.request("update-config", update)
            assert reply_msg["type"] == "config", reply_msg
            second = fixtures / "librivox_sense_and_sensibility_0930.wav"
            await bot.play_wav(second)
            await bot.silence(1.0)
            await bot.wait_for(lambda m: len(bot.events("bot-stopped-speaking")) >= 2, timeout=60)
            assert resources["vad"].params.stop_secs == 0.3
            assert resources["vad"].params.confidence == confidence  # the other keys stayed
            assert resources["tts"]._voice is not old_voice
            assert resources["tts"]._voice.config.sample_rate == packaged.sample_rate
    assert outside == []
