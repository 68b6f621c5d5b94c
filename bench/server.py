"""An rtvi-server process for the soak and fuzz runs, logging to a file; a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerUnderTest:
    """``rtvi-server serve`` on a loopback port, with no provider key from this environment."""

    def __init__(
        self,
        port: int,
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        bots_dir: Path | None = None,
        profile: str | None = None,
        args: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.url = f"http://{host}:{port}"
        self.log_path = log_path
        full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        full_env.update(env or {}, PYTHONUNBUFFERED="1")
        cmd = [sys.executable, "-m", "rtvi_server.cli", "serve", "--port", str(port)]
        if bots_dir is not None:
            cmd += ["--bots-dir", str(bots_dir)]
        if profile is not None:
            cmd += ["--default-profile", profile]
        cmd += args or []
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 120) -> ServerUnderTest:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("server did not start")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
