"""A real pipecat pipeline around an RTVIProcessor, fed the way a transport feeds it.

Client messages enter as ``InputTransportMessageFrame`` at the pipeline's
source (where a transport's input sits); what the processor and the observer
send to the client is collected at the sink (where the transport's output sits).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from pipecat.frames.frames import (
    Frame,
    InputTransportMessageFrame,
    OutputTransportMessageFrame,
    OutputTransportMessageUrgentFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from rtvi_server import RTVIProcessor, create_pipeline_worker
from rtvi_server.processor import ObserverGroup
from rtvi_server.processor.session_worker import SessionPipelineWorker

_ids = itertools.count(1)


class Collector(FrameProcessor):
    """The pipeline's last processor: records messages bound for the client."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []
        self.frames: list[Frame] = []
        self.changed = asyncio.Event()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputTransportMessageUrgentFrame | OutputTransportMessageFrame):
            self.messages.append(frame.message)
        else:
            self.frames.append(frame)
            await self.push_frame(frame, direction)
        self.changed.set()


class Upstream(FrameProcessor):
    """The pipeline's first processor: records frames pushed upstream to it."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.UPSTREAM:
            self.frames.append(frame)
        await self.push_frame(frame, direction)


def new_id() -> str:
    return f"{next(_ids):08x}"


def rtvi(type_: str, data: Any = None, *, id: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"label": "rtvi-ai", "type": type_, "id": id or new_id()}
    if data is not None:
        msg["data"] = data
    return msg


class PipelineSession:
    """Runs ``[upstream, rtvi, *middle, collector]`` under a real pipecat runner."""

    def __init__(
        self,
        processor: RTVIProcessor,
        middle: Sequence[FrameProcessor] = (),
        *,
        group: ObserverGroup | None = None,
    ) -> None:
        self.rtvi = processor
        self.upstream = Upstream()
        self.collector = Collector()
        pipeline = Pipeline([self.upstream, processor, *middle, self.collector])
        if group is None:
            self.worker = create_pipeline_worker(pipeline, processor, idle_timeout_secs=None)
        else:  # the session's observers in a group of the test's making
            self.worker = SessionPipelineWorker(
                pipeline, observer_group=group, enable_rtvi=False, idle_timeout_secs=None
            )
        self._runner = WorkerRunner(handle_sigint=False)
        self._run: asyncio.Task[None] | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.collector.messages

    async def __aenter__(self) -> PipelineSession:
        await self._runner.add_workers(self.worker)
        self._run = asyncio.create_task(self._runner.run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.worker.cancel()
        assert self._run is not None
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._run, timeout=10)

    async def send(self, message: Any) -> None:
        """Deliver one client message as the transport's input would."""
        await self.worker.queue_frame(InputTransportMessageFrame(message=message))

    async def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = 5.0
    ) -> Any:
        async def poll() -> Any:
            while True:
                found = predicate(self.messages)
                if found:
                    return found
                self.collector.changed.clear()
                await self.collector.changed.wait()

        return await asyncio.wait_for(poll(), timeout)

    async def wait_frame(self, kind: type[Frame], timeout: float = 5.0) -> Frame:
        async def poll() -> Frame:
            while True:
                for frame in self.collector.frames:
                    if isinstance(frame, kind):
                        return frame
                self.collector.changed.clear()
                await self.collector.changed.wait()

        return await asyncio.wait_for(poll(), timeout)

    async def request(self, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send a request and return the single reply carrying its id."""
        await self.send(message)
        msg_id = message["id"]
        reply: dict[str, Any] = await self.wait_for(
            lambda ms: next((m for m in ms if m.get("id") == msg_id), None), timeout
        )
        return reply

    def replies_to(self, msg_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("id") == msg_id]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == type_]
