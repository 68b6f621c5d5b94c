"""A light bot for server tests: RTVI only, no models."""

from pipecat.pipeline.pipeline import Pipeline

from rtvi_server import RTVIProcessor, RTVIService, RTVIServiceOption, create_pipeline_worker
from rtvi_server.bots import Bot, BotArgs
from rtvi_server.services import create_service


async def create_bot(args: BotArgs) -> Bot:
    # Validates providers and keys the way a real bot does, without building heavy models.
    for kind in ("llm", "tts", "stt"):
        if kind in args.services and args.services[kind] not in ("local", "piper", "whisper"):
            create_service(kind, args.services[kind], api_keys=args.api_keys, environ={})
    rtvi = RTVIProcessor(config=args.config)
    rtvi.register_service(
        RTVIService("llm", [RTVIServiceOption("model", "string", default="echo")])
    )
    pipeline = Pipeline([args.transport.input(), rtvi, args.transport.output()])
    return Bot(worker=create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None), rtvi=rtvi)
