"""What cluster mode costs: a request through a non-owner host, and admission across hosts.

    .venv/bin/python -m bench.cluster            # 3 hosts: 500 routed requests, 300 starts
    .venv/bin/python -m bench.cluster --quick    # smoke run (CI runs it)

A real redis-server and three rtvi-server hosts in cluster mode on 127.0.0.2, .3 and
.4, and, as the baseline, one process without a cluster; the light bench bot, so the
routing and admission paths are what is measured. From this process:

- **routing overhead**: ``GET /sessions/{id}`` of sessions placed on one host, sent to
  that host (it holds the session and answers from memory) and to another host (one
  Redis lookup, then the request forwarded), one at a time; p50 and p95 latency and the
  difference;
- **admission throughput**: ``POST /start`` from 16 concurrent clients, spread over the
  three hosts (each start one atomic Lua admission in Redis, then placed on a host,
  often another one), against the same load on the single process.

Writes bench/results/cluster.json and cluster.md and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import numpy as np

from bench.redis_server import RedisProcess, free_port
from bench.server import ROOT, ServerUnderTest

RESULTS = ROOT / "bench" / "results"
BOTS = ROOT / "bench" / "bots"
PROFILE = "standin"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
CONCURRENCY = 16


@dataclass
class ClusterResult:
    routed_requests: int
    owner_p50_ms: float
    owner_p95_ms: float
    forwarded_p50_ms: float
    forwarded_p95_ms: float
    starts: int
    cluster_starts_per_s: float
    single_starts_per_s: float

    @property
    def routing_overhead_p50_ms(self) -> float:
        return self.forwarded_p50_ms - self.owner_p50_ms

    @property
    def admission_ratio(self) -> float:
        return self.cluster_starts_per_s / self.single_starts_per_s

    def table(self) -> str:
        return "\n".join(
            [
                "| measure | value |",
                "| --- | --- |",
                f"| GET /sessions/{{id}} at the owner, p50 / p95 | {self.owner_p50_ms:.2f} / "
                f"{self.owner_p95_ms:.2f} ms |",
                f"| the same through a non-owner host, p50 / p95 | {self.forwarded_p50_ms:.2f}"
                f" / {self.forwarded_p95_ms:.2f} ms |",
                f"| routing overhead (p50) | {self.routing_overhead_p50_ms:.2f} ms |",
                f"| starts/s, 3 hosts, {CONCURRENCY} concurrent clients | "
                f"{self.cluster_starts_per_s:.1f} |",
                f"| starts/s, one process, same load | {self.single_starts_per_s:.1f} |",
                f"| cluster / single | {self.admission_ratio:.2f}x |",
            ]
        )


def launch_hosts(log_dir: Path, redis_url: str, capacity: int) -> list[ServerUnderTest]:
    hosts = []
    for name, host in zip("abc", HOSTS, strict=True):
        env = {
            "RTVI_CLUSTER_URL": redis_url,
            "RTVI_HOST_ID": name,
            "RTVI_CONNECT_TIMEOUT": "0",
            "BENCH_TURN_END": "vad",
        }
        hosts.append(
            ServerUnderTest(
                free_port(host),
                log_dir / f"host-{name}.log",
                env=env,
                bots_dir=BOTS,
                profile=PROFILE,
                args=["--host", host, "--max-sessions", str(capacity)],
                host=host,
            )
        )
    for h in hosts:
        h.wait_ready()
    return hosts


async def timed_gets(http: aiohttp.ClientSession, url: str, ids: list[str]) -> list[float]:
    took = []
    for session_id in ids:
        began = time.perf_counter()
        async with http.get(f"{url}/sessions/{session_id}") as r:
            assert r.status == 200, await r.text()
            await r.read()
        took.append((time.perf_counter() - began) * 1000)
    return took


async def start_burst(urls: list[str], starts: int) -> float:
    """Starts per second with CONCURRENCY clients, round-robin over ``urls``."""
    counter = iter(range(starts))

    async def client(http: aiohttp.ClientSession) -> None:
        for i in counter:
            async with http.post(urls[i % len(urls)] + "/start", json={}) as r:
                assert r.status == 200, await r.text()

    async with aiohttp.ClientSession() as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(CONCURRENCY)))
        return starts / (time.perf_counter() - began)


async def measure_routing(hosts: list[ServerUnderTest], requests: int) -> tuple[list, list]:
    async with aiohttp.ClientSession() as http:
        placed: list[tuple[str, str]] = []
        for _ in range(6):
            async with http.post(hosts[0].url + "/start", json={}) as r:
                body = await r.json()
                placed.append((body["sessionId"], body["host"]))
        owner_name = placed[0][1]
        owner = hosts["abc".index(owner_name)]
        other = next(h for n, h in zip("abc", hosts, strict=True) if n != owner_name)
        ids = [sid for sid, host in placed if host == owner_name]
        rounds = [ids[i % len(ids)] for i in range(requests)]
        await timed_gets(http, owner.url, rounds[:50])  # warm both paths
        await timed_gets(http, other.url, rounds[:50])
        at_owner, forwarded = [], []
        for chunk in range(0, requests, 50):  # alternate, so drift hits both alike
            at_owner += await timed_gets(http, owner.url, rounds[chunk : chunk + 50])
            forwarded += await timed_gets(http, other.url, rounds[chunk : chunk + 50])
        return at_owner, forwarded


async def run(requests: int, starts: int, log_dir: Path) -> ClusterResult:
    redis = RedisProcess(log_dir).start()
    hosts = launch_hosts(log_dir, redis.url, capacity=starts + 10)
    try:
        at_owner, forwarded = await measure_routing(hosts, requests)
        cluster_rate = await start_burst([h.url for h in hosts], starts)
    finally:
        for h in hosts:
            h.stop()
        redis.stop()
    single = ServerUnderTest(
        free_port(),
        log_dir / "single.log",
        env={"RTVI_CONNECT_TIMEOUT": "0", "BENCH_TURN_END": "vad"},
        bots_dir=BOTS,
        profile=PROFILE,
        args=["--max-sessions", str(starts + 10)],
    ).wait_ready()
    try:
        single_rate = await start_burst([single.url], starts)
    finally:
        single.stop()
    pct = np.percentile
    return ClusterResult(
        routed_requests=requests,
        owner_p50_ms=float(pct(at_owner, 50)),
        owner_p95_ms=float(pct(at_owner, 95)),
        forwarded_p50_ms=float(pct(forwarded, 50)),
        forwarded_p95_ms=float(pct(forwarded, 95)),
        starts=starts,
        cluster_starts_per_s=cluster_rate,
        single_starts_per_s=single_rate,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--starts", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="100 requests, 48 starts")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results are written")
    args = parser.parse_args()
    requests, starts = (100, 48) if args.quick else (args.requests, args.starts)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(requests, starts, Path(tmp)))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        **asdict(result),
        "routing_overhead_p50_ms": result.routing_overhead_p50_ms,
        "admission_ratio": result.admission_ratio,
    }
    (out / "cluster.json").write_text(json.dumps(summary, indent=1))
    (out / "cluster.md").write_text(result.table() + "\n")
    print(result.table())


if __name__ == "__main__":
    main()
