"""The start payload (spec 9.2), checked before anything starts.

Every problem becomes a :class:`StartError` naming the field; no message ever
contains a value from ``api_keys``. Accepted shapes: the seed's meta config,
the seed's ``services`` written as an array of maps, and the modern runner's
``{"transport": ..., "body": {...}}`` that ``@pipecat-ai/client-js`` 1.x sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rtvi_server.bots import BotFileError, bot_path
from rtvi_server.protocol import Config, ConfigError, JSONValue, json_type_name, parse_config
from rtvi_server.services import SERVICE_KINDS, find_provider, provider_names

TRANSPORTS: Final = ("webrtc", "daily", "websocket")
_META_KEYS: Final = ("bot_profile", "services", "api_keys", "config", "max_duration")


class StartError(Exception):
    def __init__(self, message: str, *, field: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def body(self) -> dict[str, Any]:
        # `info` is what realtime-ai's StartBotError reads; `detail` what FastAPI clients read.
        return {"info": self.message, "detail": self.message, "field": self.field}


@dataclass(frozen=True)
class StartRequest:
    profile: str
    transport: str
    services: dict[str, str]
    api_keys: dict[str, str] = field(repr=False)
    config: Config
    max_duration: float
    extra: dict[str, JSONValue]


def parse_start_payload(
    raw: object,
    *,
    bots_dir: Path,
    default_profile: str,
    default_max_duration: float,
    max_duration_cap: float,
) -> StartRequest:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise StartError(
            f"the start payload must be a JSON object, got {json_type_name(raw)}", field="body"
        )
    meta = dict(raw)
    transport = meta.pop("transport", "webrtc")
    nested = meta.get("body")
    if isinstance(nested, dict) and not any(k in meta for k in _META_KEYS):
        # Modern runner shape: the meta config travels inside "body".
        meta.pop("body")
        meta = {**{k: v for k, v in meta.items() if k not in _META_KEYS}, **nested}
    if transport not in TRANSPORTS:
        raise StartError(f"transport must be one of {', '.join(TRANSPORTS)}", field="transport")

    profile = meta.pop("bot_profile", None) or default_profile
    if not isinstance(profile, str):
        raise StartError("bot_profile must be a string", field="bot_profile")
    try:
        path = bot_path(bots_dir, profile)
    except BotFileError as exc:
        raise StartError(str(exc), field="bot_profile") from exc
    if not path.is_file():
        raise StartError(f"unknown bot_profile {profile!r}", field="bot_profile")

    services = _services(meta.pop("services", None))
    api_keys = _api_keys(meta.pop("api_keys", None))
    config = parse_config(meta.pop("config", []) or [], path="config")
    if isinstance(config, ConfigError):
        raise StartError(str(config), field=config.path)
    max_duration = _max_duration(
        meta.pop("max_duration", None), default_max_duration, max_duration_cap
    )
    return StartRequest(
        profile=profile,
        transport=str(transport),
        services=services,
        api_keys=api_keys,
        config=config,
        max_duration=max_duration,
        extra=meta,
    )


def _services(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, list):  # the seed's `services: [{llm: "together", ...}]`
        merged: dict[str, object] = {}
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise StartError("services entries must be objects", field=f"services[{i}]")
            merged.update(item)
        raw = merged
    if not isinstance(raw, dict):
        raise StartError("services must be an object of service name to provider", field="services")
    services: dict[str, str] = {}
    for name, provider in raw.items():
        if not isinstance(provider, str) or not provider:
            raise StartError("the provider must be a non-empty string", field=f"services.{name}")
        if name in SERVICE_KINDS and find_provider(name, provider) is None:
            known = ", ".join(provider_names(name))
            raise StartError(
                f"unknown provider {provider!r} for service {name!r} (known: {known})",
                field=f"services.{name}",
            )
        services[str(name)] = provider
    return services


def _api_keys(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise StartError("api_keys must be an object of provider name to key", field="api_keys")
    keys: dict[str, str] = {}
    for provider, key in raw.items():
        if not isinstance(key, str):
            raise StartError("each key must be a string", field=f"api_keys.{provider}")
        if key:
            keys[str(provider)] = key
    return keys


def _max_duration(raw: object, default: float, cap: float) -> float:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not raw > 0:
        raise StartError("max_duration must be a positive number of seconds", field="max_duration")
    if raw > cap:
        raise StartError(f"max_duration must be at most {cap:g} seconds", field="max_duration")
    return float(raw)
