"""The benchmark's figures for one side at one session count, and the table of a run.

``SideResult`` is what a run measures of one server; :func:`table` prints a run's
results, one row per side and count, then stock / ours where both sides ran.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

#: Real time (#14): every turn answered, p95 beyond stop_secs under this, and the
#: busiest server process under this share of a core.
REAL_TIME_P95_MS = 250
REAL_TIME_BUSIEST = 0.95


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
            and p95 < REAL_TIME_P95_MS
            and self.cpu_utilisation < REAL_TIME_BUSIEST
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
