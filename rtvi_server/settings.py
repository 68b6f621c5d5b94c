"""Server settings, from the command line and the environment.

One frozen object read once at startup; every layer that needs a setting is
handed this object (or the few values it needs), so no module reads the
environment on its own.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MAX_BODY_BYTES = 64 * 1024
REDIS_SCHEMES = ("redis", "rediss", "unix")
WEB_SCHEMES = ("http", "https")
EVENT_LOOPS = ("asyncio", "uvloop")
HOST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


ICE_SCHEMES = ("stun:", "turn:", "turns:")


@dataclass(frozen=True)
class IceServerSetting:
    """A STUN or TURN server (``RTVI_ICE_SERVERS``): the server's peers use it, and
    clients get it in the ``/start`` answer's ``iceConfig``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def _ice_server(entry: object) -> IceServerSetting:
    if isinstance(entry, str):
        entry = {"urls": entry}
    if not isinstance(entry, dict) or set(entry) - {"urls", "username", "credential"}:
        raise SettingsError('RTVI_ICE_SERVERS entries are {"urls", "username", "credential"}')
    urls = entry.get("urls")
    urls = [urls] if isinstance(urls, str) else urls
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise SettingsError("RTVI_ICE_SERVERS: each entry needs urls (a string or strings)")
    if not all(u.startswith(ICE_SCHEMES) for u in urls):
        raise SettingsError("RTVI_ICE_SERVERS: urls start with stun:, turn: or turns:")
    username, credential = entry.get("username"), entry.get("credential")
    if not all(v is None or isinstance(v, str) for v in (username, credential)):
        raise SettingsError("RTVI_ICE_SERVERS: username and credential are strings")
    return IceServerSetting(tuple(urls), username, credential)


def parse_ice_servers(raw: str | None) -> tuple[IceServerSetting, ...]:
    """``RTVI_ICE_SERVERS``: a JSON list of ``{"urls", "username", "credential"}``
    (RTCIceServer's shape), or a comma-separated list of STUN URLs."""
    if raw is None or not raw.strip():
        return ()
    text = raw.strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError:
            raise SettingsError("RTVI_ICE_SERVERS is not valid JSON") from None
    else:
        entries = [u.strip() for u in text.split(",") if u.strip()]
    if not isinstance(entries, list):
        raise SettingsError("RTVI_ICE_SERVERS must be a JSON list")
    return tuple(_ice_server(e) for e in entries)


TWILIO_API = "https://api.twilio.com"
TELNYX_API = "https://api.telnyx.com"
PLIVO_API = "https://api.plivo.com"


def parse_numbers(raw: str | None) -> dict[str, dict[str, object]]:
    """``RTVI_TELEPHONY_NUMBERS``: called number -> the start payload its calls get
    (``"default"`` for any other number), as JSON or ``@path`` to a JSON file."""
    if raw is None or not raw.strip():
        return {}
    text = raw.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError:
            raise SettingsError(f"RTVI_TELEPHONY_NUMBERS: cannot read {text[1:]}") from None
    try:
        numbers = json.loads(text)
    except ValueError:
        raise SettingsError("RTVI_TELEPHONY_NUMBERS is not valid JSON") from None
    if not isinstance(numbers, dict) or not all(isinstance(v, dict) for v in numbers.values()):
        raise SettingsError("RTVI_TELEPHONY_NUMBERS maps numbers to start payloads (objects)")
    return numbers


@dataclass(frozen=True)
class TelephonySettings:
    """Phone calls: each provider's credentials and REST base URL (tests point these
    at loopback stand-ins), the public URL providers reach, and which bot answers
    which number. Secrets stay out of ``repr``."""

    public_url: str | None = None
    numbers: dict[str, dict[str, object]] = field(default_factory=dict, repr=False)
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_api_base_url: str = TWILIO_API
    telnyx_api_key: str | None = field(default=None, repr=False)
    telnyx_public_key: str | None = None
    telnyx_connection_id: str | None = None
    telnyx_api_base_url: str = TELNYX_API
    plivo_auth_id: str | None = None
    plivo_auth_token: str | None = field(default=None, repr=False)
    plivo_api_base_url: str = PLIVO_API

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelephonySettings:
        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            public_url=get("RTVI_TELEPHONY_URL"),
            numbers=parse_numbers(env.get("RTVI_TELEPHONY_NUMBERS")),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_api_base_url=get("TWILIO_API_BASE_URL") or TWILIO_API,
            telnyx_api_key=get("TELNYX_API_KEY"),
            telnyx_public_key=get("TELNYX_PUBLIC_KEY"),
            telnyx_connection_id=get("TELNYX_CONNECTION_ID"),
            telnyx_api_base_url=get("TELNYX_API_BASE_URL") or TELNYX_API,
            plivo_auth_id=get("PLIVO_AUTH_ID"),
            plivo_auth_token=get("PLIVO_AUTH_TOKEN"),
            plivo_api_base_url=get("PLIVO_API_BASE_URL") or PLIVO_API,
        )

    def check(self) -> None:
        urls = {
            "RTVI_TELEPHONY_URL": self.public_url,
            "TWILIO_API_BASE_URL": self.twilio_api_base_url,
            "TELNYX_API_BASE_URL": self.telnyx_api_base_url,
            "PLIVO_API_BASE_URL": self.plivo_api_base_url,
        }
        for name, url in urls.items():
            if url is not None and urlsplit(url).scheme not in WEB_SCHEMES:
                raise SettingsError(f"{name} must be an http:// or https:// URL")


