"""A bot whose own code raises once the client is ready."""

from pipecat.frames.frames import Frame, InputTransportMessageFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from rtvi_server import RTVIProcessor, create_pipeline_worker
from rtvi_server.bots import Bot, BotArgs


class Faulty(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if (
            isinstance(frame, InputTransportMessageFrame)
            and frame.message.get("type") == "describe-config"
        ):
            raise RuntimeError("bot bug: division by zero in the weather plugin")
        await self.push_frame(frame, direction)


async def create_bot(args: BotArgs) -> Bot:
    rtvi = RTVIProcessor(config=args.config)
    pipeline = Pipeline([args.transport.input(), Faulty(), rtvi, args.transport.output()])
    return Bot(worker=create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None), rtvi=rtvi)
