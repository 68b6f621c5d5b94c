"""Run `rtvi-server serve` as a subprocess on a free loopback port (see bench/server.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from bench.server import ROOT, ServerUnderTest

__all__ = ["ROOT", "ServerProcess", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerProcess(ServerUnderTest):
    def __init__(
        self,
        *,
        bots_dir: Path,
        default_profile: str = "default",
        env: dict[str, str] | None = None,
        max_sessions: int | None = None,
        host: str = "127.0.0.1",
        extra_args: list[str] | None = None,
    ) -> None:
        self.port = free_port(host)
        self.host = host
        args = ["--host", host]
        if max_sessions is not None:
            args += ["--max-sessions", str(max_sessions)]
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"rtvi-server-{self.port}.log"
        super().__init__(
            self.port,
            log_path,
            env=env,
            bots_dir=bots_dir,
            profile=default_profile,
            args=args + (extra_args or []),
            host=host,
        )

    def terminate(self) -> int:
        return self.stop()
