"""Context aggregators whose user half is where the input audio's trip ends.

In a cascaded voice pipeline (STT -> user context -> LLM -> TTS -> output), the
user's 20 ms audio frames are needed by the STT and by the VAD in the user
aggregator, and by nothing after it: a text LLM, the TTS, the output transport
and the assistant aggregator only pass them on. pipecat still routes every one
of them through each of those processors (a queue, a task switch and the
observers per hop, 50 times a second per session). ``ListeningUserAggregator``
consumes them instead; everything else it does is pipecat's.

Pipelines that need the user's audio further down (a speech-to-speech LLM, an
audio recorder after the aggregators) keep pipecat's own pair.
"""

from __future__ import annotations

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMAssistantAggregatorParams,
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from rtvi_server.audio.shared_turn import SharedSmartTurnAnalyzer

TURN_ENDINGS = ("smart-turn", "vad")


class ListeningUserAggregator(LLMUserAggregator):
    """pipecat's user aggregator, minus forwarding the user's audio downstream."""

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        if direction is FrameDirection.DOWNSTREAM and isinstance(frame, InputAudioRawFrame):
            return
        await super().push_frame(frame, direction)


def listening_aggregators(
    context: LLMContext,
    *,
    user_params: LLMUserAggregatorParams | None = None,
    assistant_params: LLMAssistantAggregatorParams | None = None,
) -> tuple[ListeningUserAggregator, LLMAssistantAggregator]:
    """The user/assistant pair for a cascaded pipeline, paired as pipecat pairs them.

    Like ``LLMContextAggregatorPair`` with realtime mode off: a text LLM sits
    between the two halves.
    """
    user = ListeningUserAggregator(
        context,
        params=user_params or LLMUserAggregatorParams(),
        _realtime_service_mode=False,
    )
    assistant = LLMAssistantAggregator(
        context,
        params=assistant_params or LLMAssistantAggregatorParams(),
        _realtime_service_mode=False,
        _paired_user_aggregator=user,
    )
    return user, assistant


def user_turn_strategies(turn_end: str = "smart-turn") -> UserTurnStrategies:
    """How a user's turn ends, by name.

    ``smart-turn`` is pipecat's default: at each VAD stop, the Smart Turn v3 model
    judges whether the user has finished (better with hesitant speakers; an ONNX
    call per speech segment, and its inference time on every turn). The model is
    loaded once per process and shared (``rtvi_server.audio.shared_turn``). ``vad`` ends
    the turn at the VAD's stop as soon as the transcript is in: the bot answers
    ``stop_secs`` after the user stops, plus the STT's own time.
    """
    if turn_end == "smart-turn":
        # pipecat's default strategy, with the process's one Smart Turn model.
        analyzer = SharedSmartTurnAnalyzer()
        return UserTurnStrategies(stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer)])
    if turn_end == "vad":
        return UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.0)])
    raise ValueError(f"turn_end must be one of {', '.join(TURN_ENDINGS)}, not {turn_end!r}")
