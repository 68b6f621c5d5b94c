"""A real coturn ``turnserver`` on a loopback address (Debian's package)."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

from .serverproc import free_port

USER, PASSWORD, REALM = "rtvi", "relay-secret-7d1f", "rtvi.test"


def _stun_binding_answered(host: str, port: int) -> bool:
    """Whether a STUN Binding request to ``host:port`` gets a Binding success answer."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, os.urandom(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(request, (host, port))
        try:
            reply = s.recv(2048)
        except OSError:
            return False
    return len(reply) >= 20 and struct.unpack("!H", reply[:2])[0] == 0x0101


class TurnServer:
    """TURN with long-term credentials; relays between loopback peers only."""

    def __init__(self, log_dir: Path, host: str = "127.0.0.5") -> None:
        binary = shutil.which("turnserver")
        if binary is None:
            raise RuntimeError("coturn is not installed (scripts/bootstrap installs it)")
        self.host = host
        self.port = free_port(host)
        self.log_path = log_dir / f"turnserver-{self.port}.log"
        relay_low = 20000 + (self.port % 20000)
        cmd = [
            binary, "-n", "--listening-ip", host, "--listening-port", str(self.port),
            "--relay-ip", host, "--min-port", str(relay_low), "--max-port", str(relay_low + 200),
            "--lt-cred-mech", "--user", f"{USER}:{PASSWORD}", "--realm", REALM,
            "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
            "--pidfile", str(log_dir / f"turnserver-{self.port}.pid"),
            "--log-file", str(self.log_path), "--simple-log",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 10) -> TurnServer:
        deadline = time.monotonic() + timeout
        while not _stun_binding_answered(self.host, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"turnserver did not start: {self.log_path}")
        return self

    def ice_servers(self) -> str:
        """``RTVI_ICE_SERVERS`` for this server."""
        import json

        url = f"turn:{self.host}:{self.port}?transport=udp"
        return json.dumps([{"urls": url, "username": USER, "credential": PASSWORD}])

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
