"""rtvi-server against stock pipecat 1.14, alternating in one run.

    .venv/bin/python -m bench                       # full run: 1, 4, 8, 16, 32, 64 sessions
    .venv/bin/python -m bench --sessions 1 --turns 1   # smoke run

For each session count, each side is started fresh as its own server process;
N WebRTC clients (this process, aiortc) connect over loopback and speak a
recorded fixture in real time, turn after turn, while the server's own CPU time
(/proc) and memory are sampled (memory per session: the most the server held
while its sessions were live, less its idle memory once it reclaimed the
warm-up's). By default the clients send Opus packets encoded once for all of
them, paced by one loop, and read the bot's audio level from its
RTP header instead of decoding it (``--client packets``); ``--client aiortc``
encodes and decodes per session as the test client does. The client process's
own CPU is reported beside the server's. Stand-in STT/LLM/TTS answer instantly on
both sides, so the framework is what is measured. Sessions take their turns as
independent users would, their first turns spread evenly over one turn's length;
``--lockstep`` has every session stop speaking at the same instant instead (the
worst case: every turn end queues behind the others'). Writes
bench/results/latest.json, latest.md and latest.png (CPU per frame and p95 turn
latency against sessions), keeps each run's table and figures as
run-<time>.{md,json}, and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.machine import measure
from bench.options import parse_args
from bench.packet_audio import EncodedClip, Pacer, PacketMicrophone, encode_clip, silence_packet
from bench.plot import plot
from bench.processes import CpuMeter, PeakRss, idle_rss_mb
from bench.profile import profile_server
from bench.server import free_port
from bench.side_table import SideResult, table
from bench.targets import targets
from rtvi_server.testing import read_wav_pcm16
from rtvi_server.testing.webrtc_client import WebRTCTestClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT.parent / "shared" / "fixtures" / "librivox_sense_and_sensibility_0870.wav"
RESULTS = ROOT / "bench" / "results"
STOP_SECS = 0.2
FRAME_SECS = 0.02
#: How much longer than the speech a microphone may take to play it: past that its
#: sender has stopped (aiortc's ends on a send error) and the session is failed.
MICROPHONE_SLACK_SECS = 10.0


class MicrophoneStalledError(RuntimeError):
    """The client's microphone stopped sending before its clip was played."""


