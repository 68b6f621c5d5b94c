"""A cluster on one machine: a real ``redis-server`` and hosts on 127.0.0.2, .3, .4, ...

Each host is a real ``rtvi-server serve`` process in cluster mode on its own
loopback address (all of 127.0.0.0/8 is loopback on Linux; nothing leaves the
machine), so routing between hosts crosses real HTTP, WebSocket and WebRTC.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .redisproc import RedisProcess
from .serverproc import ROOT, ServerProcess

NAMES = "abcdefgh"


def cluster_bots(directory: Path) -> Path:
    """A bots directory with the light test bot (``echo``) and the real default bot."""
    bots = directory / "bots"
    bots.mkdir(exist_ok=True)
    shutil.copy(ROOT / "tests" / "server" / "bots" / "echo.py", bots / "echo.py")
    shutil.copy(ROOT / "bots" / "default.py", bots / "default.py")
    return bots


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Cluster:
    def __init__(
        self,
        directory: Path,
        capacities: list[int],
        env: dict[str, str] | None = None,
        profile: str = "echo",
    ) -> None:
        self.redis = RedisProcess(directory).start()
        bots = cluster_bots(directory)
        self.hosts: list[ServerProcess] = []
        for i, capacity in enumerate(capacities):
            host_env = {
                "RTVI_CLUSTER_URL": self.redis.url,
                "RTVI_HOST_ID": NAMES[i],
                "RTVI_CONNECT_TIMEOUT": "0",
                **(env or {}),
            }
            self.hosts.append(
                ServerProcess(
                    bots_dir=bots,
                    default_profile=profile,
                    max_sessions=capacity,
                    host=f"127.0.0.{i + 2}",
                    env=host_env,
                )
            )
        for host in self.hosts:
            host.wait_ready(120)

    def host(self, name: str) -> ServerProcess:
        return self.hosts[NAMES.index(name)]

    def health(self, name: str) -> dict[str, Any]:
        return get_json(self.host(name).url + "/health")[1]

    def joined(self) -> bool:
        """Every running host reaches Redis and the registry lists them all."""
        live = [h for h in self.hosts if h.proc.poll() is None]
        return all(get_json(h.url + "/health")[1].get("registry") == "connected" for h in live)

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()
        self.redis.stop()
