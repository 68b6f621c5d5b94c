"""Soak: many sessions, started and ended every way a session ends, against a real server.

    .venv/bin/python -m bench.soak                        # 2,000 sessions, 4 at a time
    .venv/bin/python -m bench.soak --sessions 300 --concurrency 4

The server (``rtvi-server serve`` with the default offline bot) runs as its own
process; this process drives it over HTTP and real loopback WebRTC. A third of
the sessions connect and play a recorded fixture, ending by ``DELETE``, by the
client leaving, by ``max_duration`` or by ``disconnect-bot`` (some complete a
spoken turn first); the rest are started and deleted, never connected (ended by
the connect timeout), or refused a bad offer. The server's RSS, open
descriptors, threads (from ``/proc``) and event-loop lag (from ``/metrics``) are
sampled as sessions complete. Writes bench/results/soak.{md,json,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

from bench.processes import metric
from bench.server import ServerUnderTest
from rtvi_server.testing.webrtc_client import WebRTCTestClient

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"
SPEECH = FIXTURES / "librivox_sense_and_sensibility_0870.wav"
SHORT_SPEECH = FIXTURES / "librivox_sense_and_sensibility_0930.wav"
RESULTS = ROOT / "bench" / "results"
CONNECT_TIMEOUT_SECS = 2.0
WARMUP_SESSIONS = 20
# One cycle of twelve: a third connect. A spoken turn replaces one "delete" every 25
# cycles, starting with the first, so the warm-up has loaded every model.
CYCLE = (
    "start-delete", "connected-delete", "never-connected", "start-delete",
    "connected-leave", "bad-offer", "start-delete", "connected-max-duration",
    "never-connected", "start-delete", "connected-disconnect-bot", "start-delete",
)  # fmt: skip
BAD_SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"  # media, but nothing to negotiate
CONNECTED = {k for k in CYCLE if k.startswith("connected")} | {"connected-turn"}


@dataclass
class Sample:
    done: int
    seconds: float
    rss_mb: float
    fds: int
    threads: int
    loop_lag_ms: float


@dataclass
class SoakResult:
    sessions: int
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    warmup: Sample | None = None
    final: Sample | None = None

    @property
    def rss_growth_mb(self) -> float:
        assert self.warmup is not None
        assert self.final is not None
        return self.final.rss_mb - self.warmup.rss_mb

    def summary(self) -> dict[str, object]:
        return {
            **asdict(self),
            "kinds": dict(self.kinds),
            "rss_growth_mb": round(self.rss_growth_mb, 1),
            "max_loop_lag_ms": max((s.loop_lag_ms for s in self.samples), default=0.0),
        }


def soak_server(port: int, log_path: Path) -> ServerUnderTest:
    """The default offline bot, with a short connect timeout (never-connected sessions)."""
    env = {
        "RTVI_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECS),
        "RTVI_IDLE_TIMEOUT": "0",
        "RTVI_MAX_SESSIONS": "16",
    }
    return ServerUnderTest(port, log_path, env=env)


def kind_of(index: int) -> str:
    kind = CYCLE[index % len(CYCLE)]
    if kind == "connected-delete" and (index // len(CYCLE)) % 25 == 0:
        return "connected-turn"
    return kind


# -- the server ---------------------------------------------------------------


def proc_status(pid: int) -> tuple[float, int, int]:
    """RSS (MB), open descriptors and threads of a process."""
    rss, threads = 0.0, 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


# -- one session of each kind -------------------------------------------------


async def _json(
    http: aiohttp.ClientSession, method: str, url: str, body: object = None
) -> tuple[int, object]:
    async with http.request(method, url, json=body) as r:
        return r.status, await r.json(content_type=None)


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


async def unconnected(kind: str, url: str, http: aiohttp.ClientSession) -> None:
    status, body = await _json(http, "POST", url + "/start", {})
    _check(status == 200 and isinstance(body, dict), f"start answered {status}")
    assert isinstance(body, dict)
    sid = body["sessionId"]
    if kind == "start-delete":
        status, _ = await _json(http, "DELETE", f"{url}/sessions/{sid}")
        _check(status == 200, f"delete answered {status}")
    elif kind == "bad-offer":
        status, reply = await _json(
            http,
            "POST",
            f"{url}/sessions/{sid}/api/offer",
            {"sdp": BAD_SDP, "type": "offer"},
        )
        _check(
            status == 400 and isinstance(reply, dict) and reply.get("field") == "sdp",
            f"bad offer answered {status}",
        )
        status, info = await _json(http, "GET", f"{url}/sessions/{sid}")
        _check(
            isinstance(info, dict) and info.get("end_reason") == "offer_failed",
            f"after a bad offer: {info}",
        )
    # never-connected: left alone; the server ends it after its connect timeout.


async def connected(kind: str, url: str) -> None:
    payload = {"max_duration": 2} if kind == "connected-max-duration" else {}
    async with WebRTCTestClient(url) as client:
        await client.start(payload)
        await client.connect()
        ready = await client.request("client-ready", {}, timeout=30)
        _check(ready["type"] == "bot-ready", f"client-ready answered {ready['type']}")
        if kind == "connected-turn":
            await client.play_wav(SHORT_SPEECH).wait()
            await client.wait_for_event("bot-started-speaking", timeout=60)
        else:
            client.play_wav(SPEECH)
        if kind == "connected-delete" or kind == "connected-turn":
            async with aiohttp.ClientSession() as http:
                status, _ = await _json(http, "DELETE", f"{url}/sessions/{client.session_id}")
            _check(status == 200, f"delete answered {status}")
            await client.wait_for_signal("peerLeft", timeout=15)
        elif kind == "connected-max-duration":
            await client.wait_for_signal("peerLeft", timeout=15)
        elif kind == "connected-disconnect-bot":
            await asyncio.sleep(0.5)  # half a second of the user speaking, then they hang up
            await client.send("disconnect-bot", {})
            await client.wait_for_signal("peerLeft", timeout=15)
        else:  # connected-leave: the client goes away mid-sentence
            await asyncio.sleep(1.0)


# -- the run ------------------------------------------------------------------


async def sample(
    server: ServerUnderTest, http: aiohttp.ClientSession, done: int, t0: float
) -> Sample:
    rss, fds, threads = proc_status(server.proc.pid)  # before this request's own socket
    async with http.get(server.url + "/metrics") as r:
        lag = metric(await r.text(), "rtvi_event_loop_lag_seconds")
    return Sample(
        done, round(time.monotonic() - t0, 1), round(rss, 1), fds, threads, round(lag * 1000, 1)
    )


async def settled(
    server: ServerUnderTest, http: aiohttp.ClientSession, timeout: float = 60
) -> None:
    """Until no session is live and the server has reclaimed memory after the last end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with http.get(server.url + "/metrics") as r:
            text = await r.text()
        if metric(text, "rtvi_active_sessions") == 0:
            reclaims = metric(text, "rtvi_memory_reclaims_total")
            ended = sum(
                float(v)
                for v in re.findall(r"^rtvi_sessions_ended_total\{[^}]*\} (\S+)$", text, re.M)
            )
            if reclaims > 0 and ended > 0:
                # One more reclaim after everything ended: wait for the counter to move.
                await _reclaim_after(server, http, reclaims, deadline)
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("sessions did not all end")


