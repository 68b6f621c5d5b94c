"""The listening user aggregator: pipecat's, except that the user's audio stops there."""

import pytest
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    InputAudioRawFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.tests.utils import run_test

from rtvi_server.audio import BatchedSileroVADAnalyzer
from rtvi_server.processor import ListeningUserAggregator, listening_aggregators
from rtvi_server.testing import read_wav_pcm16


def spoken_frames(fixtures):
    pcm = read_wav_pcm16(fixtures / "librivox_sense_and_sensibility_0930.wav", 16000)
    pcm = b"\0" * 16000 + pcm + b"\0" * 32000  # half a second of quiet either side
    return [
        InputAudioRawFrame(audio=pcm[i : i + 640], sample_rate=16000, num_channels=1)
        for i in range(0, len(pcm) - 639, 640)
    ]


def user_params():
    return LLMUserAggregatorParams(
        vad_analyzer=BatchedSileroVADAnalyzer(params=VADParams(stop_secs=0.2))
    )


def count(frames, kind):
    return sum(isinstance(f, kind) for f in frames)


async def test_audio_stops_at_the_user_aggregator_and_vad_events_do_not(fixtures):
    ours, _ = listening_aggregators(LLMContext(), user_params=user_params())
    stock, _ = LLMContextAggregatorPair(LLMContext(), user_params=user_params())
    got, _ = await run_test(ours, frames_to_send=spoken_frames(fixtures))
    expected, _ = await run_test(stock, frames_to_send=spoken_frames(fixtures))

    assert count(expected, InputAudioRawFrame) > 100
    assert count(got, InputAudioRawFrame) == 0
    for kind in (VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame):
        assert count(got, kind) == count(expected, kind) >= 1
    without_audio = [type(f) for f in expected if not isinstance(f, InputAudioRawFrame)]
    assert [type(f) for f in got] == without_audio


def test_the_pair_is_wired_as_pipecat_wires_it():
    context = LLMContext()
    user, assistant = listening_aggregators(context)
    assert isinstance(user, ListeningUserAggregator)
    assert isinstance(assistant, LLMAssistantAggregator)
    assert user.context is context
    assert assistant.context is context


def test_turn_endings_by_name():
    from pipecat.turns.user_stop import (
        SpeechTimeoutUserTurnStopStrategy,
        TurnAnalyzerUserTurnStopStrategy,
    )

    from rtvi_server.audio.shared_turn import SharedSmartTurnAnalyzer
    from rtvi_server.processor import user_turn_strategies

    (smart,) = user_turn_strategies("smart-turn").stop
    assert isinstance(smart, TurnAnalyzerUserTurnStopStrategy)
    assert isinstance(smart._turn_analyzer, SharedSmartTurnAnalyzer)  # pipecat's, one model
    (vad,) = user_turn_strategies("vad").stop
    assert isinstance(vad, SpeechTimeoutUserTurnStopStrategy)
    assert vad._user_speech_timeout == 0.0
    with pytest.raises(ValueError, match="smart-turn, vad"):
        user_turn_strategies("llm")


async def test_a_vad_turn_ends_at_the_vad_stop_once_the_transcript_is_in(fixtures):
    """With turn_end="vad" the user turn stops right after VAD stop + transcript."""
    from pipecat.frames.frames import TranscriptionFrame, UserStoppedSpeakingFrame

    from rtvi_server.processor import user_turn_strategies

    params = user_params()
    params.user_turn_strategies = user_turn_strategies("vad")
    user, _ = listening_aggregators(LLMContext(), user_params=params)
    frames = spoken_frames(fixtures)
    frames.insert(len(frames) - 5, TranscriptionFrame("hello", "", "now", finalized=True))
    got, _ = await run_test(user, frames_to_send=frames)
    assert count(got, UserStoppedSpeakingFrame) == 1
