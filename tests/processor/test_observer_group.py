"""A session's observers behind one of pipecat's observer proxies."""

import asyncio

import pytest
from pipecat.frames.frames import TextFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.utils.asyncio.task_manager import TaskManager

from rtvi_server.processor import ObserverGroup, add_observers, create_pipeline_worker

from .bot import make_processor
from .harness import PipelineSession, rtvi


class Recorder(BaseObserver):
    def __init__(self, *, every_push: bool, fail: bool = False) -> None:
        super().__init__(observe_every_push=every_push)
        self.pushes: list[bool] = []
        self.fail = fail
        self.started = False

    async def on_pipeline_started(self) -> None:
        self.started = True

    async def on_push_frame(self, data: FramePushed) -> None:
        self.pushes.append(data.first_push)
        if self.fail:
            raise ValueError("observer bug")


class ProcessedRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__(every_push=False)
        self.processed = 0

    async def on_process_frame(self, data: FrameProcessed) -> None:
        self.processed += 1


def pushed(first: bool) -> FramePushed:
    source, destination = FrameProcessor(), FrameProcessor()
    return FramePushed(source, destination, TextFrame("x"), FrameDirection.DOWNSTREAM, 0, first)


async def test_each_member_gets_the_pushes_it_asked_for():
    every, first_only = Recorder(every_push=True), Recorder(every_push=False)
    group = ObserverGroup([every, first_only])
    assert group.observe_every_push
    for first in (True, False, False):
        await group.on_push_frame(pushed(first))
    assert every.pushes == [True, False, False]
    assert first_only.pushes == [True]
    assert not ObserverGroup([first_only]).observe_every_push  # pipecat then queues first pushes


async def test_processed_frames_reach_only_the_members_that_read_them():
    reader, other = ProcessedRecorder(), Recorder(every_push=True)
    group = ObserverGroup([reader, other])
    data = FrameProcessed(FrameProcessor(), TextFrame("x"), FrameDirection.DOWNSTREAM, 0)
    await group.on_process_frame(data)
    assert reader.processed == 1


async def test_a_failing_member_leaves_the_others_observing():
    broken, healthy = Recorder(every_push=True, fail=True), Recorder(every_push=True)
    group = ObserverGroup([broken, healthy])
    await group.on_push_frame(pushed(True))
    await group.on_pipeline_started()
    assert healthy.pushes == [True]
    assert healthy.started
    assert broken.started


async def test_members_join_before_the_pipeline_starts():
    group = ObserverGroup()
    group.add(Recorder(every_push=False))
    await group.setup(TaskManager())
    with pytest.raises(RuntimeError):
        group.add(Recorder(every_push=False))


async def test_a_session_s_observers_share_one_proxy_in_a_running_pipeline():
    processor, _ = make_processor()
    session = PipelineSession(processor)
    late = Recorder(every_push=False)
    add_observers(session.worker, [late])
    turns = session.worker.turn_tracking_observer
    started = []

    @turns.event_handler("on_turn_started")
    async def on_turn_started(_observer, number):
        started.append(number)

    async with session:
        await session.request(rtvi("client-ready", {}))
        proxies = [t for t in asyncio.all_tasks() if "_proxy_task_handler" in t.get_name()]
        assert late.pushes  # it saw frames,
        assert all(late.pushes)  # each at its first push
    # The RTVI observer, pipecat's turn tracker and ours share one proxy,
    assert len(proxies) == 1
    assert turns in session.worker.observer_group.members
    assert started == [1]  # and the turn tracker still tracks (a turn starts with the pipeline)


def test_with_tracing_pipecat_keeps_the_turn_tracker_its_traces_are_built_on():
    processor, _ = make_processor()
    worker = create_pipeline_worker(Pipeline([processor]), processor, enable_tracing=True)
    assert worker.turn_tracking_observer is not None
    assert worker.turn_tracking_observer not in worker.observer_group.members
