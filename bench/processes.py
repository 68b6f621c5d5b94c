"""CPU time and memory of a server: its process and, with ``--workers``, its workers.

Read from /proc. A server started with ``--workers N`` serves its sessions from
N child processes; its cost is the sum over the process tree, and what breaks
real time first is its busiest process (one event loop, one core).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # gone, or not ours to read


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process descended from it."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += parents.get(current, [])
    return tree


def proc_cpu(pid: int) -> float:
    """CPU seconds (user and system) one process has used."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields is not None else 0.0


def proc_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB."""
    total = 0.0
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


class CpuMeter:
    """CPU seconds the server's processes and this client process used since it was made."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._server0 = {member: proc_cpu(member) for member in process_tree(pid)}
        self._client0 = time.process_time()
        self._wall0 = time.monotonic()

    def _used(self) -> dict[int, float]:
        return {m: proc_cpu(m) - self._server0.get(m, 0.0) for m in process_tree(self.pid)}

    def server(self) -> float:
        """Summed over the server's process tree."""
        return sum(self._used().values())

    def busiest(self) -> float:
        """CPU seconds of the server's busiest process."""
        return max(self._used().values(), default=0.0)

    def client(self) -> float:
        return time.process_time() - self._client0

    def wall(self) -> float:
        return time.monotonic() - self._wall0
