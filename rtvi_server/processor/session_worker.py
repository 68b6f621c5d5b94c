"""Building a pipecat worker around a pipeline that holds our processor.

pipecat's ``PipelineWorker`` adds its own modern-only RTVI processor unless told
not to; two RTVI endpoints in one pipeline would answer every request twice.
:func:`create_pipeline_worker` turns that off and adds our observer instead.
"""

from __future__ import annotations

from typing import Any

from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker

from rtvi_server.processor.observer import RTVIEventObserver
from rtvi_server.processor.rtvi_processor import RTVIProcessor


def create_pipeline_worker(
    pipeline: Pipeline,
    rtvi: RTVIProcessor,
    *,
    params: PipelineParams | None = None,
    observers: list[Any] | None = None,
    **kwargs: Any,
) -> PipelineWorker:
    """A ``PipelineWorker`` for ``pipeline`` with RTVI served by ``rtvi``.

    Metrics are enabled by default so clients receive ``metrics`` events.
    """
    return PipelineWorker(
        pipeline,
        params=params or PipelineParams(enable_metrics=True, enable_usage_metrics=True),
        enable_rtvi=False,
        observers=[RTVIEventObserver(rtvi), *(observers or [])],
        **kwargs,
    )
