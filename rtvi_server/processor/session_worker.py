"""Building a pipecat worker around a pipeline that holds our processor.

pipecat's ``PipelineWorker`` adds its own modern-only RTVI processor unless told
not to; two RTVI endpoints in one pipeline would answer every request twice.
:func:`create_pipeline_worker` turns that off and adds our observer instead, in
one group with the observers a session adds (:func:`add_observers`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipecat.observers.base_observer import BaseObserver
from pipecat.observers.turn_tracking_observer import TurnTrackingObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker

from rtvi_server.patches import pipecat as pipecat_patches
from rtvi_server.processor.observer import RTVIEventObserver
from rtvi_server.processor.observer_group import (
    ObserverGroup,
    observes_audio,
    reads_processed_frames,
)
from rtvi_server.processor.rtvi_processor import RTVIProcessor


class SessionPipelineWorker(PipelineWorker):
    """pipecat's worker, holding the group its session's observers share.

    pipecat's turn tracking observer (what ``turn_tracking_observer`` gives, for
    the audio buffer processor and realtime services) joins the group too: behind
    a proxy of its own it costs a queue put and a task switch for every frame
    every processor handles, though it reads only pushes. With tracing on, pipecat
    keeps its own, which its trace observer is built on. Events no observer reads
    (processed frames, audio pushes: none of a session's own observers reads
    them) are not queued to the proxy at all.
    """

    def __init__(self, pipeline: Pipeline, *, observer_group: ObserverGroup, **kwargs: Any) -> None:
        self._turns: TurnTrackingObserver | None = None
        if kwargs.get("enable_turn_tracking", True) and not kwargs.get("enable_tracing", False):
            self._turns = TurnTrackingObserver()
            observer_group.add(self._turns)
            kwargs["enable_turn_tracking"] = False
        super().__init__(pipeline, observers=[observer_group], **kwargs)
        self.observer_group = observer_group
        pipecat_patches.skip_unread_observer_events(
            self, reads_processed=reads_processed_frames, observes_audio=observes_audio
        )

    @property
    def turn_tracking_observer(self) -> TurnTrackingObserver | None:
        return self._turns if self._turns is not None else super().turn_tracking_observer


def add_observers(worker: PipelineWorker, observers: Iterable[BaseObserver]) -> None:
    """Observe ``worker``'s pipeline with ``observers``: in its group where it has
    one that has not started, else each through pipecat's own ``add_observer``."""
    group = worker.observer_group if isinstance(worker, SessionPipelineWorker) else None
    for observer in observers:
        if group is not None and not group.set_up:
            group.add(observer)
        else:
            worker.add_observer(observer)


def create_pipeline_worker(
    pipeline: Pipeline,
    rtvi: RTVIProcessor,
    *,
    params: PipelineParams | None = None,
    observers: list[Any] | None = None,
    **kwargs: Any,
) -> SessionPipelineWorker:
    """A ``PipelineWorker`` for ``pipeline`` with RTVI served by ``rtvi``.

    Metrics are enabled by default so clients receive ``metrics`` events. The RTVI
    observer, ``observers`` and those a session adds later (:func:`add_observers`)
    share one of pipecat's observer proxies.
    """
    group = ObserverGroup([RTVIEventObserver(rtvi), *(observers or [])])
    return SessionPipelineWorker(
        pipeline,
        observer_group=group,
        params=params or PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        enable_rtvi=False,
        **kwargs,
    )
