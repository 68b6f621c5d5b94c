"""The VAD where the user's audio enters, and no audio past it while nobody speaks.

In a cascaded pipeline pipecat runs the VAD in the user aggregator, so every
20 ms frame of a quiet microphone travels transport -> RTVI -> STT -> user
aggregator: a queue, a task switch and every observer per hop, only for the
STT to keep its last second and the VAD to say "still quiet". The gate runs
pipecat's own ``VADController`` (same analyzer, same events, same idle timeout
and speaking-activity period) in front of the STT and holds the audio in a
ring buffer while the VAD hears no speech. When speech starts, the ring's
frames (the STT's one-second pre-roll, Smart Turn's pre-speech audio) go
downstream first, then the ``VADUserStartedSpeakingFrame``, in the order the
aggregator's VAD would have produced them. After the VAD stops, audio keeps
flowing until the user's turn has ended (the aggregator's
``UserStoppedSpeakingFrame``: Smart Turn counts its silence timeout in audio)
or ``hangover_secs`` of audio have passed.

A segmented STT (one that transcribes each VAD segment) is the only STT that
this suits: a streaming STT wants the audio continuously, so pipelines with one
keep the VAD in the aggregator (see ``gates_audio``), as do pipelines whose
turn analyzer picks its audio by arrival time (pipecat's own Smart Turn would
take the whole burst of pre-roll; ``SharedSmartTurnAnalyzer`` counts it).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from typing import Any

from pipecat.audio.vad.vad_analyzer import VADAnalyzer
from pipecat.audio.vad.vad_controller import VADController
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    UserSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADParamsUpdateFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor, FrameProcessorSetup
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from rtvi_server.audio.batched_vad import BatchedSileroVADAnalyzer
from rtvi_server.audio.shared_turn import SharedSmartTurnAnalyzer
from rtvi_server.patches.pipecat import turn_analyzer_of

#: Audio held while quiet: the segmented STT keeps one second before speech
#: starts, and the VAD confirms a start ``start_secs`` after it began.
PREROLL_SECS = 1.0
#: ``InputAudioRawFrame.metadata`` keys: the gate heard this frame already (at the
#: transport's edge), and the VAD events to broadcast once it has gone downstream.
HEARD = "rtvi_server.listening_gate.heard"
EVENTS = "rtvi_server.listening_gate.events"
#: Audio still passed after the VAD's stop when no turn end is seen (Smart
#: Turn's own silence timeout is 3 s of audio).
HANGOVER_SECS = 5.0


class ListeningGate(FrameProcessor):
    """Runs the VAD on the user's audio and lets it on only while someone speaks."""

    def __init__(
        self,
        vad_analyzer: VADAnalyzer,
        *,
        audio_idle_timeout: float = 1.0,
        preroll_secs: float = PREROLL_SECS,
        hangover_secs: float = HANGOVER_SECS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vad_analyzer = vad_analyzer
        self._preroll_secs = preroll_secs
        self._hangover_secs = hangover_secs
        self._controller = VADController(vad_analyzer, audio_idle_timeout=audio_idle_timeout)
        self._controller.add_event_handler("on_speech_started", self._on_speech_started)
        self._controller.add_event_handler("on_speech_stopped", self._on_speech_stopped)
        self._controller.add_event_handler("on_speech_activity", self._on_speech_activity)
        self._controller.add_event_handler("on_push_frame", self._on_push_frame)
        self._controller.add_event_handler("on_broadcast_frame", self._on_broadcast_frame)
        self._ring: deque[InputAudioRawFrame] = deque()
        self._ring_samples = 0
        #: Events the controller raised while analysing, waiting for a frame to go
        #: downstream with (outside an analysis, e.g. its idle timeout, they go at once).
        self._carried: list[tuple[type[Frame], dict[str, Any]]] = []
        self._analysing = False
        self._open = False
        self._speaking = False
        self._turn_open = False
        self._since_stop_samples = 0
        #: Audio frames that went downstream, and those that aged out of the ring.
        self.frames_passed = 0
        self.frames_dropped = 0

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def frames_waiting(self) -> int:
        """Audio frames in the ring, to go downstream if speech starts soon."""
        return len(self._ring)

    async def setup(self, setup: FrameProcessorSetup) -> None:  # type: ignore[override]
        await super().setup(setup)
        await self._controller.setup(setup)

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[no-untyped-call]
        await self._controller.cleanup()  # type: ignore[no-untyped-call]

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction is FrameDirection.DOWNSTREAM:
            heard_at_edge = frame.metadata.pop(HEARD, False)
            for released in [frame] if heard_at_edge else await self.hear(frame):
                await self._pass(released)
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self._controller.start()  # type: ignore[no-untyped-call]
        elif isinstance(frame, EndFrame | CancelFrame):
            await self._controller.stop()  # type: ignore[no-untyped-call]
        elif isinstance(frame, VADParamsUpdateFrame):
            await self._controller.process_frame(frame)
        elif isinstance(frame, UserStoppedSpeakingFrame) and direction is FrameDirection.UPSTREAM:
            self._turn_open = False
            self._maybe_close()

    async def hear(self, frame: InputAudioRawFrame) -> list[InputAudioRawFrame]:
        """Run the VAD on one frame of the user's audio: the frames that go on now.

        The VAD's events ride on the last of them (in its ``metadata``), to be
        broadcast once it has gone downstream. A transport may call this where the
        audio enters, before pipecat's input transport (see ``Link.hear_at_edge``);
        the frames it returns are marked so that the gate passes them straight on.
        """
        counting_hangover = self._open and not self._speaking
        self._analysing = True
        try:
            await self._controller.process_frame(frame)
        finally:
            self._analysing = False
        released: list[InputAudioRawFrame] = []
        if self._open:
            released.append(frame)
        else:
            self._hold(frame)
        if self._speaking and not self._open:
            self._open = True
            released.extend(self._ring)
            self._ring.clear()
            self._ring_samples = 0
        if released:
            for out in released:
                out.metadata[HEARD] = True
            if self._carried:
                released[-1].metadata[EVENTS] = self._carried
                self._carried = []
        if counting_hangover and self._open and not self._speaking:
            self._since_stop_samples += _samples(frame)
            hangover = round(self._hangover_secs * frame.sample_rate)
            if self._since_stop_samples >= hangover:
                self._turn_open = False
            self._maybe_close()
        return released

    def audio_wanted(self) -> int:
        """Bytes of audio the gate takes before it may let a frame on or raise an
        event: while it holds the audio, all the batched VAD takes before its next
        decision; while open (or with another analyzer), none: each frame as it comes."""
        if self._open or not isinstance(self.vad_analyzer, BatchedSileroVADAnalyzer):
            return 0
        return self.vad_analyzer.bytes_until_decision()

    async def _pass(self, frame: InputAudioRawFrame) -> None:
        frame.metadata.pop(HEARD, None)
        events = frame.metadata.pop(EVENTS, ())
        self.frames_passed += 1
        await self.push_frame(frame)
        for frame_cls, kwargs in events:
            await self.broadcast_frame(frame_cls, **kwargs)

    def _hold(self, frame: InputAudioRawFrame) -> None:
        self._ring.append(frame)
        self._ring_samples += _samples(frame)
        keep = round((self._preroll_secs + self.vad_analyzer.params.start_secs) * frame.sample_rate)
        while self._ring_samples > keep and len(self._ring) > 1:
            self._ring_samples -= _samples(self._ring.popleft())
            self.frames_dropped += 1

    def _maybe_close(self) -> None:
        if self._open and not self._speaking and not self._turn_open:
            self._open = False

    async def _broadcast(self, frame_cls: type[Frame], **kwargs: Any) -> None:
        """Now, or (while a frame is analysed) once that frame has gone on."""
        if self._analysing:
            self._carried.append((frame_cls, kwargs))
        else:
            await self.broadcast_frame(frame_cls, **kwargs)

    async def _on_speech_started(self, controller: VADController) -> None:
        self._speaking = True
        self._turn_open = True
        self._since_stop_samples = 0
        await self._broadcast(
            VADUserStartedSpeakingFrame, start_secs=self.vad_analyzer.params.start_secs
        )

    async def _on_speech_stopped(self, controller: VADController) -> None:
        self._speaking = False
        await self._broadcast(
            VADUserStoppedSpeakingFrame, stop_secs=self.vad_analyzer.params.stop_secs
        )

    async def _on_speech_activity(self, controller: VADController) -> None:
        await self._broadcast(UserSpeakingFrame)

    async def _on_push_frame(
        self,
        controller: VADController,
        frame: Frame,
        direction: FrameDirection = FrameDirection.DOWNSTREAM,
    ) -> None:
        await self.push_frame(frame, direction)

    async def _on_broadcast_frame(
        self, controller: VADController, frame_cls: type[Frame], **kwargs: Any
    ) -> None:
        await self._broadcast(frame_cls, **kwargs)


def _samples(frame: InputAudioRawFrame) -> int:
    return len(frame.audio) // (2 * frame.num_channels)


def gates_audio(stt: FrameProcessor, user_params: LLMUserAggregatorParams) -> bool:
    """Whether the gate suits this pipeline: a VAD, an STT that transcribes VAD
    segments, no mute strategies (a muted user's audio never reaches pipecat's
    VAD; in front of the aggregator the gate would hear it), and no turn analyzer
    that judges audio by its arrival time (pipecat's own Smart Turn would take
    the whole pre-roll; ``SharedSmartTurnAnalyzer`` counts it in samples)."""
    return (
        user_params.vad_analyzer is not None
        and isinstance(stt, SegmentedSTTService)
        and not user_params.user_mute_strategies
        and _turns_tolerate_a_burst(user_params.user_turn_strategies)
    )


def _turns_tolerate_a_burst(strategies: UserTurnStrategies | None) -> bool:
    if strategies is None:
        return False  # pipecat's default: its own Smart Turn analyzer
    for strategy in strategies.stop or ():
        judges_audio = isinstance(strategy, TurnAnalyzerUserTurnStopStrategy)
        if judges_audio and not isinstance(turn_analyzer_of(strategy), SharedSmartTurnAnalyzer):
            return False
    return True


def listening_stage(
    stt: FrameProcessor, user_params: LLMUserAggregatorParams
) -> tuple[list[FrameProcessor], LLMUserAggregatorParams]:
    """The processors from the RTVI processor to the user aggregator, and the
    aggregator's params (without its VAD when the gate in front of the STT runs it).

    Where ``gates_audio`` says no, the STT is left as pipecat has it, with the VAD
    in the user aggregator.
    """
    vad = user_params.vad_analyzer
    if vad is None or not gates_audio(stt, user_params):
        return [stt], user_params
    gate = ListeningGate(vad, audio_idle_timeout=user_params.audio_idle_timeout)
    return [gate, stt], dataclasses.replace(user_params, vad_analyzer=None)


def gate_in(stage: Sequence[FrameProcessor]) -> ListeningGate | None:
    """The gate ``listening_stage`` put in front of the STT, if it put one."""
    return next((p for p in stage if isinstance(p, ListeningGate)), None)
