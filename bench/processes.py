"""CPU time and memory of a server: its process and, with ``--workers``, its workers.

Read from /proc. A server started with ``--workers N`` serves its sessions from
N child processes; its cost is the sum over the process tree, and what breaks
real time first is its busiest process (one event loop, one core).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

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


def py_spy_path() -> str | None:
    """py-spy on the PATH or beside this Python (the project's virtual environment)."""
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


def thread_names(pid: int, timeout: float = 30) -> list[str] | None:
    """The names of ``pid``'s Python threads, read with ``py-spy dump`` (None where
    py-spy is missing or cannot read the process): what a thread count cannot say
    is which thread came or stayed."""
    py_spy = py_spy_path()
    if py_spy is None:
        return None
    try:
        dump = subprocess.run(
            [py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if dump.returncode != 0:
        return None
    return re.findall(r'^Thread \S+ \([^)]*\): "(.*)"$', dump.stdout, flags=re.MULTILINE)


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


class PeakRss:
    """The most resident memory the server's processes held while this ran.

    Sampled, every ``period`` seconds, from when it is made until ``stop()``:
    memory with sessions live is what a session costs, not what is left after
    they end (the server reclaims it then).
    """

    def __init__(self, pid: int, period: float = 0.25) -> None:
        self.pid = pid
        self.mb = proc_rss_mb(pid)
        self._task = asyncio.create_task(self._sample(period))

    async def _sample(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            self.mb = max(self.mb, proc_rss_mb(self.pid))

    async def stop(self) -> float:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.mb = max(self.mb, proc_rss_mb(self.pid))
        return self.mb


def metric(text: str, name: str) -> float:
    """An unlabelled metric's value in a Prometheus text page (0 where it is absent)."""
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def idle_rss_mb(pid: int, url: str, timeout: float = 10.0) -> float:
    """The server's memory once it is idle and has reclaimed what ended sessions held.

    rtvi-server counts its reclaims (``rtvi_memory_reclaims_total``); a server
    without the counter (stock pipecat) gets the same wait at most.
    """
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/metrics") as r:
                    text = await r.text() if r.status == 200 else ""
            except aiohttp.ClientError:
                text = ""
            if metric(text, "rtvi_memory_reclaims_total") > 0:
                break
            await asyncio.sleep(0.25)
    return proc_rss_mb(pid)
