"""The shared Smart Turn model decides exactly as pipecat's per-session analyzer.

Each fixture is fed, in 20 ms chunks with pipecat's VAD marking speech, to
pipecat's ``LocalSmartTurnAnalyzerV3`` and to ``SharedSmartTurnAnalyzer``; at
every VAD stop both judge the turn: same states, same probabilities.
"""

import pytest
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from rtvi_server.audio.shared_turn import SharedSmartTurnAnalyzer, shared_smart_turn
from rtvi_server.testing import read_wav_pcm16

pytestmark = pytest.mark.slow
RATE = 16000
CHUNK = RATE // 50 * 2  # 20 ms of 16-bit mono
FIXTURES = [
    "librivox_sense_and_sensibility_0870.wav",
    "librivox_sense_and_sensibility_0930.wav",
    "espeak_ng_weather_question.wav",
]


async def judged_turns(analyzer, pcm):
    vad = SileroVADAnalyzer(sample_rate=RATE, params=VADParams(stop_secs=0.2))
    vad.set_sample_rate(RATE)
    analyzer.set_sample_rate(RATE)
    speaking, turns = False, []
    for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
        chunk = pcm[i : i + CHUNK]
        state = await vad.analyze_audio(chunk)
        analyzer.append_audio(chunk, state in (VADState.SPEAKING, VADState.STARTING))
        if state == VADState.SPEAKING:
            speaking = True
        elif state == VADState.QUIET and speaking:
            speaking = False
            result, metrics = await analyzer.analyze_end_of_turn()
            turns.append((i, result, round(metrics.probability, 6) if metrics else None))
    return turns


@pytest.mark.parametrize("name", FIXTURES)
async def test_turn_decisions_are_pipecats_on_every_fixture(fixtures, name):
    pcm = read_wav_pcm16(fixtures / name, RATE) + b"\0" * RATE * 3  # 1.5 s of silence after
    theirs = await judged_turns(LocalSmartTurnAnalyzerV3(), pcm)
    ours = await judged_turns(SharedSmartTurnAnalyzer(), pcm)
    assert theirs, "the VAD heard no turn"
    assert ours == theirs


def test_every_session_shares_one_model():
    a, b = SharedSmartTurnAnalyzer(), SharedSmartTurnAnalyzer()
    assert a is not b
    assert shared_smart_turn() is shared_smart_turn()
