"""The comparison: a stock pipecat 1.14 bot served the way pipecat's examples serve one.

SmallWebRTC through pipecat's own request handler at POST /api/offer, the
transport's input, ``SileroVADAnalyzer`` in the user aggregator, pipecat's default
RTVI, and the same instant stand-in services as the rtvi-server side.

    python -m bench.stock_pipecat --port 7870
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.request_handler import (
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
from pipecat.turns.user_stop import SpeechTimeoutUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from bench.standins import InstantLLM, InstantSTT, InstantTTS
from rtvi_server.patches.aioice import use_by_default

STOP_SECS = 0.2


async def run_bot(connection: Any) -> None:
    transport = SmallWebRTCTransport(
        connection, TransportParams(audio_in_enabled=True, audio_out_enabled=True)
    )
    vad = SileroVADAnalyzer(params=VADParams(stop_secs=STOP_SECS))
    # pipecat's default turn end (Smart Turn v3), or the VAD's stop alone, in pipecat's API.
    strategies = (
        UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.0)])
        if os.environ.get("BENCH_TURN_END") == "vad"
        else None
    )
    user, assistant = LLMContextAggregatorPair(
        LLMContext(),
        user_params=LLMUserAggregatorParams(vad_analyzer=vad, user_turn_strategies=strategies),
    )
    pipeline = Pipeline(
        [
            transport.input(),
            InstantSTT(),
            user,
            InstantLLM(),
            InstantTTS(),
            transport.output(),
            assistant,
        ]
    )
    worker = PipelineWorker(
        pipeline, params=PipelineParams(enable_metrics=True), idle_timeout_secs=None
    )

    @transport.event_handler("on_client_disconnected")
    async def on_gone(_transport: Any, _client: Any) -> None:
        await worker.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await runner.run()


def create_app() -> FastAPI:
    # The same loopback-only ICE configuration as rtvi-server, so both sides use 127.0.0.1.
    use_by_default(["127.0.0.1"])
    app = FastAPI()
    handler = SmallWebRTCRequestHandler()
    tasks: set[asyncio.Task[None]] = set()

    @app.post("/api/offer")
    async def offer(request: Request) -> Any:
        body = await request.json()

        async def start(connection: Any) -> None:
            task = asyncio.create_task(run_bot(connection))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        return await handler.handle_web_request(SmallWebRTCRequest.from_dict(body), start)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7870)
    args = parser.parse_args()
    loop = os.environ.get("BENCH_LOOP", "asyncio")  # the same loop as our side's
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning", loop=loop)


if __name__ == "__main__":
    main()
