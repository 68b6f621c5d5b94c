"""rtvi-server: real-time voice bots that speak RTVI, on pipecat.

The public API a bot file uses. Everything else is internal and may change.
The pipecat-facing names load on first use, so ``rtvi_server.protocol`` can be
imported (and used) without pipecat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtvi_server._lazy import lazy_attributes
from rtvi_server._version import __version__
from rtvi_server.protocol import (
    NOT_GIVEN,
    ClientInfo,
    ClientMessage,
    Config,
    Constraints,
    Field,
    Generation,
    OptionValue,
    RTVIAction,
    RTVIActionArgument,
    RTVIService,
    RTVIServiceOption,
    ServiceConfig,
)

if TYPE_CHECKING:
    from rtvi_server.processor import (
        ListeningUserAggregator,
        RequestFailedError,
        RTVIEventObserver,
        RTVIProcessor,
        create_pipeline_worker,
        listening_aggregators,
    )

_LAZY = {
    "RTVIProcessor": "rtvi_server.processor",
    "RTVIEventObserver": "rtvi_server.processor",
    "RequestFailedError": "rtvi_server.processor",
    "create_pipeline_worker": "rtvi_server.processor",
    "ListeningUserAggregator": "rtvi_server.processor",
    "listening_aggregators": "rtvi_server.processor",
}


__getattr__ = lazy_attributes("rtvi_server", _LAZY, globals())


__all__ = [
    "NOT_GIVEN",
    "ClientInfo",
    "ClientMessage",
    "Config",
    "Constraints",
    "Field",
    "Generation",
    "ListeningUserAggregator",
    "OptionValue",
    "RTVIAction",
    "RTVIActionArgument",
    "RTVIEventObserver",
    "RTVIProcessor",
    "RTVIService",
    "RTVIServiceOption",
    "RequestFailedError",
    "ServiceConfig",
    "__version__",
    "create_pipeline_worker",
    "listening_aggregators",
]
