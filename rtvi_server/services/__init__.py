"""Providers by name, keys kept server-side, and the standard RTVI options per service."""

from rtvi_server.services.actions import llm_actions, tts_actions
from rtvi_server.services.catalogue import (
    PROVIDERS,
    SERVICE_KINDS,
    Provider,
    find_provider,
    list_providers,
    provider_names,
)
from rtvi_server.services.factory import (
    MissingExtraError,
    MissingKeyError,
    ServiceSetupError,
    UnknownProviderError,
    create_service,
    resolve_api_key,
    resolve_provider,
)
from rtvi_server.services.options import (
    llm_service,
    standard_services,
    stt_service,
    tts_service,
    vad_params_value,
    vad_service,
)

__all__ = [
    "PROVIDERS",
    "SERVICE_KINDS",
    "MissingExtraError",
    "MissingKeyError",
    "Provider",
    "ServiceSetupError",
    "UnknownProviderError",
    "create_service",
    "find_provider",
    "list_providers",
    "llm_actions",
    "llm_service",
    "provider_names",
    "resolve_api_key",
    "resolve_provider",
    "standard_services",
    "stt_service",
    "tts_actions",
    "tts_service",
    "vad_params_value",
    "vad_service",
]