def launch(
    side: str,
    port: int,
    turn_end: str,
    loop: str = "asyncio",
    workers: int = 1,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start one side's server; its output goes to ``log`` (or nowhere)."""
    env = {
        **os.environ,
        "BENCH_LOOP": loop,
        "RTVI_EVENT_LOOP": loop,
        "BENCH_TURN_END": turn_end,
        "PYTHONPATH": str(ROOT),
        "RTVI_IDLE_TIMEOUT": "0",
        "RTVI_MAX_SESSIONS": "500",
    }
    if side == "rtvi-server":
        cmd = [
            sys.executable,
            "-m",
            "rtvi_server.cli",
            "serve",
            "--port",
            str(port),
            "--bots-dir",
            str(ROOT / "bench" / "bots"),
            "--default-profile",
            "standin",
        ]
        if workers > 1:
            cmd += ["--workers", str(workers)]
    else:
        cmd = [sys.executable, "-m", "bench.stock_pipecat", "--port", str(port)]
    output = subprocess.DEVNULL if log is None else log.open("wb")
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            output.close()  # the server holds its own copy
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{side} did not start")


@dataclass
class Audio:
    """What the microphones play: PCM for the aiortc client, Opus packets otherwise."""

    speech: bytes | EncodedClip
    room_tone: bytes | EncodedClip
    pacer: Pacer | None = None
    silence: bytes = b""

    @classmethod
    def for_client(cls, client: str, speech: bytes, room: bytes) -> Audio:
        if client == "aiortc":
            return cls(speech, room)
        return cls(encode_clip(speech), encode_clip(room), Pacer(), silence_packet())

    def client(self, url: str) -> WebRTCTestClient:
        if self.pacer is None:
            return WebRTCTestClient(url)
        microphone = PacketMicrophone(self.pacer, self.silence)
        return WebRTCTestClient(url, microphone=microphone, decode_bot_audio=False)


@dataclass
class Run:
    """One side's run at one session count: what every session shares."""

    side: str
    url: str
    audio: Audio
    turns: int
    gap: float
    result: SideResult
    trailing_secs: float = 0.0
    #: The length of the clip each turn plays.
    speech_secs: float = 0.0
    #: How long after the previous session each session's first turn starts.
    stagger_secs: float = 0.0
    go: asyncio.Event = field(default_factory=asyncio.Event)
    all_connected: asyncio.Event = field(default_factory=asyncio.Event)
    connected: int = 0
    failed: int = 0
    started: int = 0

    def first_turn_delay(self) -> float:
        """This session's wait before its first turn (each session asks once)."""
        self.started += 1
        return (self.started - 1) * self.stagger_secs

    def settled(self) -> None:
        """One more session connected or failed; release the start once all have."""
        if self.connected + self.failed >= self.result.sessions:
            self.all_connected.set()


async def one_session_guarded(run: Run) -> None:
    """A session that fails (cannot connect, no bot-ready) is counted, never waited on."""
    try:
        await asyncio.wait_for(one_session(run), timeout=60 + run.turns * 30)
    except Exception as exc:  # what ended it, by kind, for the report
        run.result.failures.append(type(exc).__name__)
        run.result.failed += 1
        run.failed += 1
        run.settled()


async def one_session(run: Run) -> None:
    side, result = run.side, run.result
    async with run.audio.client(run.url) as client:
        t0 = time.monotonic()
        if side == "rtvi-server":
            await client.start({})
            await client.connect()
        else:
            await client.connect(offer_path="/api/offer")
        ready = await client.request(
            "client-ready", {"version": "2.1.0", "about": {"library": "bench"}}, timeout=30
        )
        assert ready["type"] == "bot-ready"
        result.start_to_ready_ms.append((time.monotonic() - t0) * 1000)
        run.connected += 1
        run.settled()
        # Listening: a quiet room (noise well under the VAD's min_volume) until the turns start.
        client.microphone.play(run.audio.room_tone)
        await run.go.wait()
        await asyncio.sleep(run.first_turn_delay())
        client.microphone.clear()
        for _ in range(run.turns):
            client.microphone.play(run.audio.speech)
            await played(client.microphone.finished, run.speech_secs)
            # The user stopped where the fixture's speech ends, not at its last sample.
            stopped = client.microphone.finished_at - run.trailing_secs
            deadline = stopped + 5
            onset = None
            while time.monotonic() < deadline:
                onset = next((o for o in client.bot_audio_onsets if o > stopped), None)
                if onset is not None:
                    break
                await asyncio.sleep(0.01)
            if onset is None:
                result.turns_missed += 1
            else:
                result.turn_extra_ms.append((onset - stopped - STOP_SECS) * 1000)
            await asyncio.sleep(run.gap)


async def played(finished: asyncio.Event, clip_secs: float) -> None:
    """Until the microphone has played its clip; a sender that stopped fails the session
    in bounded time instead of holding it to the run's timeout."""
    try:
        await asyncio.wait_for(finished.wait(), timeout=clip_secs + MICROPHONE_SLACK_SECS)
    except TimeoutError:
        raise MicrophoneStalledError(f"the clip was not played in {clip_secs:.1f} s") from None


async def trailing_quiet_secs(pcm: bytes) -> float:
    """How long the fixture goes on after its speech ends, as pipecat's VAD hears it.

    The VAD turns QUIET ``stop_secs`` after the last speech; what follows that
    point in the file is not the user speaking.
    """
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.audio.vad.vad_analyzer import VADParams, VADState

    vad = SileroVADAnalyzer(sample_rate=16000, params=VADParams(stop_secs=STOP_SECS))
    vad.set_sample_rate(16000)
    padded = pcm + b"\0" * 32000
    chunk = int(16000 * FRAME_SECS) * 2
    speaking, quiet_at = False, None
    for i in range(0, len(padded) - chunk + 1, chunk):
        state = await vad.analyze_audio(padded[i : i + chunk])
        if state == VADState.SPEAKING:
            speaking = True
        elif state == VADState.QUIET and speaking:
            speaking, quiet_at = False, (i + chunk) / 32000
    if quiet_at is None:
        raise RuntimeError("pipecat's VAD hears no speech in the fixture")
    return max(0.0, len(pcm) / 32000 - (quiet_at - STOP_SECS))


def room_tone(seconds: float) -> bytes:
    """Quiet noise (about -60 dBFS): what an open microphone in a quiet room sends."""
    rng = np.random.default_rng(1)
    return rng.normal(0, 30, int(16000 * seconds)).astype(np.int16).tobytes()


def _free_log_name(directory: Path, stem: str) -> Path:
    """``stem.log``, or ``stem-2.log`` and on when a point is run again in one run."""
    path, k = directory / f"{stem}.log", 1
    while path.exists():
        k += 1
        path = directory / f"{stem}-{k}.log"
    return path


async def run_side(side: str, sessions: int, audio: Audio, args: argparse.Namespace) -> SideResult:
    port = free_port()
    workers = args.workers if side == "rtvi-server" else 1
    log = None
    if args.server_logs is not None:
        args.server_logs.mkdir(parents=True, exist_ok=True)
        log = _free_log_name(args.server_logs, f"{side}-{sessions}")
    proc = launch(side, port, args.turn_end, args.loop, workers, log)
    url = f"http://127.0.0.1:{port}"
    result = SideResult(side, sessions, client=args.client, workers=workers)
    peak: PeakRss | None = None
    try:
        # Warm up (first-use costs: model load, imports), then take the idle baseline.
        warm = Run(side, url, audio, turns=1, gap=0.5, result=SideResult(side, 1))
        warm.speech_secs = args.speech_secs
        warm.go.set()
        await one_session_guarded(warm)
        result.rss_idle_mb = await idle_rss_mb(proc.pid, url)
        run = Run(side, url, audio, turns=args.turns, gap=args.gap, result=result)
        run.trailing_secs = args.trailing_secs
        run.speech_secs = args.speech_secs
        if not args.lockstep:  # first turns spread evenly over one turn's speech and gap
            run.stagger_secs = (args.speech_secs + args.gap) / sessions
        tasks = [asyncio.create_task(one_session_guarded(run)) for _ in range(sessions)]
        peak = PeakRss(proc.pid)
        await run.all_connected.wait()
        result.connected = run.connected
        if args.listen > 0 and run.connected:
            await asyncio.sleep(1.0)  # every microphone is streaming
            meter = CpuMeter(proc.pid)
            if side == "rtvi-server" and sessions == args.profile:
                await profile_server(proc.pid, args.listen, args.out / f"profile-{sessions}")
            else:
                await asyncio.sleep(args.listen)
            frames = run.connected * meter.wall() / FRAME_SECS
            result.listen_cpu_ms_per_frame = meter.server() / frames * 1000
            result.client_listen_cpu = meter.client() / meter.wall()
        meter = CpuMeter(proc.pid)
        run.go.set()
        if side == "rtvi-server" and sessions == args.profile and args.profile_talking > 0:
            stem = args.out / f"profile-{sessions}-talking"
            tasks.append(asyncio.create_task(profile_server(proc.pid, args.profile_talking, stem)))
        await asyncio.gather(*tasks)
        wall = meter.wall()
        result.cpu_seconds = meter.server()
        result.client_cpu = meter.client() / wall
        result.rss_loaded_mb = await peak.stop()
        result.audio_seconds = wall * sessions
        result.cpu_ms_per_frame = result.cpu_seconds / (result.audio_seconds / FRAME_SECS) * 1000
        result.cpu_utilisation = meter.busiest() / wall
        return result
    finally:
        if peak is not None:
            await peak.stop()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main_async(args: argparse.Namespace) -> list[SideResult]:
    speech = read_wav_pcm16(FIXTURE)
    args.trailing_secs = await trailing_quiet_secs(speech)
    args.speech_secs = len(speech) / (2 * 16000)
    audio = Audio.for_client(args.client, speech, room_tone(args.listen + 60))
    results = []
    for i, n in enumerate(args.sessions):
        order = ["rtvi-server", "stock-pipecat"] if i % 2 == 0 else ["stock-pipecat", "rtvi-server"]
        for side in [s for s in order if s in args.sides]:
            print(f"-- {side}: {n} session(s)", flush=True)
            results.append(await run_side(side, n, audio, args))
    if audio.pacer is not None:
        await audio.pacer.close()
    return results


def main() -> None:
    args = parse_args(__doc__ or "", RESULTS)
    from rtvi_server.patches.aioice import use_by_default

    use_by_default(["127.0.0.1"])
    # Timed before any server starts, on a quiet machine, and again once all stopped.
    packets = encode_clip(read_wav_pcm16(FIXTURE)).packets
    machine = measure(packets)
    print(machine.line(), flush=True)
    results = asyncio.run(main_async(args))
    after = measure(packets)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine.summary(),
        "machine_after": after.summary(),
        "stop_secs": STOP_SECS,
        "turn_end": args.turn_end,
        "loop": args.loop,
        "client": args.client,
        "workers": args.workers,
        "lockstep": args.lockstep,
        "results": [r.summary() for r in results],
    }
    judged = targets(results, turn_end=args.turn_end, workers=args.workers)
    md = machine.line(after) + "\n\n" + table(results) + "\n\n" + judged
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for stem in ("latest", f"run-{stamp}"):
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
        (args.out / f"{stem}.md").write_text(md + "\n")
    plot(report, args.out / "latest.png")
    print(md)


if __name__ == "__main__":
    main()
