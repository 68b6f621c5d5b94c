"""How fast this machine is, by three fixed workloads timed before a run.

The targets are absolute (milliseconds of CPU per frame, of latency), and the same
code on the same kind of cloud machine measures up to twice as slow in one hour as
in another. Each report therefore carries the time of three fixed workloads that
stand for the framework's costs, so two runs' absolute figures can be read
against each other: pipecat's frame hops (an asyncio queue and a task per hop),
libopus decoding the benchmark's own packets, and one batched Silero call. They
are timed before the run and again after it, since the machine's speed drifts
within minutes too (three readings a minute apart here: a hop 1.0-1.8 us). The
ratios against stock pipecat are measured in one run on one machine and need no
such reading.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

#: Frames each hop workload passes along its chain of queues, and the chain's length.
HOP_FRAMES = 2000
HOP_CHAIN = 5
#: Silero windows per batched call (a 32-session process's round).
SILERO_BATCH = 32
#: Each workload is timed this many times; the fastest counts (the least disturbed).
REPEATS = 3


@dataclass(frozen=True)
class MachineSpeed:
    """The machine, and what each fixed workload cost it (lower is faster)."""

    cpu: str
    cpus: int
    python: str
    #: One frame through one asyncio queue and its consuming task, in microseconds.
    hop_us: float
    #: One of the benchmark's Opus packets decoded to 16 kHz mono, in microseconds.
    opus_decode_us: float
    #: One window of a batched Silero call, in microseconds.
    silero_window_us: float

    def summary(self) -> dict[str, object]:
        return asdict(self)

    def line(self, after: MachineSpeed | None = None) -> str:
        """The report's first line; with ``after`` (the same workloads timed once the
        run is over), both readings, which bracket the run."""

        def both(field: str) -> str:
            value = f"{getattr(self, field):.1f}"
            return value if after is None else f"{value} / {getattr(after, field):.1f}"

        when = "" if after is None else " before / after the run"
        return (
            f"Machine: {self.cpu}, {self.cpus} CPUs, Python {self.python}; fixed workloads{when}:"
            f" a frame hop {both('hop_us')} us, an Opus packet decoded"
            f" {both('opus_decode_us')} us, a batched Silero window"
            f" {both('silero_window_us')} us (lower is faster)"
        )


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it (else the platform's)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fastest(work: Callable[[], int]) -> float:
    """Seconds per unit of ``work`` (which returns how many units it did), best of REPEATS."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        units = work()
        best = min(best, (time.perf_counter() - start) / units)
    return best


async def hop_chain(frames: int, chain: int) -> int:
    """``frames`` objects through ``chain`` queues, each drained by its own task."""
    queues: list[asyncio.Queue[object | None]] = [asyncio.Queue() for _ in range(chain + 1)]

    async def relay(
        source: asyncio.Queue[object | None], sink: asyncio.Queue[object | None]
    ) -> None:
        while (item := await source.get()) is not None:
            await sink.put(item)
        await sink.put(None)

    tasks = [asyncio.create_task(relay(a, b)) for a, b in itertools.pairwise(queues)]
    for i in range(frames):
        await queues[0].put(i)
    await queues[0].put(None)
    while await queues[-1].get() is not None:
        pass
    await asyncio.gather(*tasks)
    return frames * chain


def hop_seconds() -> float:
    return fastest(lambda: asyncio.run(hop_chain(HOP_FRAMES, HOP_CHAIN)))


def opus_decode_seconds(packets: tuple[bytes, ...]) -> float:
    from rtvi_server.audio.opus import OpusDecoder

    def decode_all() -> int:
        decoder = OpusDecoder(16000)
        try:
            for packet in packets:
                decoder.decode(packet)
        finally:
            decoder.close()
        return len(packets)

    return fastest(decode_all)


def silero_window_seconds(calls: int = 20) -> float:
    from rtvi_server.audio.silero_engine import WINDOW, SileroBatchEngine

    engine = SileroBatchEngine()
    streams = [engine.open_stream() for _ in range(SILERO_BATCH)]
    windows = np.random.default_rng(0).uniform(-0.1, 0.1, (SILERO_BATCH, WINDOW))
    windows = windows.astype(np.float32)
    engine.evaluate(streams, windows)  # the first call sets onnxruntime up

    def batched_calls() -> int:
        for _ in range(calls):
            engine.evaluate(streams, windows)
        return calls * SILERO_BATCH

    return fastest(batched_calls)


def measure(packets: tuple[bytes, ...]) -> MachineSpeed:
    """Time the three workloads (about a second); ``packets`` are the clip's Opus packets."""
    return MachineSpeed(
        cpu=cpu_name(),
        cpus=os.cpu_count() or 1,
        python=platform.python_version(),
        hop_us=hop_seconds() * 1e6,
        opus_decode_us=opus_decode_seconds(packets) * 1e6,
        silero_window_us=silero_window_seconds() * 1e6,
    )
