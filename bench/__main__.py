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
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench.packet_audio import EncodedClip, Pacer, PacketMicrophone, encode_clip, silence_packet
from bench.plot import plot
from bench.processes import CpuMeter, PeakRss, idle_rss_mb
from bench.profile import profile_listening
from rtvi_server.testing import read_wav_pcm16
from rtvi_server.testing.webrtc_client import WebRTCTestClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT.parent / "shared" / "fixtures" / "librivox_sense_and_sensibility_0870.wav"
RESULTS = ROOT / "bench" / "results"
STOP_SECS = 0.2
FRAME_SECS = 0.02
SIDES = ("rtvi-server", "stock-pipecat")


@dataclass
class SideResult:
    side: str
    sessions: int
    connected: int = 0
    audio_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cpu_ms_per_frame: float = 0.0
    cpu_utilisation: float = 0.0
    listen_cpu_ms_per_frame: float = 0.0
    start_to_ready_ms: list[float] = field(default_factory=list)
    turn_extra_ms: list[float] = field(default_factory=list)
    turns_missed: int = 0
    failed: int = 0
    #: Why each failed session failed (the exception's class: TimeoutError, ...).
    failures: list[str] = field(default_factory=list)
    rss_idle_mb: float = 0.0
    rss_loaded_mb: float = 0.0
    client: str = "packets"
    client_listen_cpu: float = 0.0
    client_cpu: float = 0.0
    #: Server processes serving sessions (``--workers``); CPU and memory are summed
    #: over them, ``cpu_utilisation`` is the busiest one's.
    workers: int = 1

    @property
    def label(self) -> str:
        """The side as the tables name it (with its workers, where there are several)."""
        return self.side + (f" ({self.workers} workers)" if self.workers > 1 else "")

    @property
    def mem_per_session_mb(self) -> float:
        return (self.rss_loaded_mb - self.rss_idle_mb) / max(1, self.connected)

    def pct(self, values: list[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    @property
    def all_connected(self) -> bool:
        return self.connected == self.sessions

    @property
    def all_answered(self) -> bool:
        """Every session connected and stayed, every turn was answered."""
        return self.all_connected and self.failed == 0 and self.turns_missed == 0

    @property
    def holds_real_time(self) -> bool:
        p95 = self.pct(self.turn_extra_ms, 0.95)
        return (
            self.connected == self.sessions
            and self.failed == 0
            and self.turns_missed == 0
            and p95 is not None
            and p95 < 250
            and self.cpu_utilisation < 0.95
        )

    def summary(self) -> dict[str, object]:
        return {
            **asdict(self),
            "mem_per_session_mb": round(self.mem_per_session_mb, 2),
            "turn_extra_p50_ms": self.pct(self.turn_extra_ms, 0.5),
            "turn_extra_p95_ms": self.pct(self.turn_extra_ms, 0.95),
            "start_to_ready_p95_ms": self.pct(self.start_to_ready_ms, 0.95),
            "holds_real_time": self.holds_real_time,
        }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
            await client.microphone.finished.wait()
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
        warm.go.set()
        await one_session_guarded(warm)
        result.rss_idle_mb = await idle_rss_mb(proc.pid, url)
        run = Run(side, url, audio, turns=args.turns, gap=args.gap, result=result)
        run.trailing_secs = args.trailing_secs
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
                await profile_listening(proc.pid, args.listen, args.out / f"profile-{sessions}")
            else:
                await asyncio.sleep(args.listen)
            frames = run.connected * meter.wall() / FRAME_SECS
            result.listen_cpu_ms_per_frame = meter.server() / frames * 1000
            result.client_listen_cpu = meter.client() / meter.wall()
        meter = CpuMeter(proc.pid)
        run.go.set()
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


HEADER = (
    "sessions",
    "side",
    "listening CPU ms / 20 ms frame",
    "conversation CPU ms / 20 ms frame",
    "server CPU (busiest process)",
    "client CPU, listening / talking",
    "turn latency beyond stop_secs p50 / p95 (ms)",
    "start to bot-ready p95 (ms)",
    "memory / session (MB)",
    "real time",
)


def row(cells: list[str] | tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def table(results: list[SideResult]) -> str:
    lines = [row(HEADER), row(["---"] * len(HEADER))]
    for r in results:
        lines.append(row([str(r.sessions), r.label, *_figures(r)]))
    by_n: dict[int, dict[str, SideResult]] = {}
    for r in results:
        by_n.setdefault(r.sessions, {})[r.side] = r
    lines += [
        "",
        "| sessions | listening CPU, stock / ours | conversation CPU, stock / ours"
        " | turn p95, stock / ours |",
        "| --- | --- | --- | --- |",
    ]
    for n, pair in sorted(by_n.items()):
        ours, stock = pair.get("rtvi-server"), pair.get("stock-pipecat")
        if ours and stock:
            lines.append(f"| {n} | {_ratios(stock, ours)} |")
    lines += ["", _real_time_line(results)]
    failed = [r for r in results if r.failures]
    if failed:
        lines += ["", "Sessions that failed, and why:"]
        lines += [f"- {r.label}, {r.sessions}: {_counted(r.failures)}" for r in failed]
    return "\n".join(lines)


def _counted(names: list[str]) -> str:
    return ", ".join(f"{n} x {name}" for name, n in Counter(names).most_common())


def _figures(r: SideResult) -> list[str]:
    """A side's cells after its name: "n/a" where nothing was there to measure."""
    if not r.connected:  # no session to listen, talk or hold memory: figures of nothing
        return ["n/a (none connected)"] * (len(HEADER) - 3) + ["no"]
    s = r.summary()
    p50, p95, ready = s["turn_extra_p50_ms"], s["turn_extra_p95_ms"], s["start_to_ready_p95_ms"]
    return [
        f"{r.listen_cpu_ms_per_frame:.3f}",
        f"{r.cpu_ms_per_frame:.3f}",
        f"{r.cpu_utilisation * 100:.0f}%",
        f"{r.client_listen_cpu * 100:.0f}% / {r.client_cpu * 100:.0f}%",
        f"{p50:.0f} / {p95:.0f}" if p50 is not None and p95 is not None else "none answered",
        f"{ready:.0f}" if ready is not None else "n/a",
        f"{r.mem_per_session_mb:.1f}",
        "yes" if r.holds_real_time else "no",
    ]


def _real_time_line(results: list[SideResult]) -> str:
    """The most sessions each side held in real time (what ``--workers`` is compared by)."""
    held: dict[str, int] = {}
    for r in results:
        held.setdefault(r.label, 0)
        if r.holds_real_time:
            held[r.label] = max(held[r.label], r.sessions)
    parts = [f"{name} {n or 'none'}" for name, n in sorted(held.items())]
    return "Most sessions held in real time: " + ", ".join(parts) + "."


def _ratios(stock: SideResult, ours: SideResult) -> str:
    """stock / ours for the three figures, where both sides measured them in full."""
    listening = _ratio(stock, ours, "listen_cpu_ms_per_frame", stock.all_connected)
    both = stock.all_answered and ours.all_answered
    conversation = _ratio(stock, ours, "cpu_ms_per_frame", both)
    p95s, p95o = stock.pct(stock.turn_extra_ms, 0.95), ours.pct(ours.turn_extra_ms, 0.95)
    latency = f"{p95s / p95o:.2f}x" if both and p95s and p95o else _missing(stock, ours)
    return " | ".join([listening, conversation, latency])


def _ratio(stock: SideResult, ours: SideResult, key: str, valid: bool) -> str:
    a, b = getattr(stock, key), getattr(ours, key)
    return f"{a / b:.2f}x" if valid and a and b else _missing(stock, ours)


def _missing(stock: SideResult, ours: SideResult) -> str:
    for r in (stock, ours):
        if not r.all_connected:
            return f"n/a ({r.side}: {r.connected}/{r.sessions} connected)"
        if not r.all_answered:
            answered = len(r.turn_extra_ms)
            return f"n/a ({r.side}: {answered}/{answered + r.turns_missed} turns answered)"
    return "n/a"


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


def _sides(text: str) -> tuple[str, ...]:
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SIDES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sides are {', '.join(SIDES)}; got {text!r}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sessions",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 4, 8, 16, 32, 64],
    )
    parser.add_argument("--turns", type=int, default=3, help="spoken turns per session")
    parser.add_argument(
        "--sides",
        type=_sides,
        default=SIDES,
        help="which servers run, comma-separated (default both; one side alone gives no ratios)",
    )
    parser.add_argument(
        "--gap", type=float, default=1.5, help="seconds of silence after each reply"
    )
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="every session speaks at the same instant (the worst case); by default each"
        " session's first turn starts 1/N of a turn (speech and gap) after the previous one's,"
        " as independent users' turns fall",
    )
    parser.add_argument(
        "--listen", type=float, default=5.0, help="seconds of quiet listening measured first"
    )
    parser.add_argument(
        "--turn-end",
        choices=["smart-turn", "vad"],
        default="smart-turn",
        help="how user turns end on both sides: pipecat's default Smart Turn model, or the VAD",
    )
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="asyncio",
        help="the event loop both servers run on (uvloop: pip install uvloop)",
    )
    parser.add_argument(
        "--client",
        choices=["packets", "aiortc"],
        default="packets",
        help="packets: Opus encoded once, one paced loop, the bot's audio level read from RTP;"
        " aiortc: each session encodes and decodes (the test client)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=32,
        help="py-spy the rtvi-server process while this many sessions listen (0: never)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="rtvi-server serves from this many worker processes (its CPU and memory summed)",
    )
    parser.add_argument(
        "--server-logs",
        type=Path,
        default=None,
        help="keep each server's output here, as <side>-<sessions>.log (-2, -3, ... where"
        " taken; default: discarded)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from rtvi_server.patches.aioice import use_by_default

    use_by_default(["127.0.0.1"])
    results = asyncio.run(main_async(args))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "stop_secs": STOP_SECS,
        "turn_end": args.turn_end,
        "loop": args.loop,
        "client": args.client,
        "workers": args.workers,
        "lockstep": args.lockstep,
        "results": [r.summary() for r in results],
    }
    md = table(results)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for stem in ("latest", f"run-{stamp}"):
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
        (args.out / f"{stem}.md").write_text(md + "\n")
    plot(report, args.out / "latest.png")
    print(md)


if __name__ == "__main__":
    main()