async def _reclaim_after(
    server: ServerUnderTest, http: aiohttp.ClientSession, seen: float, deadline: float
) -> None:
    while time.monotonic() < deadline:
        async with http.get(server.url + "/metrics") as r:
            if metric(await r.text(), "rtvi_memory_reclaims_total") > seen:
                return
        await asyncio.sleep(0.2)


async def _run_jobs(
    indexes: range, concurrency: int, run_one: Callable[[int], Awaitable[None]]
) -> None:
    jobs = iter(indexes)

    async def worker() -> None:
        for index in jobs:
            await run_one(index)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run_soak(
    server: ServerUnderTest,
    sessions: int,
    concurrency: int,
    *,
    every: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> SoakResult:
    """Warm up with the first sessions (then settle and take the baseline), run the
    rest sampling as they complete, settle, and take the final sample.

    Baseline and final sample are taken in the same state: no session live, memory
    reclaimed, and no connection of this driver kept open to the server.
    """
    result = SoakResult(sessions, concurrency)
    every = every or max(10, sessions // 60)
    done = 0
    t0 = time.monotonic()
    probe = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))

    async def record(s: Sample) -> Sample:
        result.samples.append(s)
        if progress is not None:
            progress(
                f"{s.done:5d} sessions  {s.rss_mb:7.1f} MB  {s.fds:4d} fds  "
                f"{s.threads:3d} threads  lag {s.loop_lag_ms:.0f} ms"
            )
        return s

    async def phase(indexes: range, baseline: Sample | None) -> Sample:
        nonlocal done
        async with aiohttp.ClientSession() as http:

            async def one(index: int) -> None:
                nonlocal done
                kind = kind_of(index)
                try:
                    job = connected(kind, server.url) if kind in CONNECTED else None
                    await asyncio.wait_for(job or unconnected(kind, server.url, http), timeout=90)
                    result.kinds[kind] += 1
                except Exception as exc:
                    result.failures.append(f"{index} {kind}: {exc!r}"[:300])
                done += 1
                if done > WARMUP_SESSIONS and done % every == 0:
                    await record(await sample(server, probe, done, t0))

            await _run_jobs(indexes, concurrency, one)
        await settled(server, probe)
        if baseline is not None:
            await back_to(server, baseline)
        return await record(await sample(server, probe, done, t0))

    try:
        warmup = min(WARMUP_SESSIONS, sessions)
        result.warmup = await phase(range(warmup), None)
        result.final = await phase(range(warmup, sessions), result.warmup)
    finally:
        await probe.close()
    return result


