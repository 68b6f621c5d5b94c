"""Server settings, from the command line and the environment.

One frozen object read once at startup; every layer that needs a setting is
handed this object (or the few values it needs), so no module reads the
environment on its own.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MAX_BODY_BYTES = 64 * 1024


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


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
    connect_timeout_secs: float | None = 30.0
    retention_secs: float = 900.0
    max_ended_records: int = 10_000
    max_body_bytes: int = MAX_BODY_BYTES
    ice_host: str | None = None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ServerSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "api_key": env.get("RTVI_SERVER_API_KEY") or None,
            "max_sessions": int(_number(env, "RTVI_MAX_SESSIONS", 20)),
            "max_duration_cap": _number(env, "RTVI_MAX_DURATION_CAP", 86400),
            "default_max_duration": _number(env, "RTVI_DEFAULT_MAX_DURATION", 600),
            "idle_timeout_secs": _number(env, "RTVI_IDLE_TIMEOUT", 300) or None,
            "connect_timeout_secs": _number(env, "RTVI_CONNECT_TIMEOUT", 30) or None,
            "retention_secs": _number(env, "RTVI_SESSION_RETENTION", 900),
            "max_ended_records": int(_number(env, "RTVI_MAX_ENDED_RECORDS", 10_000)),
            "ice_host": env.get("RTVI_ICE_HOST") or None,
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
        """Refuse settings that cannot serve safely (raises :class:`SettingsError`)."""
        if not self.loopback_only and not self.api_key:
            raise SettingsError(
                f"refusing to bind {self.host}: set RTVI_SERVER_API_KEY to serve beyond loopback"
            )
        if self.max_sessions < 1:
            raise SettingsError("RTVI_MAX_SESSIONS must be at least 1")
        if self.max_ended_records < 0 or self.retention_secs < 0:
            raise SettingsError("RTVI_MAX_ENDED_RECORDS and RTVI_SESSION_RETENTION must be >= 0")
