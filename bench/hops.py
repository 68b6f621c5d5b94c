"""What one pipeline hop costs an audio frame: rtvi-server's session worker against
stock pipecat's, in one process, one run.

.venv/bin/python -m bench.hops                    # 20,000 frames, 4 rounds a side
.venv/bin/python -m bench.hops --frames 500 --rounds 1   # smoke

While a user speaks, each 20 ms frame of their audio passes every processor
between the transport and the user aggregator, and each pass (a hop) is a queue,
a task switch and an event for the worker's observers. Both sides run the same
pipeline: an RTVI processor, ``--hops`` processors that pass frames on, and one
that counts them; stock pipecat's ``PipelineWorker`` as the stock benchmark
server makes it (its own RTVI processor and observer, turn tracking), ours from
``create_pipeline_worker``. Frames are queued at the pipeline's start in bursts
of 50 and the CPU time of this process is taken until the last is counted.
Rounds alternate sides; the median round is reported, with the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipecat.frames.frames import Frame, InputAudioRawFrame, StartFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from rtvi_server import RTVIProcessor, create_pipeline_worker

SIDES = ("rtvi-server", "stock-pipecat")
RESULTS = Path(__file__).resolve().parent / "results"
BURST = 50  # frames queued before yielding to the loop
FRAME = bytes(640)  # 20 ms of 16 kHz mono


class PassOn(FrameProcessor):
    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)


class AudioCount(FrameProcessor):
    """Counts audio frames (and ends them here); says when ``expected`` have come."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.seen = 0
        self.all_seen = asyncio.Event()
        self.started = asyncio.Event()  # the StartFrame got here: the pipeline takes frames

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self.started.set()
        if not isinstance(frame, InputAudioRawFrame):
            await self.push_frame(frame, direction)
            return
        self.seen += 1
        if self.seen >= self.expected:
            self.all_seen.set()


def build_worker(side: str, hops: int, count: AudioCount) -> tuple[PipelineWorker, FrameProcessor]:
    first = PassOn()
    middle = [PassOn() for _ in range(hops - 1)]
    if side == "rtvi-server":
        rtvi = RTVIProcessor()
        pipeline = Pipeline([first, rtvi, *middle, count])
        return create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None), first
    pipeline = Pipeline([first, *middle, count])  # pipecat puts its RTVI processor in front
    params = PipelineParams(enable_metrics=True)
    return PipelineWorker(pipeline, params=params, idle_timeout_secs=None), first


async def one_round(side: str, frames: int, hops: int) -> float:
    """CPU microseconds per audio frame through the whole pipeline."""
    count = AudioCount(frames)
    worker, first = build_worker(side, hops, count)
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(count.started.wait(), timeout=10)
        start = time.process_time()
        for sent in range(frames):
            await first.queue_frame(InputAudioRawFrame(FRAME, sample_rate=16000, num_channels=1))
            if sent % BURST == BURST - 1:
                await asyncio.sleep(0)
        await asyncio.wait_for(count.all_seen.wait(), timeout=60 + frames / 1000)
        return (time.process_time() - start) / frames * 1e6
    finally:
        await worker.cancel()
        await asyncio.wait_for(run, timeout=10)


@dataclass
class HopResult:
    side: str
    hops: int
    frames: int
    rounds_us_per_frame: list[float]

    @property
    def us_per_frame(self) -> float:
        return statistics.median(self.rounds_us_per_frame)

    def us_per_hop(self) -> float:
        # The RTVI processor and the counter are hops too; the counter's push ends it.
        return self.us_per_frame / (self.hops + 1)


async def run(frames: int, rounds: int, hops: int) -> list[HopResult]:
    results = {side: HopResult(side, hops, frames, []) for side in SIDES}
    for _ in range(rounds):
        for side in SIDES:
            results[side].rounds_us_per_frame.append(await one_round(side, frames, hops))
    return list(results.values())


def report(results: list[HopResult]) -> str:
    lines = [
        "| side | CPU us per audio frame (median) | per hop | rounds |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        rounds = ", ".join(f"{x:.1f}" for x in r.rounds_us_per_frame)
        lines.append(f"| {r.side} | {r.us_per_frame:.1f} | {r.us_per_hop():.1f} | {rounds} |")
    by_side = {r.side: r for r in results}
    ours, stock = by_side["rtvi-server"], by_side["stock-pipecat"]
    ratio = stock.us_per_frame / ours.us_per_frame if ours.us_per_frame > 0 else float("nan")
    lines += ["", f"stock / ours: {ratio:.2f}x ({ours.hops + 1} hops, {ours.frames} frames)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--hops", type=int, default=4, help="pass-on processors besides RTVI")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.frames < 1 or args.rounds < 1 or args.hops < 1:
        parser.error("--frames, --rounds and --hops are at least 1")
    results = asyncio.run(run(args.frames, args.rounds, args.hops))
    text = report(results)
    print(text, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hops.md").write_text(text + "\n")
    figures = {r.side: {**asdict(r), "us_per_frame": r.us_per_frame} for r in results}
    (args.out / "hops.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
