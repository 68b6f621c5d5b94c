"""The listening gate: pipecat's VAD events at the same audio, the same STT segments,
and no audio past the gate while nobody speaks."""

import asyncio
from collections.abc import AsyncGenerator

import numpy as np
import pytest
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.stt_service import SegmentedSTTService, STTService
from pipecat.tests.utils import run_test
from pipecat.turns.user_mute import AlwaysUserMuteStrategy
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.time import time_now_iso8601
from pipecat.workers.runner import WorkerRunner

from rtvi_server.processor import (
    ListeningGate,
    gates_audio,
    listening_aggregators,
    listening_stage,
    user_turn_strategies,
)
from rtvi_server.testing import read_wav_pcm16

FIXTURES = (
    "librivox_sense_and_sensibility_0870.wav",
    "librivox_sense_and_sensibility_0930.wav",
    "espeak_ng_weather_question.wav",
)
CHUNK = 640  # 20 ms at 16 kHz
PARAMS = VADParams(stop_secs=0.3)
EVENTS = (VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame)


def room(seconds, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 30, int(16000 * seconds)).astype(np.int16).tobytes()


def two_turns(fixtures, name):
    """A quiet room, the fixture, a pause, the fixture again, a quiet room."""
    pcm = read_wav_pcm16(fixtures / name, 16000)
    return room(1.5, 1) + pcm + room(2.0, 2) + pcm + room(2.5, 3)


def frames_of(pcm):
    frames = []
    for index, i in enumerate(range(0, len(pcm) - CHUNK + 1, CHUNK)):
        frame = InputAudioRawFrame(audio=pcm[i : i + CHUNK], sample_rate=16000, num_channels=1)
        frame.metadata["index"] = index
        frames.append(frame)
    return frames


async def pipecat_transitions(frames):
    """Where pipecat's VAD controller reports speech starting and stopping: (event, frame)."""
    vad = SileroVADAnalyzer(sample_rate=16000, params=PARAMS)
    vad.set_sample_rate(16000)
    state, events = VADState.QUIET, []
    for frame in frames:
        new = await vad.analyze_audio(frame.audio)
        if new != state and new in (VADState.SPEAKING, VADState.QUIET):
            kind = VADUserStartedSpeakingFrame if new == VADState.SPEAKING else EVENTS[1]
            events.append((kind, frame.metadata["index"]))
            state = new
    return events


def events_after_audio(frames: list[Frame]):
    """Each VAD event with the index of the last audio frame that went before it."""
    last, events = None, []
    for frame in frames:
        if isinstance(frame, InputAudioRawFrame):
            last = frame.metadata["index"]
        elif isinstance(frame, EVENTS):
            events.append((type(frame), last))
    return events


class SegmentRecorder(SegmentedSTTService):
    """A segmented STT that keeps each segment's audio and answers with a fixed text."""

    def __init__(self):
        super().__init__(trailing_silence_secs=0.0)
        self.segments: list[bytes] = []

    @property
    def wants_wav_segments(self):
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        self.segments.append(audio)
        yield TranscriptionFrame("words", "", time_now_iso8601())


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
async def test_vad_events_and_stt_segments_are_pipecats_on_every_fixture(fixtures, name):
    frames = frames_of(two_turns(fixtures, name))
    expected = await pipecat_transitions(frames)
    assert [kind for kind, _ in expected] == [*EVENTS, *EVENTS]

    gate = ListeningGate(SileroVADAnalyzer(params=PARAMS))
    stt = SegmentRecorder()
    down, _ = await run_test(Pipeline([gate, stt]), frames_to_send=frames)

    assert events_after_audio(list(down)) == expected
    # What pipecat's segmented STT buffers when the VAD's events reach it in order: the
    # second before the start is confirmed, then the speech, to the frame of the stop.
    pcm = [f.audio for f in frames]
    starts, stops = expected[0::2], expected[1::2]
    reference = [
        b"".join(pcm[max(0, start + 1 - 50) : stop + 1])
        for (_, start), (_, stop) in zip(starts, stops, strict=True)
    ]
    assert stt.segments == reference
    assert gate.frames_passed + gate.frames_dropped + gate.frames_waiting == len(frames)
    assert gate.frames_dropped > 10  # the quiet room before the first word stayed at the gate


class PacedGate(ListeningGate):
    """The gate, telling a feeder when it has heard each frame and seen each turn end."""

    def __init__(self, vad):
        super().__init__(vad)
        self.heard = 0
        self.turns_ended = 0
        self.changed = asyncio.Event()

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.heard += 1
        elif isinstance(frame, UserStoppedSpeakingFrame) and direction is FrameDirection.UPSTREAM:
            self.turns_ended += 1
        self.changed.set()

    async def until(self, condition):
        while not condition():
            self.changed.clear()
            await self.changed.wait()


class Sink(FrameProcessor):
    def __init__(self):
        super().__init__()
        self.frames = []

    async def process_frame(self, frame, direction):
        await super().process_frame(frame, direction)
        self.frames.append(frame)
        await self.push_frame(frame, direction)


