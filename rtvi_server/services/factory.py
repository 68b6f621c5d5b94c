"""Building services from provider names, with keys that stay server-side.

``api_keys`` maps *provider* name to key (``api_keys[services["llm"]]``; the
seed's ``api_keys[api_keys["llm"]]`` is a typo). Environment variables are the
server-side defaults. Errors name the service, the provider and the variable
to set, never a key; keys go to the service constructor and nowhere else.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Mapping
from typing import Any

from rtvi_server.services.catalogue import Provider, find_provider, provider_names


class ServiceSetupError(ValueError):
    """A service cannot be built as asked. ``field`` locates the cause in the start payload."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownProviderError(ServiceSetupError):
    pass


class MissingKeyError(ServiceSetupError):
    pass


class MissingExtraError(ServiceSetupError):
    pass


def resolve_provider(kind: str, name: str, *, field: str) -> Provider:
    provider = find_provider(kind, name)
    if provider is None:
        known = ", ".join(provider_names(kind)) or "none"
        raise UnknownProviderError(
            f"unknown provider {name!r} for service {kind!r} (known: {known})", field=field
        )
    return provider


def resolve_api_key(
    provider: Provider,
    api_keys: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    *,
    service: str | None = None,
) -> str | None:
    """The key for ``provider``: from the start payload, else the environment.

    Raises :class:`MissingKeyError` (naming provider and variable, not a key)
    when the provider needs one and none is set.
    """
    env = os.environ if environ is None else environ
    key = api_keys.get(provider.name) or (env.get(provider.key_env) if provider.key_env else None)
    if provider.needs_key and not key:
        raise MissingKeyError(
            f"provider {provider.name!r} for service {service or provider.kind!r} needs an API "
            f"key: pass api_keys.{provider.name} or set {provider.key_env}",
            field=f"api_keys.{provider.name}",
        )
    return key or None


def check_installed(provider: Provider) -> type[Any]:
    """Import the provider's class; a missing dependency names the extra to install."""
    module_name, _, class_name = provider.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = provider.extra or "all"
        raise MissingExtraError(
            f"provider {provider.name!r} for {provider.kind} needs optional dependencies: "
            f"pip install 'rtvi-server[{extra}]'",
            field=f"services.{provider.kind}",
        ) from exc
    cls: type[Any] = getattr(module, class_name)
    return cls


def create_service(
    kind: str,
    provider_name: str,
    *,
    api_keys: Mapping[str, str] | None = None,
    settings: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """Build the pipecat service for ``kind`` from ``provider_name``.

    ``settings`` are the provider's runtime settings (``model``, ``voice`` ...)
    over the catalogue's defaults; ``options`` are trusted constructor
    arguments (Daily Bots' ``service_options``), e.g. ``base_url``.
    """
    env = os.environ if environ is None else environ
    provider = resolve_provider(kind, provider_name, field=f"services.{kind}")
    key = resolve_api_key(provider, api_keys or {}, env, service=kind)
    cls = check_installed(provider)
    values = {**provider.defaults, **{k: v for k, v in (settings or {}).items() if v is not None}}
    kwargs = dict(options or {})
    if provider.local:
        return cls(**values, **kwargs)
    url_argument = provider.url_argument
    if provider.base_url is not None and url_argument not in kwargs:
        override = env.get(provider.base_url_env or "")
        kwargs[url_argument] = override or provider.base_url
    if key is not None:
        kwargs["api_key"] = key
    elif provider.base_url is not None:
        # Keyless OpenAI-compatible servers (Ollama, vLLM): the openai client insists on one.
        kwargs["api_key"] = "no-key-required"
    settings_cls = cls.Settings
    known = {f.name for f in dataclasses.fields(settings_cls)}
    return cls(settings=settings_cls(**{k: v for k, v in values.items() if k in known}), **kwargs)
