"""Server settings, from the command line and the environment."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 7860
    bots_dir: Path = Path("bots")
    default_profile: str = "default"
    api_key: str | None = None
    max_sessions: int = 20
    max_duration_cap: float = 86400.0
    default_max_duration: float = 600.0
    idle_timeout_secs: float | None = 300.0

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        env = os.environ
        values: dict[str, object] = {
            "api_key": env.get("RTVI_SERVER_API_KEY") or None,
            "max_sessions": int(env.get("RTVI_MAX_SESSIONS", "20")),
            "max_duration_cap": float(env.get("RTVI_MAX_DURATION_CAP", "86400")),
            "default_max_duration": float(env.get("RTVI_DEFAULT_MAX_DURATION", "600")),
            "idle_timeout_secs": float(env.get("RTVI_IDLE_TIMEOUT", "300")) or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse to serve beyond loopback without an API key."""
        if not self.loopback_only and not self.api_key:
            raise ValueError(
                f"refusing to bind {self.host}: set RTVI_SERVER_API_KEY to serve beyond loopback"
            )
