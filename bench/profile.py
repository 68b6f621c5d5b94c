"""A py-spy profile of the rtvi-server process while its sessions listen or talk.

Saved beside the results as collapsed stacks (``profile-N.txt``, for speedscope or
flamegraph.pl) and a summary (``profile-N.md``): the share of samples by area of
the listening path, then by innermost and by any frame.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from pathlib import Path

from bench.processes import py_spy_path

#: Areas of the listening path, by a substring of a frame in the stack. A sample
#: counts for every area whose frames it holds (the VAD engine holds the model call).
AREAS: dict[str, tuple[str, ...]] = {
    "waiting for packets (epoll)": ("EpollSelector.select",),
    "VAD: all (analyzer, batch engine, controller)": (
        "batched_vad.py",
        "silero_engine.py",
        "vad_controller.py",
    ),
    "VAD: Silero model call (onnxruntime)": ("OnnxSilero.run",),
    "receive: lean path (SRTP, RTP header, order; rtvi-server)": ("LeanReceive.__call__",),
    "receive: DTLS/SRTP/RTP (aiortc)": ("RTCDtlsTransport.__run",),
    "receive: ICE (aioice)": ("aioice/",),
    "receive: aiortc's RTP receiver": ("rtcrtpreceiver.py",),
    "decode: libopus": ("OpusDecoder.decode",),
    "listening gate": ("listening_gate.py",),
    "pipecat processors (queues, hops)": ("pipecat/processors/frame_processor.py",),
    "pipecat input transport": ("pipecat/transports/base_input.py",),
    "pipecat observers": ("worker_observer.py",),
    "send: RTP sender (aiortc)": ("rtcrtpsender.py",),
    "data channel (SCTP)": ("rtcsctptransport.py",),
}


async def profile_server(pid: int, seconds: float, stem: Path) -> None:
    """Sample the server with py-spy for ``seconds``: collapsed stacks and a summary."""
    py_spy = py_spy_path()
    if py_spy is None:
        print("   (py-spy not installed: pip install py-spy; no profile)", flush=True)
        await asyncio.sleep(seconds)
        return
    stem.parent.mkdir(parents=True, exist_ok=True)
    raw = stem.with_suffix(".txt")
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    command += ["--format", "raw", "--nonblocking", "--rate", "200", "-o", str(raw)]
    spy = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await spy.wait()
    if raw.exists():
        stem.with_suffix(".md").write_text(summarise_profile(raw.read_text()))


def summarise_profile(collapsed: str, top: int = 25) -> str:
    """Where the samples are: by area, by innermost frame (self) and by any frame."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for name in set(frames):
            anywhere[name] += int(count)
        for area, markers in AREAS.items():
            if any(marker in stack for marker in markers):
                areas[area] += int(count)
    total = max(total, 1)
    lines = [f"{total} samples", "", "| area | samples |", "| --- | --- |"]
    lines += [f"| {a} | {areas[a] / total:.1%} |" for a in AREAS if areas[a]]
    lines += ["", "| self | function |", "| --- | --- |"]
    lines += [f"| {n / total:.1%} | `{f}` |" for f, n in own.most_common(top)]
    lines += ["", "| inclusive | function |", "| --- | --- |"]
    lines += [f"| {n / total:.1%} | `{f}` |" for f, n in anywhere.most_common(top)]
    return "\n".join(lines) + "\n"