async def back_to(server: ServerUnderTest, level: Sample, timeout: float = 10) -> None:
    """Until the server's descriptors and threads are back to ``level`` (a socket or a
    thread of the last session may still be closing), or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, fds, threads = proc_status(server.proc.pid)
        if fds <= level.fds and threads <= level.threads:
            return
        await asyncio.sleep(0.1)


def row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report(result: SoakResult) -> str:
    assert result.warmup is not None
    assert result.final is not None
    w, f = result.warmup, result.final
    lines = [
        f"{result.sessions} sessions, {result.concurrency} at a time "
        f"({', '.join(f'{k} {n}' for k, n in sorted(result.kinds.items()))}); "
        f"{len(result.failures)} failed.",
        "",
        f"RSS {w.rss_mb:.0f} MB after {w.done} sessions (warm-up) -> {f.rss_mb:.0f} MB after "
        f"{f.done} ({result.rss_growth_mb:+.1f} MB); fds {w.fds} -> {f.fds}; "
        f"threads {w.threads} -> {f.threads}; largest event-loop lag "
        f"{max(s.loop_lag_ms for s in result.samples):.0f} ms.",
        "",
        "| sessions done | seconds | RSS (MB) | fds | threads | loop lag (ms) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        row([s.done, f"{s.seconds:.0f}", s.rss_mb, s.fds, s.threads, f"{s.loop_lag_ms:.0f}"])
        for s in result.samples
    ]
    return "\n".join(lines)


def plot(result: SoakResult, path: Path) -> None:
    """RSS, descriptors, threads and loop lag against sessions done, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [s.done for s in result.samples]
    panels = [
        ("RSS (MB)", [s.rss_mb for s in result.samples]),
        ("open fds", [s.fds for s in result.samples]),
        ("threads", [s.threads for s in result.samples]),
        ("event-loop lag (ms)", [s.loop_lag_ms for s in result.samples]),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 9), sharex=True)
    for ax, (label, values) in zip(axes, panels, strict=True):
        ax.plot(done, values, marker=".")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(bottom=0)
    axes[-1].set_xlabel("sessions done")
    fig.suptitle(f"rtvi-server soak: {result.sessions} sessions, {result.concurrency} at a time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from rtvi_server.patches.aioice import use_by_default

    use_by_default(["127.0.0.1"])
    args.out.mkdir(parents=True, exist_ok=True)
    from bench.server import free_port

    server = soak_server(free_port(), args.out / "soak-server.log").wait_ready()
    try:
        result = asyncio.run(run_soak(server, args.sessions, args.concurrency, progress=print))
    finally:
        code = server.stop()
    text = report(result)
    (args.out / "soak.json").write_text(json.dumps(result.summary(), indent=2))
    (args.out / "soak.md").write_text(text + "\n")
    plot(result, args.out / "soak.png")
    tracebacks = server.log_path.read_text().count("Traceback")
    print(text)
    print(f"server exit code {code}; tracebacks in its log: {tracebacks}")
    for failure in result.failures[:20]:
        print("failed:", failure)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
