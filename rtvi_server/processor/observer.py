"""``RTVIEventObserver``: pipeline frames become RTVI events for the client.

An observer sees every frame pushed between any two processors, so events are
reported where they happen (the transport's speaking events, the LLM's tokens,
the STT's transcripts) without extra processors in the pipeline. For the config
generation each frame is reported once, on its first push; pipecat's modern
observer picks its own push (spoken text once the output transport sends it).

Config-generation clients (spec 6.2) get the events written here. Modern
clients (1.x / 2.x) get pipecat's own modern event set (``bot-output``,
``llm-function-call-started`` ...), produced by pipecat's observer running as a
delegate behind this one, so both generations are served by one pipeline.
"""

from __future__ import annotations

from typing import Any, Final, cast

from pipecat.frames.frames import (
    AudioRawFrame,
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    FunctionCallsStartedFrame,
    InterimTranscriptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import (
    LLMUsageMetricsData,
    ProcessingMetricsData,
    TTFBMetricsData,
    TTSUsageMetricsData,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection
from pipecat.processors.frameworks.rtvi.frames import (
    RTVIServerMessageFrame,
    RTVIServerResponseFrame,
)
from pipecat.processors.frameworks.rtvi.observer import RTVIObserver as PipecatRTVIObserver
from pipecat.utils.string import match_endofsentence
from pydantic import BaseModel

from rtvi_server.processor.rtvi_processor import RTVIProcessor
from rtvi_server.protocol import Generation, JSONValue, outbound

_SPEAKING_EVENTS: Final[dict[type[Frame], str]] = {
    BotStartedSpeakingFrame: "bot-started-speaking",
    BotStoppedSpeakingFrame: "bot-stopped-speaking",
    LLMFullResponseStartFrame: "bot-llm-started",
    TTSStartedFrame: "bot-tts-started",
    TTSStoppedFrame: "bot-tts-stopped",
}


class _ModernDelegate(PipecatRTVIObserver):
    """pipecat's modern-generation observer, sending through our processor."""

    def __init__(self, rtvi: RTVIProcessor) -> None:
        # pipecat reads only `client_version` from the processor it is given.
        super().__init__(cast(Any, rtvi))
        self._sink = rtvi

    async def send_rtvi_message(self, model: BaseModel, exclude_none: bool = True) -> None:
        await self._sink.send_event(model.model_dump(exclude_none=exclude_none))


class RTVIEventObserver(BaseObserver):
    """Reports pipeline activity to the client in the client's generation.

    Args:
        rtvi: the session's processor; events are sent through it.
        legacy_tts_text: also send each bot sentence as ``tts-text``, the
            bot-transcript event of realtime-ai 0.1.x (0.2+ clients route it to
            ``onGenericMessage``, so it is harmless to them).
    """

    #: Neither generation reports audio (its pushes return at once, below).
    observes_audio = False

    def __init__(self, rtvi: RTVIProcessor, *, legacy_tts_text: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rtvi = rtvi
        self._legacy_tts_text = legacy_tts_text
        self._modern = _ModernDelegate(rtvi)
        self._sentence = ""

    @property
    def observe_every_push(self) -> bool:
        """Every push only for a modern client (or one not known yet): pipecat's observer
        reports aggregated text at its last push. A config-generation client's events
        are reported at a frame's first push, so pipecat's worker wakes this observer
        once per frame rather than once per hop."""
        client = self._rtvi.client
        return client is None or client.generation is Generation.MODERN

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, AudioRawFrame):
            return  # the bulk of all pushes; neither generation reports audio
        if self._rtvi.generation is Generation.MODERN:
            # pipecat decides which push of a frame it reports (spoken text: the
            # output transport's, with its timing), so it sees every push.
            await self._modern.on_push_frame(data)
            return
        if not data.first_push:
            return
        if frame.broadcast_sibling_id is not None and data.direction != FrameDirection.DOWNSTREAM:
            return
        await self._report(frame)

    async def cleanup(self) -> None:
        await self._modern.cleanup()  # type: ignore[no-untyped-call]
        await super().cleanup()  # type: ignore[no-untyped-call]

    async def _send(self, type_: str, data: JSONValue = None) -> None:
        await self._rtvi.send_event(outbound.message(type_, data))

    async def _report(self, frame: Frame) -> None:
        event = _SPEAKING_EVENTS.get(type(frame))
        if event is not None:
            await self._send(event)
        elif isinstance(frame, UserStartedSpeakingFrame):
            await self._flush_sentence()
            await self._send("user-started-speaking")
        elif isinstance(frame, UserStoppedSpeakingFrame):
            await self._send("user-stopped-speaking")
        elif isinstance(frame, TranscriptionFrame | InterimTranscriptionFrame):
            await self._send(
                "user-transcription",
                {
                    "text": frame.text,
                    "final": isinstance(frame, TranscriptionFrame),
                    "timestamp": frame.timestamp,
                    "user_id": frame.user_id,
                },
            )
        elif isinstance(frame, LLMTextFrame):
            await self._send("bot-llm-text", {"text": frame.text})
            await self._add_to_sentence(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            await self._flush_sentence()
            await self._send("bot-llm-stopped")
        elif isinstance(frame, TTSTextFrame):
            await self._send("bot-tts-text", {"text": frame.text})
        elif isinstance(frame, LLMContextFrame):
            await self._report_user_llm_text(frame)
        elif isinstance(frame, MetricsFrame):
            await self._report_metrics(frame)
        elif isinstance(frame, FunctionCallsStartedFrame):
            for call in frame.function_calls:
                await self._send("llm-function-call-start", {"function_name": call.function_name})
        elif isinstance(frame, RTVIServerMessageFrame):
            await self._rtvi.send_event(outbound.server_message(frame.data), keep_early=True)
        elif isinstance(frame, RTVIServerResponseFrame):
            await self._report_server_response(frame)

    async def _add_to_sentence(self, text: str) -> None:
        self._sentence += text
        end = match_endofsentence(self._sentence)
        if end:
            sentence, self._sentence = self._sentence[:end], self._sentence[end:]
            await self._send_sentence(sentence)

    async def _flush_sentence(self) -> None:
        sentence, self._sentence = self._sentence, ""
        await self._send_sentence(sentence)

    async def _send_sentence(self, sentence: str) -> None:
        text = sentence.strip()
        if not text:
            return
        await self._send("bot-transcription", {"text": text})
        if self._legacy_tts_text:
            await self._send("tts-text", {"text": text})

    async def _report_user_llm_text(self, frame: LLMContextFrame) -> None:
        messages = frame.context.get_messages()
        last = messages[-1] if messages else None
        if not isinstance(last, dict) or last.get("role") != "user":
            return
        content = last.get("content")
        if isinstance(content, list):
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        if isinstance(content, str) and content:
            await self._send("user-llm-text", {"text": content})

    async def _report_metrics(self, frame: MetricsFrame) -> None:
        groups: dict[str, list[JSONValue]] = {}
        for item in frame.data:
            if isinstance(item, TTFBMetricsData):
                groups.setdefault("ttfb", []).append(item.model_dump(exclude_none=True))
            elif isinstance(item, ProcessingMetricsData):
                groups.setdefault("processing", []).append(item.model_dump(exclude_none=True))
            elif isinstance(item, LLMUsageMetricsData):
                groups.setdefault("tokens", []).append(item.value.model_dump(exclude_none=True))
            elif isinstance(item, TTSUsageMetricsData):
                groups.setdefault("characters", []).append(item.model_dump(exclude_none=True))
        if groups:
            await self._send("metrics", dict(groups))

    async def _report_server_response(self, frame: RTVIServerResponseFrame) -> None:
        request = frame.client_msg
        if frame.error is not None:
            await self._rtvi.send_error_response(request.msg_id, frame.error)
        else:
            message = outbound.server_response(request.msg_id, request.type, frame.data)
            await self._rtvi.send_message(message)
