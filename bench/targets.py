"""The performance targets (issue #14), each judged from one run's results.

Printed after the table, so a run says for itself what it reached: "reached",
"not reached", or "not measured in this run" where the run had no such point
(a session count it did not run, a side that did not connect, another turn end).
"""

from __future__ import annotations

from bench.side_table import SideResult

LISTEN_MS = 0.25
LISTEN_AT = (32, 64)
RATIO = 4.0
ONE_SESSION_CORE = 0.03
REAL_TIME_AT = 64
LATENCY_AT = (1, 4, 8)
P50_MS, P95_MS = 50.0, 75.0
MANY, P95_AT_MANY_MS = 32, 150.0
MEMORY_MB = 3.0
START_AT, START_P95_MS = 32, 300.0
FRAME_MS = 20.0


def verdict(reached: bool | None) -> str:
    if reached is None:
        return "not measured in this run"
    return "reached" if reached else "not reached"


def _by_count(results: list[SideResult], side: str) -> dict[int, SideResult]:
    return {r.sessions: r for r in results if r.side == side and r.connected}


def judged(checks: list[bool], complete: bool) -> bool | None:
    """Not reached if any point measured misses; reached if every point the target
    names was measured and met; else not measured."""
    if not all(checks):
        return False
    return True if complete else None


def listening(ours: dict[int, SideResult]) -> str:
    values = {n: ours[n].listen_cpu_ms_per_frame for n in LISTEN_AT if n in ours}
    shown = " / ".join(f"{values[n]:.3f}" if n in values else "n/a" for n in LISTEN_AT)
    reached = judged([v <= LISTEN_MS for v in values.values()], len(values) == len(LISTEN_AT))
    target = f"Listening CPU <= {LISTEN_MS} ms per frame at 32 / 64 sessions"
    return f"{target}: {shown} ({verdict(reached)})"


def ratio_to_stock(ours: dict[int, SideResult], stock: dict[int, SideResult]) -> str:
    """Listening, at every count where both sides connected all their sessions."""
    ratios = {
        n: stock[n].listen_cpu_ms_per_frame / ours[n].listen_cpu_ms_per_frame
        for n in sorted(set(ours) & set(stock))
        if ours[n].all_connected and stock[n].all_connected and ours[n].listen_cpu_ms_per_frame
    }
    shown = ", ".join(f"{r:.2f}x at {n}" for n, r in ratios.items()) or "no count"
    reached = all(r >= RATIO for r in ratios.values()) if ratios else None
    return (
        f"Listening at least {RATIO:g}x below stock pipecat wherever both sides connected"
        f" every session: {shown} ({verdict(reached)})"
    )


def one_session(ours: dict[int, SideResult]) -> str:
    alone = ours.get(1)
    if alone is None:
        return f"One listening session <= {ONE_SESSION_CORE:.0%} of a core: n/a ({verdict(None)})"
    share = alone.listen_cpu_ms_per_frame / FRAME_MS
    reached = verdict(share <= ONE_SESSION_CORE)
    return (
        f"One listening session <= {ONE_SESSION_CORE:.0%} of a core: {share:.1%}"
        f" ({alone.listen_cpu_ms_per_frame:.3f} ms per frame) ({reached})"
    )


def real_time(ours: dict[int, SideResult], workers: int) -> str:
    target = f"{REAL_TIME_AT} sessions in real time in one process"
    point = ours.get(REAL_TIME_AT)
    if workers != 1 or point is None:
        why = f"{workers} worker processes" if workers != 1 else f"no {REAL_TIME_AT}-session point"
        return f"{target}: n/a, {why} ({verdict(None)})"
    p95 = point.pct(point.turn_extra_ms, 0.95)
    shown = "none answered" if p95 is None else f"p95 {p95:.0f} ms"
    return (
        f"{target}: {shown}, busiest process {point.cpu_utilisation:.0%} of a core"
        f" ({verdict(point.holds_real_time)})"
    )


