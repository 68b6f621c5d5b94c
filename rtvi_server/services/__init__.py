"""Providers by name, keys kept server-side, and the standard RTVI options per service.

The catalogue and the factory are pure Python and load without pipecat; the
standard options and actions (which push pipecat frames) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtvi_server._lazy import lazy_attributes
from rtvi_server.services.bounds import PromptPolicy
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
    check_installed,
    create_service,
    resolve_api_key,
    resolve_provider,
)

if TYPE_CHECKING:
    from rtvi_server.services.actions import llm_actions, tts_actions
    from rtvi_server.services.options import (
        llm_service,
        standard_services,
        stt_service,
        tts_service,
        vad_params_value,
        vad_service,
    )

_LAZY = {
    "llm_actions": "rtvi_server.services.actions",
    "tts_actions": "rtvi_server.services.actions",
    "llm_service": "rtvi_server.services.options",
    "standard_services": "rtvi_server.services.options",
    "stt_service": "rtvi_server.services.options",
    "tts_service": "rtvi_server.services.options",
    "vad_params_value": "rtvi_server.services.options",
    "vad_service": "rtvi_server.services.options",
}


__getattr__ = lazy_attributes("rtvi_server.services", _LAZY, globals())


__all__ = [
    "PROVIDERS",
    "SERVICE_KINDS",
    "MissingExtraError",
    "MissingKeyError",
    "PromptPolicy",
    "Provider",
    "ServiceSetupError",
    "UnknownProviderError",
    "check_installed",
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
