"""The benchmark's figure: CPU per frame and p95 turn latency against sessions, both sides.

.venv/bin/python -m bench.plot bench/results/latest.json   # -> latest.png beside it
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.side_table import REAL_TIME_P95_MS
from bench.targets import LISTEN_MS as TARGET_LISTEN_MS

SIDES = {"rtvi-server": "tab:blue", "stock-pipecat": "tab:orange"}


def _complete(r: dict[str, Any], key: str) -> bool:
    """A figure is plotted where it describes every session: listening needs every
    session connected; the rest also every session kept and every turn answered."""
    connected = r["connected"] == r["sessions"]
    if key == "listen_cpu_ms_per_frame":
        return connected
    return connected and r["failed"] == 0 and r["turns_missed"] == 0


def _series(results: list[dict[str, Any]], side: str, key: str) -> tuple[list[int], list[float]]:
    rows = sorted((r for r in results if r["side"] == side), key=lambda r: r["sessions"])
    points = [(r["sessions"], r[key]) for r in rows if r.get(key) and _complete(r, key)]
    return [n for n, _ in points], [v for _, v in points]


def _sparse_minor(value: float, _position: int) -> str:
    """Label a log axis's minor ticks at 2, 3 and 5 of each decade only: labelled
    at every tick, 0.9 and the decade's 1 overprint each other."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if leading in (2, 3, 5) else ""


def plot(report: dict[str, Any], path: Path) -> None:
    """Write ``path`` (PNG): listening and conversation CPU per frame, p95 latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = report["results"]
    fig, (cpu, latency) = plt.subplots(1, 2, figsize=(11, 4.2))
    any_latency = False
    for side, colour in SIDES.items():
        xs, ys = _series(results, side, "listen_cpu_ms_per_frame")
        cpu.plot(xs, ys, "o-", color=colour, label=f"{side}, listening")
        xs, ys = _series(results, side, "cpu_ms_per_frame")
        cpu.plot(xs, ys, "s--", color=colour, alpha=0.6, label=f"{side}, conversation")
        xs, ys = _series(results, side, "turn_extra_p95_ms")
        latency.plot(xs, ys, "o-", color=colour, label=side)
        any_latency = any_latency or any(y > 0 for y in ys)
    cpu.axhline(TARGET_LISTEN_MS, color="grey", linestyle=":", label="target 0.25 ms")
    latency.axhline(REAL_TIME_P95_MS, color="grey", linestyle=":", label="real-time bound")
    cpu.set(xlabel="sessions", ylabel="server CPU ms per 20 ms frame", xscale="log", yscale="log")
    latency.set(xlabel="sessions", ylabel="turn latency beyond stop_secs, p95 (ms)")
    if any_latency:  # (no turn answered on either side: nothing to scale)
        latency.set(xscale="log", yscale="log")
    for axis in (cpu, latency) if any_latency else (cpu,):
        axis.set_xticks(sorted({r["sessions"] for r in results}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        axis.get_yaxis().set_major_formatter(plain)
        axis.get_yaxis().set_minor_formatter(matplotlib.ticker.FuncFormatter(_sparse_minor))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    fig.suptitle(
        f"rtvi-server vs stock pipecat: turn end {report.get('turn_end')},"
        f" client {report.get('client', 'aiortc')}, {report['machine']['cpus']} CPUs"
        " (points only where every session connected / every turn was answered)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json")
    plot(json.loads(source.read_text()), source.with_suffix(".png"))


if __name__ == "__main__":
    main()
