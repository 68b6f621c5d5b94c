"""The benchmark's bot on rtvi-server: the standard pipeline with instant stand-ins.

``BENCH_TURN_END`` (set by ``python -m bench --turn-end``) picks how turns end.
"""

import os

from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams

from bench.standins import InstantLLM, InstantSTT, InstantTTS
from rtvi_server import RTVIProcessor, create_pipeline_worker
from rtvi_server.audio import BatchedSileroVADAnalyzer
from rtvi_server.bots import Bot, BotArgs
from rtvi_server.processor import (
    gate_in,
    listening_aggregators,
    listening_stage,
    user_turn_strategies,
)
from rtvi_server.services import vad_service

STOP_SECS = 0.2


async def create_bot(args: BotArgs) -> Bot:
    params = VADParams(stop_secs=STOP_SECS)
    listening, user_params = listening_stage(
        InstantSTT(),
        LLMUserAggregatorParams(
            vad_analyzer=BatchedSileroVADAnalyzer(params=params),
            user_turn_strategies=user_turn_strategies(
                os.environ.get("BENCH_TURN_END", "smart-turn")
            ),
        ),
    )
    user, assistant = listening_aggregators(LLMContext(), user_params=user_params)
    rtvi = RTVIProcessor(config=args.config)
    rtvi.register_service(vad_service(default=params))
    pipeline = Pipeline(
        [
            args.transport.input(),
            rtvi,
            *listening,
            user,
            InstantLLM(),
            InstantTTS(),
            args.transport.output(),
            assistant,
        ]
    )
    worker = create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None)
    return Bot(worker=worker, rtvi=rtvi, listening_gate=gate_in(listening))
