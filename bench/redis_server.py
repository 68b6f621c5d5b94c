"""A real ``redis-server`` process on a loopback port (Debian's package; see scripts/bootstrap).

Used by the cluster benchmark (bench/cluster.py) and the cluster tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """``redis-server`` with no persistence: a restart comes back empty, the hard case."""

    def __init__(self, log_dir: Path, host: str = "127.0.0.1") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/bootstrap installs it)")
        self.binary = binary
        self.host = host
        self.port = free_port(host)
        self.url = f"redis://{host}:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> RedisProcess:
        cmd = [
            self.binary, "--bind", self.host, "--port", str(self.port),
            "--save", "", "--appendonly", "no", "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log_path}")
            time.sleep(0.05)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
