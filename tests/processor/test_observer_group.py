"""A session's observers behind one of pipecat's observer proxies."""

import asyncio

import pytest
from pipecat.frames.frames import InputAudioRawFrame, StartFrame, TextFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.observers.turn_tracking_observer import TurnTrackingObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import IdleFrameObserver
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.utils.asyncio.task_manager import TaskManager

from rtvi_server.processor import ObserverGroup, add_observers, create_pipeline_worker
from rtvi_server.processor.observer import RTVIEventObserver
from rtvi_server.processor.observer_group import observes_audio, reads_processed_frames

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


class FrameLog(BaseObserver):
    """Records the type of each frame push it is given; ``observes_audio`` as told."""

    def __init__(self, *, audio: bool | None) -> None:
        super().__init__(observe_every_push=True)
        if audio is not None:
            self.observes_audio = audio
        self.kinds: list[type] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        self.kinds.append(type(data.frame))


class CountingGroup(ObserverGroup):
    """A group that counts the processed-frame events pipecat's proxy hands it."""

    processed_events = 0

    async def on_process_frame(self, data: FrameProcessed) -> None:
        self.processed_events += 1
        await super().on_process_frame(data)


def audio_frame() -> InputAudioRawFrame:
    return InputAudioRawFrame(audio=bytes(640), sample_rate=16000, num_channels=1)


async def run_frames(session: PipelineSession, *, audio: int = 5) -> None:
    """Audio frames then a text frame through the pipeline; returns once all are out."""
    async with session:
        for _ in range(audio):
            await session.worker.queue_frame(audio_frame())
        await session.worker.queue_frame(TextFrame("end"))
        await session.wait_frame(TextFrame)
        # The proxy runs behind the pipeline: a last event it must deliver.
        await session.request(rtvi("client-ready", {}))


def test_which_observers_read_audio_and_processed_frames():
    processor, _ = make_processor()
    assert not observes_audio(RTVIEventObserver(processor))
    assert not observes_audio(TurnTrackingObserver())
    assert observes_audio(Recorder(every_push=True))  # unknown: it may meter audio
    assert not observes_audio(FrameLog(audio=False))
    idle = asyncio.Event()
    assert not observes_audio(IdleFrameObserver(idle_event=idle, idle_timeout_frames=(TextFrame,)))
    metering = IdleFrameObserver(idle_event=idle, idle_timeout_frames=(InputAudioRawFrame,))
    assert observes_audio(metering)

    class CountingTurns(TurnTrackingObserver):  # reads pushes its own way
        async def on_push_frame(self, data: FramePushed) -> None:
            await super().on_push_frame(data)

    assert observes_audio(CountingTurns())
    assert reads_processed_frames(ProcessedRecorder())
    assert not reads_processed_frames(Recorder(every_push=True))
    assert not ObserverGroup([Recorder(every_push=True)]).reads_processed_frames
    assert ObserverGroup([ProcessedRecorder()]).reads_processed_frames
    assert not ObserverGroup([FrameLog(audio=False), TurnTrackingObserver()]).observes_audio
    assert ObserverGroup([FrameLog(audio=False), FrameLog(audio=None)]).observes_audio


async def test_no_audio_push_is_queued_when_no_observer_reads_audio():
    processor, _ = make_processor()
    session = PipelineSession(processor)
    deaf = FrameLog(audio=False)
    add_observers(session.worker, [deaf])
    await run_frames(session)
    assert TextFrame in deaf.kinds  # it observes,
    assert InputAudioRawFrame not in deaf.kinds  # but pipecat's proxy never queued the audio


async def test_an_observer_that_reads_audio_gets_every_audio_push():
    processor, _ = make_processor()
    session = PipelineSession(processor)
    listener = FrameLog(audio=None)
    add_observers(session.worker, [listener])
    await run_frames(session, audio=5)
    # Each audio frame is pushed at every hop, as the StartFrame was.
    hops = listener.kinds.count(StartFrame)
    assert hops > 1
    assert listener.kinds.count(InputAudioRawFrame) == 5 * hops


async def test_an_observer_added_through_pipecat_later_still_gets_audio():
    processor, _ = make_processor()
    session = PipelineSession(processor)
    late = FrameLog(audio=None)
    async with session:
        await session.request(rtvi("client-ready", {}))
        session.worker.add_observer(late)
        await session.worker.queue_frame(audio_frame())
        await session.worker.queue_frame(TextFrame("end"))
        await session.wait_frame(TextFrame)
        await session.request(rtvi("client-ready", {}))
    assert InputAudioRawFrame in late.kinds


@pytest.mark.parametrize("reader", [False, True])
async def test_processed_frames_are_queued_only_for_a_group_that_reads_them(reader: bool):
    processor, _ = make_processor()
    member: BaseObserver = ProcessedRecorder() if reader else Recorder(every_push=True)
    group = CountingGroup([RTVIEventObserver(processor), member])
    await run_frames(PipelineSession(processor, group=group))
    if reader:
        assert group.processed_events > 0
        assert isinstance(member, ProcessedRecorder)
        assert member.processed > 0
    else:
        assert group.processed_events == 0
        assert isinstance(member, Recorder)
        assert member.pushes
