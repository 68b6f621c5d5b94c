"""rtvi-server: real-time voice bots that speak RTVI, on pipecat.

The public API a bot file uses. Everything else is internal and may change.
"""

from rtvi_server._version import __version__
from rtvi_server.processor import (
    RequestFailedError,
    RTVIEventObserver,
    RTVIProcessor,
    create_pipeline_worker,
)
from rtvi_server.protocol import (
    NOT_GIVEN,
    ClientInfo,
    ClientMessage,
    Config,
    Generation,
    OptionValue,
    RTVIAction,
    RTVIActionArgument,
    RTVIService,
    RTVIServiceOption,
    ServiceConfig,
)

__all__ = [
    "NOT_GIVEN",
    "ClientInfo",
    "ClientMessage",
    "Config",
    "Generation",
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
]