async def run_paced(processors, gate, frames):
    """Feed one frame at a time, as a microphone does: the next only once the gate has
    heard this one, and after a VAD stop not before the user's turn has ended (in real
    time the turn ends within milliseconds; the pause goes on for seconds)."""
    sink = Sink()
    worker = PipelineWorker(Pipeline([*processors, sink]))
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    stops = 0
    for i, frame in enumerate(frames):
        await worker.queue_frame(frame)
        await asyncio.wait_for(gate.until(lambda i=i: gate.heard > i), 10)
        now = sum(isinstance(f, VADUserStoppedSpeakingFrame) for f in sink.frames)
        if now > stops:
            stops = now
            await asyncio.wait_for(gate.until(lambda n=stops: gate.turns_ended >= n), 10)
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(run, 10)
    return sink.frames


@pytest.mark.slow
async def test_turns_go_as_with_pipecats_vad_and_the_gate_closes_between_them(fixtures):
    frames = frames_of(two_turns(fixtures, FIXTURES[1]))
    expected = await pipecat_transitions(frames)
    listening, user_params = listening_stage(
        SegmentRecorder(),
        LLMUserAggregatorParams(
            vad_analyzer=SileroVADAnalyzer(params=PARAMS),
            user_turn_strategies=user_turn_strategies("vad"),
        ),
    )
    assert user_params.vad_analyzer is None
    assert isinstance(listening[0], ListeningGate)
    gate = PacedGate(listening[0].vad_analyzer)
    user, _ = listening_aggregators(LLMContext(), user_params=user_params)
    down = await run_paced([gate, listening[1], user], gate, frames)

    kinds = (*EVENTS, UserStartedSpeakingFrame, UserStoppedSpeakingFrame)
    turns = [type(f).__name__ for f in down if isinstance(f, kinds)]
    one_turn = [
        "VADUserStartedSpeakingFrame",
        "UserStartedSpeakingFrame",
        "VADUserStoppedSpeakingFrame",
        "UserStoppedSpeakingFrame",
    ]
    assert turns == one_turn * 2  # pipecat's turns, each from the VAD's start to its stop
    assert not any(isinstance(f, InputAudioRawFrame) for f in down)  # ends at the aggregator
    # Audio went on from one pre-roll before each start until its turn ended; the rest of
    # the pauses stayed at the gate.
    (_, start1), (_, stop1), (_, start2), (_, stop2) = expected
    spans = (stop1 - (start1 + 1 - 60) + 1) + (stop2 - (start2 + 1 - 60) + 1)
    assert spans <= gate.frames_passed <= spans + 2 * 5  # + the frames until each turn end
    assert gate.frames_passed + gate.frames_dropped + gate.frames_waiting == len(frames)


async def test_without_a_turn_end_the_gate_closes_after_its_hangover(fixtures):
    pcm = read_wav_pcm16(fixtures / FIXTURES[2], 16000)
    frames = frames_of(room(1.0, 4) + pcm + room(3.0, 5))
    gate = ListeningGate(SileroVADAnalyzer(params=PARAMS), hangover_secs=0.5)
    down, _ = await run_test(gate, frames_to_send=frames)
    events = events_after_audio(list(down))
    (_, start), (_, stop) = events
    passed = [f.metadata["index"] for f in down if isinstance(f, InputAudioRawFrame)]
    assert passed[0] == max(0, start + 1 - 60)  # pre-roll: 1 s plus start_secs (0.2 s)
    assert passed[-1] == stop + 25  # 0.5 s of audio after the stop frame, then closed
    assert passed == list(range(passed[0], passed[-1] + 1))  # in order, none lost
    assert not gate.is_open


class StreamingSTT(STTService):
    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        yield None


def test_the_gate_goes_in_front_of_segmented_stt_only():
    vad = SileroVADAnalyzer(params=PARAMS)

    def params(**kwargs):
        return LLMUserAggregatorParams(vad_analyzer=vad, **kwargs)

    for turn_end in ("vad", "smart-turn"):
        with_vad = params(user_turn_strategies=user_turn_strategies(turn_end))
        segmented = SegmentRecorder()
        assert gates_audio(segmented, with_vad)
        stage, changed = listening_stage(segmented, with_vad)
        assert isinstance(stage[0], ListeningGate)
        assert stage[0].vad_analyzer is vad
        assert stage[1] is segmented
        assert changed.vad_analyzer is None
        assert changed.user_turn_strategies is with_vad.user_turn_strategies

    segmented = SegmentRecorder()
    with_vad = params(user_turn_strategies=user_turn_strategies("vad"))
    streaming = StreamingSTT()
    assert listening_stage(streaming, with_vad) == ([streaming], with_vad)
    muted = params(
        user_turn_strategies=user_turn_strategies("vad"),
        user_mute_strategies=[AlwaysUserMuteStrategy()],
    )
    assert listening_stage(segmented, muted) == ([segmented], muted)
    no_vad = LLMUserAggregatorParams(user_turn_strategies=user_turn_strategies("vad"))
    assert listening_stage(segmented, no_vad) == ([segmented], no_vad)
    # Turn analyzers that judge audio by arrival time: pipecat's default and its own.
    default = params()
    assert listening_stage(segmented, default) == ([segmented], default)
    own = params(
        user_turn_strategies=UserTurnStrategies(
            stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=LocalSmartTurnAnalyzerV3())]
        )
    )
    assert listening_stage(segmented, own) == ([segmented], own)


def test_the_default_bots_whisper_is_gated():
    from rtvi_server.services.local_stt import LocalWhisperSTTService

    assert issubclass(LocalWhisperSTTService, SegmentedSTTService)
