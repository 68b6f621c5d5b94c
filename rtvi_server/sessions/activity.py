"""Watches a session's pipeline for signs of life and for turn latency.

Activity is anything the user or the bot does: speech, transcripts, inbound
client messages. The observer also measures the time from the user stopping
speaking to the bot starting to speak (the latency users feel).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pipecat.frames.frames import (
    BotSpeakingFrame,
    BotStartedSpeakingFrame,
    InputTransportMessageFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed

_ACTIVITY = (
    BotSpeakingFrame,
    BotStartedSpeakingFrame,
    InputTransportMessageFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    VADUserStartedSpeakingFrame,
)
# Everything the observer reacts to, built once: it sees every frame push, audio included.
_WATCHED = (*_ACTIVITY, UserStoppedSpeakingFrame)


class ActivityObserver(BaseObserver):
    #: It reads speech, transcript and message frames, never audio.
    observes_audio = False

    def __init__(self, on_latency: Callable[[float], None] | None = None) -> None:
        # A frame's first push is all it reads: pipecat's worker then wakes it once
        # per frame, not once per hop.
        super().__init__(observe_every_push=False)
        self.last_activity = time.monotonic()
        self._on_latency = on_latency
        self._user_stopped_at: float | None = None

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if not data.first_push or not isinstance(frame, _WATCHED):
            return
        now = time.monotonic()
        self.last_activity = now
        if isinstance(frame, UserStoppedSpeakingFrame):
            self._user_stopped_at = now
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._user_stopped_at = None
        elif isinstance(frame, BotStartedSpeakingFrame) and self._user_stopped_at is not None:
            if self._on_latency is not None:
                self._on_latency(now - self._user_stopped_at)
            self._user_stopped_at = None
