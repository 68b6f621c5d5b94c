"""The shared Smart Turn model decides exactly as pipecat's per-session analyzer.

Each fixture is fed, in 20 ms chunks with pipecat's VAD marking speech, to
pipecat's ``LocalSmartTurnAnalyzerV3`` and to ``SharedSmartTurnAnalyzer``; at
every VAD stop both judge the turn: same states, same probabilities. The
analyzers' clock advances 20 ms per chunk, as it does for a live microphone
(pipecat picks the audio to judge by arrival time), and the shared analyzer
decides the same when the listening gate delivers the pre-roll in one burst.
"""

import threading
import time

import numpy as np
import pytest
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

from rtvi_server.audio.shared_turn import (
    SharedSmartTurnAnalyzer,
    model_thread,
    shared_smart_turn,
)
from rtvi_server.testing import read_wav_pcm16

pytestmark = pytest.mark.slow
RATE = 16000
CHUNK = RATE // 50 * 2  # 20 ms of 16-bit mono
FIXTURES = [
    "librivox_sense_and_sensibility_0870.wav",
    "librivox_sense_and_sensibility_0930.wav",
    "espeak_ng_weather_question.wav",
]


class MicrophoneClock:
    """The analyzers' clock: 20 ms later for every chunk a microphone sends."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def perf_counter(self):  # pipecat times the inference with it (metrics only)
        return time.perf_counter()


@pytest.fixture
def clock(monkeypatch):
    import pipecat.audio.turn.smart_turn.base_smart_turn as base

    fake = MicrophoneClock()
    monkeypatch.setattr(base, "time", fake)
    return fake


def room(seconds):
    rng = np.random.default_rng(7)
    return rng.normal(0, 30, int(RATE * seconds)).astype(np.int16).tobytes()


async def judged_turns(analyzer, pcm, clock, *, gated=False):
    """Each VAD stop's judgement. ``gated``: the audio before the VAD confirms speech
    reaches the analyzer as the listening gate delivers it, 1.2 s at once."""
    vad = SileroVADAnalyzer(sample_rate=RATE, params=VADParams(stop_secs=0.2))
    vad.set_sample_rate(RATE)
    analyzer.set_sample_rate(RATE)
    analyzer.update_vad_start_secs(vad.params.start_secs)
    speaking, held, turns = False, [], []
    for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
        clock.now += 0.02
        chunk = pcm[i : i + CHUNK]
        state = await vad.analyze_audio(chunk)
        if gated and held is not None:
            held.append(chunk)
        else:
            analyzer.append_audio(chunk, speaking)
        if state == VADState.SPEAKING and not speaking:
            if gated and held is not None:
                for early in held[-60:]:
                    analyzer.append_audio(early, False)
                held = None  # the gate stays open for the rest of the fixture
            speaking = True
        elif state == VADState.QUIET and speaking:
            speaking = False
            result, metrics = await analyzer.analyze_end_of_turn()
            turns.append((i, result, round(metrics.probability, 6) if metrics else None))
    return turns


@pytest.mark.parametrize("name", FIXTURES)
async def test_turn_decisions_are_pipecats_on_every_fixture(fixtures, name, clock):
    speech = read_wav_pcm16(fixtures / name, RATE)
    for tenths in (10, 6, 4):  # the whole fixture, and cut off mid-sentence
        cut = speech[: len(speech) * tenths // 10 // 2 * 2]
        pcm = room(2.0) + cut + b"\0" * RATE * 3  # 1.5 s of silence after
        theirs = await judged_turns(LocalSmartTurnAnalyzerV3(), pcm, clock)
        assert theirs, "the VAD heard no turn"
        assert await judged_turns(SharedSmartTurnAnalyzer(), pcm, clock) == theirs
        # Behind the listening gate the pre-roll arrives in one burst: the same judgements.
        gated = await judged_turns(SharedSmartTurnAnalyzer(), pcm, clock, gated=True)
        assert gated == theirs
        if tenths == 10:  # pipecat's own analyzer, given the burst, judges with all of it
            assert await judged_turns(LocalSmartTurnAnalyzerV3(), pcm, clock, gated=True) != theirs


def test_every_session_shares_one_model():
    a, b = SharedSmartTurnAnalyzer(), SharedSmartTurnAnalyzer()
    assert a is not b
    assert shared_smart_turn() is shared_smart_turn()


class ThreadRecordingAnalyzer(SharedSmartTurnAnalyzer):
    """Records the thread each prediction runs on."""

    def __init__(self, threads):
        super().__init__()
        self.threads = threads

    def _predict_endpoint(self, audio_array):
        self.threads.append(threading.current_thread())
        return super()._predict_endpoint(audio_array)


async def test_every_sessions_inference_runs_on_the_models_one_thread(fixtures, clock):
    speech = read_wav_pcm16(fixtures / FIXTURES[2], RATE)
    pcm = room(1.0) + speech + b"\0" * RATE * 2
    threads = []
    for _ in range(3):  # three sessions, one after another
        analyzer = ThreadRecordingAnalyzer(threads)
        assert await judged_turns(analyzer, pcm, clock)
        await analyzer.cleanup()  # pipecat stops a session's own thread here
    assert len(threads) >= 3
    assert len(set(threads)) == 1
    assert threads[0] is not threading.current_thread()  # never the event loop's
    assert threads[0].is_alive()  # a session's cleanup leaves the process's thread running


def test_a_sessions_analyzer_loads_the_model_before_its_first_turn(monkeypatch):
    import rtvi_server.audio.shared_turn as shared

    monkeypatch.setattr(shared, "_shared", None)  # as in a process no session has used
    SharedSmartTurnAnalyzer()
    model_thread().submit(lambda: None).result()  # the thread has done what came before
    assert shared._shared is not None
