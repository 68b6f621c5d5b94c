"""Several observers of one pipeline behind one of pipecat's observer proxies.

pipecat's worker gives each observer a queue and a task of its own, and puts
every event on every queue: each frame a processor handles, and each push of a
frame for an observer that watches every push (the first push for the others).
A session's own observers (the RTVI events, the activity watch, its link's) are
cheap and never wait, so one queue and one task serve them all here, and an
event reaches only the members that take it: a push, by each member's
``observe_every_push``; a processed frame, only members that read those.

What the group reads as a whole (:func:`reads_processed_frames`,
:func:`observes_audio`) tells the session's worker which events it need not
queue at all: none of a session's own observers reads audio or processed frames.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any

from loguru import logger
from pipecat.frames.frames import AudioRawFrame
from pipecat.observers.base_observer import (
    BaseObserver,
    FrameProcessed,
    FramePushed,
    ProcessorSetUp,
)
from pipecat.observers.turn_tracking_observer import TurnTrackingObserver
from pipecat.pipeline.worker import IdleFrameObserver

from rtvi_server.patches import pipecat as pipecat_patches


def reads_processed_frames(observer: BaseObserver) -> bool:
    """Whether ``observer`` reads the frames processors handle: what it declares
    (``reads_processed_frames``), else whether it overrides ``on_process_frame``."""
    declared = getattr(observer, "reads_processed_frames", None)
    if isinstance(declared, bool):
        return declared
    return type(observer).on_process_frame is not BaseObserver.on_process_frame


def observes_audio(observer: BaseObserver) -> bool:
    """Whether ``observer`` reads the pushes of audio frames: what it declares
    (``observes_audio``), else yes (an observer we do not know may meter audio),
    except pipecat's turn tracker, which reads speaking and end frames only, and
    its idle observer, unless an audio frame is one that keeps a pipeline busy."""
    declared = getattr(observer, "observes_audio", None)
    if isinstance(declared, bool):
        return declared
    reads_pushes = type(observer).on_push_frame
    idle_frames = pipecat_patches.idle_frames_of(observer)
    if idle_frames is not None and reads_pushes is IdleFrameObserver.on_push_frame:
        return any(issubclass(kind, AudioRawFrame) for kind in idle_frames)
    # (a subclass that reads pushes its own way is an observer we do not know)
    return reads_pushes is not TurnTrackingObserver.on_push_frame


class ObserverGroup(BaseObserver):
    def __init__(self, members: Iterable[BaseObserver] = ()) -> None:
        super().__init__()
        self._members: list[BaseObserver] = []
        self._processing: list[BaseObserver] = []  # the members that read processed frames
        self._set_up = False
        for member in members:
            self.add(member)

    @property
    def members(self) -> tuple[BaseObserver, ...]:
        return tuple(self._members)

    @property
    def set_up(self) -> bool:
        """Whether the pipeline has started (members are added before that)."""
        return self._set_up

    def add(self, member: BaseObserver) -> None:
        if self._set_up:
            raise RuntimeError("observers join a group before its pipeline starts")
        self._members.append(member)
        if reads_processed_frames(member):
            self._processing.append(member)

    @property
    def reads_processed_frames(self) -> bool:
        return bool(self._processing)

    @property
    def observes_audio(self) -> bool:
        return any(observes_audio(member) for member in self._members)

    @property
    def observe_every_push(self) -> bool:
        # Read by pipecat's worker at every push: a member's answer may change (the
        # RTVI observer's does once the client says which protocol it speaks).
        return any(member.observe_every_push for member in self._members)

    async def setup(self, task_manager: Any) -> None:
        await super().setup(task_manager)
        self._set_up = True
        for member in self._members:
            await member.setup(task_manager)

    async def cleanup(self) -> None:
        for member in self._members:
            await _guarded(member, member.cleanup())  # type: ignore[no-untyped-call]
        await super().cleanup()  # type: ignore[no-untyped-call]

    async def on_pipeline_started(self) -> None:
        for member in self._members:
            await _guarded(member, member.on_pipeline_started())  # type: ignore[no-untyped-call]

    async def on_push_frame(self, data: FramePushed) -> None:
        first = data.first_push
        for member in self._members:
            if first or member.observe_every_push:
                try:
                    await member.on_push_frame(data)
                except Exception as exc:
                    _failed(member, exc)

    async def on_process_frame(self, data: FrameProcessed) -> None:
        for member in self._processing:
            try:
                await member.on_process_frame(data)
            except Exception as exc:
                _failed(member, exc)

    async def on_processor_setup(self, data: ProcessorSetUp) -> None:
        for member in self._members:
            await _guarded(member, member.on_processor_setup(data))


async def _guarded(member: BaseObserver, event: Awaitable[None]) -> None:
    """A once-per-pipeline event for ``member`` (the per-frame ones catch inline:
    no wrapper coroutine per member on every push)."""
    try:
        await event
    except Exception as exc:
        _failed(member, exc)


def _failed(member: BaseObserver, exc: Exception) -> None:
    """One member failing is logged and leaves the others observing."""
    logger.error(f"observer {type(member).__name__} failed: {type(exc).__name__}: {exc}")
