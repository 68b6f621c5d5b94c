"""The RTVI endpoint inside a pipecat pipeline: processor, observer, worker."""

from rtvi_server.processor.aggregators import (
    TURN_ENDINGS,
    ListeningUserAggregator,
    listening_aggregators,
    user_turn_strategies,
)
from rtvi_server.processor.config_requests import DEFAULT_HANDLER_TIMEOUT_SECS
from rtvi_server.processor.listening_gate import (
    ListeningGate,
    gate_in,
    gates_audio,
    listening_stage,
)
from rtvi_server.processor.observer import RTVIEventObserver
from rtvi_server.processor.observer_group import ObserverGroup
from rtvi_server.processor.rtvi_processor import RTVIProcessor
from rtvi_server.processor.session_worker import (
    SessionPipelineWorker,
    add_observers,
    create_pipeline_worker,
)
from rtvi_server.protocol import RequestFailedError

__all__ = [
    "DEFAULT_HANDLER_TIMEOUT_SECS",
    "TURN_ENDINGS",
    "ListeningGate",
    "ListeningUserAggregator",
    "ObserverGroup",
    "RTVIEventObserver",
    "RTVIProcessor",
    "RequestFailedError",
    "SessionPipelineWorker",
    "add_observers",
    "create_pipeline_worker",
    "gate_in",
    "gates_audio",
    "listening_aggregators",
    "listening_stage",
    "user_turn_strategies",
]
