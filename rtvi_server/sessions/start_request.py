"""The start payload (spec 9.2), checked before anything starts.

Two steps, both pure: :func:`normalize_start_body` turns the accepted shapes
into one (the seed's ``services`` written as an array of maps, the modern
runner's ``{"transport": ..., "body": {...}}`` that ``@pipecat-ai/client-js``
1.x sends), which :class:`~rtvi_server.sessions.api.StartPayload` then checks;
:func:`start_request` checks what needs the server's knowledge (bot files,
providers, the duration cap). Every problem is a :class:`StartError` naming the
field; no message ever contains a value from ``api_keys``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rtvi_server.protocol import Config, ConfigError, JSONValue, parse_config
from rtvi_server.services import SERVICE_KINDS, find_provider, provider_names
from rtvi_server.sessions.api import APIError, StartPayload, TransportName

_META_KEYS: Final = ("bot_profile", "services", "api_keys", "config", "max_duration")


class StartError(APIError):
    """A start payload refused before anything started (400 unless said otherwise)."""

    def __init__(self, message: str, *, field: str, status: int = 400) -> None:
        super().__init__(status, message, field=field)


@dataclass(frozen=True)
class StartRequest:
    """A start payload the server can act on: every part checked."""

    profile: str
    transport: TransportName
    services: dict[str, str]
    api_keys: dict[str, str] = field(repr=False)
    config: Config
    max_duration: float
    extra: dict[str, JSONValue]


def normalize_start_body(raw: object) -> object:
    """The accepted alternative shapes, as the one :class:`StartPayload` reads."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return raw  # the model refuses it, naming the body
    meta = dict(raw)
    nested = meta.get("body")
    if isinstance(nested, dict) and not any(k in meta for k in _META_KEYS):
        # Modern runner shape: the meta config travels inside "body".
        meta.pop("body")
        meta = {**meta, **nested}
    services = meta.get("services")
    if isinstance(services, list):  # the seed's `services: [{llm: "together", ...}]`
        merged: dict[str, object] = {}
        for i, item in enumerate(services):
            if not isinstance(item, dict):
                raise StartError("services entries must be objects", field=f"services[{i}]")
            merged.update(item)
        meta["services"] = merged
    return meta


@dataclass(frozen=True)
class StartLimits:
    """What the server's settings decide about a start payload."""

    bots_dir: Path
    default_profile: str
    default_max_duration: float
    max_duration_cap: float


def start_request(payload: StartPayload, limits: StartLimits) -> StartRequest:
    """Check what the payload names against this server: bot file, providers, cap."""
    profile = payload.bot_profile or limits.default_profile
    if not (limits.bots_dir / f"{profile}.py").is_file():
        raise StartError(f"unknown bot_profile {profile!r}", field="bot_profile")
    services = _services(payload.services or {})
    api_keys = {provider: key for provider, key in (payload.api_keys or {}).items() if key}
    config = parse_config(payload.config or [], path="config")
    if isinstance(config, ConfigError):
        raise StartError(str(config), field=config.path)
    max_duration = payload.max_duration or limits.default_max_duration
    if max_duration > limits.max_duration_cap:
        raise StartError(
            f"max_duration must be at most {limits.max_duration_cap:g} seconds",
            field="max_duration",
        )
    extra: dict[str, Any] = dict(payload.model_extra or {})
    return StartRequest(
        profile=profile,
        transport=payload.transport,
        services=services,
        api_keys=api_keys,
        config=config,
        max_duration=float(max_duration),
        extra=extra,
    )


def _services(raw: Mapping[str, str]) -> dict[str, str]:
    services: dict[str, str] = {}
    for name, provider in raw.items():
        if not provider:
            raise StartError("the provider must be a non-empty string", field=f"services.{name}")
        if name in SERVICE_KINDS and find_provider(name, provider) is None:
            known = ", ".join(provider_names(name))
            raise StartError(
                f"unknown provider {provider!r} for service {name!r} (known: {known})",
                field=f"services.{name}",
            )
        services[name] = provider
    return services