#: The cycle collector's thresholds while serving (``RTVI_GC_THRESHOLDS``):
#: young collections every 10,000 net allocations instead of 700, and full ones
#: left to the memory reclaimer after sessions end (see
#: ``rtvi_server.sessions.reclaim``). Python's own are ``700,10,10``.
GC_THRESHOLDS = (10_000, 10, 100)


def parse_gc_thresholds(raw: str | None) -> tuple[int, int, int]:
    """``RTVI_GC_THRESHOLDS``: three whole numbers, ``young,middle,old``, as
    ``gc.set_threshold`` takes them (unset: :data:`GC_THRESHOLDS`)."""
    if raw is None or not raw.strip():
        return GC_THRESHOLDS
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise SettingsError(
            f"RTVI_GC_THRESHOLDS must be three whole numbers like 700,10,10, got {raw!r}"
        )
    young, middle, old = (int(p) for p in parts)
    return young, middle, old


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
    ice_servers: tuple[IceServerSetting, ...] = ()
    drain_grace_secs: float = 0.0
    cluster_url: str | None = None
    public_url: str | None = None
    host_id: str | None = None
    telephony: TelephonySettings = field(default_factory=TelephonySettings)
    #: ``asyncio`` (default) or ``uvloop`` (``pip install uvloop``): the serving loop.
    event_loop: str = "asyncio"
    #: A stall of the event loop this long or longer is logged with where it was
    #: (``RTVI_LOOP_STALL_SECS``; 0 turns the watch off).
    loop_stall_secs: float = 0.25
    #: ``gc.set_threshold`` while serving (``RTVI_GC_THRESHOLDS``).
    gc_thresholds: tuple[int, int, int] = GC_THRESHOLDS

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
            "ice_servers": parse_ice_servers(env.get("RTVI_ICE_SERVERS")),
            "drain_grace_secs": _number(env, "RTVI_DRAIN_GRACE", 0),
            "cluster_url": env.get("RTVI_CLUSTER_URL") or None,
            "public_url": env.get("RTVI_PUBLIC_URL") or None,
            "host_id": env.get("RTVI_HOST_ID") or None,
            "telephony": TelephonySettings.from_env(env),
            "event_loop": env.get("RTVI_EVENT_LOOP") or "asyncio",
            "loop_stall_secs": _number(env, "RTVI_LOOP_STALL_SECS", 0.25),
            "gc_thresholds": parse_gc_thresholds(env.get("RTVI_GC_THRESHOLDS")),
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
        if self.drain_grace_secs < 0:
            raise SettingsError("RTVI_DRAIN_GRACE must be >= 0")
        if self.loop_stall_secs < 0:
            raise SettingsError("RTVI_LOOP_STALL_SECS must be >= 0 (0 turns the watch off)")
        if self.cluster_url is not None and urlsplit(self.cluster_url).scheme not in REDIS_SCHEMES:
            raise SettingsError("RTVI_CLUSTER_URL must be a redis://, rediss:// or unix:// URL")
        if self.host_id is not None and not HOST_ID.match(self.host_id):
            raise SettingsError("RTVI_HOST_ID must be 1-64 letters, digits, '.', '_' or '-'")
        if self.public_url is not None and urlsplit(self.public_url).scheme not in WEB_SCHEMES:
            raise SettingsError("RTVI_PUBLIC_URL must be an http:// or https:// URL")
        self.telephony.check()
        if self.event_loop not in EVENT_LOOPS:
            raise SettingsError(f"RTVI_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}")
        if self.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
            raise SettingsError("RTVI_EVENT_LOOP=uvloop needs the uvloop package installed")