def latency_of(point: SideResult | None) -> tuple[float, float] | None:
    """p50 and p95 beyond stop_secs, where every turn of the point was answered."""
    if point is None or not point.all_answered:
        return None
    p50, p95 = point.pct(point.turn_extra_ms, 0.5), point.pct(point.turn_extra_ms, 0.95)
    return None if p50 is None or p95 is None else (p50, p95)


def workers_ratio(ours: dict[int, SideResult], workers: int) -> str:
    """Two runs' figure (one process, then ``--workers 2``): this run gives one side."""
    held = max((n for n, r in ours.items() if r.holds_real_time), default=0)
    target = "`--workers 2` holding 1.8x what one process holds"
    if workers == 1:
        return f"{target}: one process held {held} here; a `--workers 2` run gives the other"
    return f"{target}: {workers} workers held {held} here; a one-process run gives the other"


def turn_latency(ours: dict[int, SideResult]) -> list[str]:
    present = [n for n in LATENCY_AT if n in ours]
    cells, checks = [], []
    for n in present:
        figures = latency_of(ours[n])
        checks.append(figures is not None and figures[0] <= P50_MS and figures[1] <= P95_MS)
        cells.append(
            f"{figures[0]:.0f} / {figures[1]:.0f} at {n}"
            if figures
            else f"not every turn answered at {n}"
        )
    reached = judged(checks, len(present) == len(LATENCY_AT))
    return [
        f"Turn latency p50 <= {P50_MS:.0f} / p95 <= {P95_MS:.0f} ms at 1, 4 and 8 sessions:"
        f" {', '.join(cells) or 'n/a'} ({verdict(reached)})",
        turn_latency_at_many(ours),
    ]


def turn_latency_at_many(ours: dict[int, SideResult]) -> str:
    target = f"Turn latency p95 <= {P95_AT_MANY_MS:.0f} ms at {MANY} sessions"
    if MANY not in ours:
        return f"{target}: n/a ({verdict(None)})"
    figures = latency_of(ours[MANY])
    if figures is None:
        return f"{target}: not every turn answered ({verdict(False)})"
    return f"{target}: {figures[1]:.0f} ({verdict(figures[1] <= P95_AT_MANY_MS)})"


def memory(ours: dict[int, SideResult], turn_end: str) -> str:
    target = f"Memory per live session <= {MEMORY_MB:g} MB with the default bot (Smart Turn)"
    shown = ", ".join(f"{r.mem_per_session_mb:.1f} at {n}" for n, r in sorted(ours.items()))
    if turn_end != "smart-turn":
        return f"{target}: this run's turn end is {turn_end} ({shown or 'n/a'}) ({verdict(None)})"
    reached = all(r.mem_per_session_mb <= MEMORY_MB for r in ours.values()) if ours else None
    return f"{target}: {shown or 'n/a'} MB ({verdict(reached)})"


def start(ours: dict[int, SideResult]) -> str:
    point = ours.get(START_AT)
    p95 = point.pct(point.start_to_ready_ms, 0.95) if point else None
    shown = "n/a" if p95 is None else f"{p95:.0f} ms"
    reached = None if p95 is None else p95 <= START_P95_MS
    target = f"POST /start to bot-ready p95 <= {START_P95_MS:.0f} ms at {START_AT} sessions"
    return f"{target}: {shown} ({verdict(reached)})"


def targets(results: list[SideResult], *, turn_end: str, workers: int = 1) -> str:
    """The run's targets section (markdown): one bullet per target."""
    ours = _by_count(results, "rtvi-server")
    stock = _by_count(results, "stock-pipecat")
    lines = [
        listening(ours),
        ratio_to_stock(ours, stock),
        one_session(ours),
        real_time(ours, workers),
        workers_ratio(ours, workers),
        *turn_latency(ours),
        memory(ours, turn_end),
        start(ours),
    ]
    return "Targets (#14) in this run:\n\n" + "\n".join(f"- {line}" for line in lines)
