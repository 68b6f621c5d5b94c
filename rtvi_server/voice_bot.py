"""The standard voice pipeline, for bot files that want the usual shape in one call.

VAD (Silero, batched across sessions) -> STT -> user context -> LLM -> TTS, each
provider chosen by name through the start payload's ``services``, the standard RTVI
options registered,
and the start config applied. Bot files pass their defaults and get a ``Bot``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams

from rtvi_server.audio import BatchedSileroVADAnalyzer
from rtvi_server.bots import Bot, BotArgs
from rtvi_server.processor import (
    RTVIProcessor,
    create_pipeline_worker,
    listening_aggregators,
    user_turn_strategies,
)
from rtvi_server.protocol import JSONValue
from rtvi_server.services import (
    ServiceSetupError,
    create_service,
    find_provider,
    llm_actions,
    standard_services,
    tts_actions,
)

LOCAL_DEFAULTS: Mapping[str, str] = {
    "llm": "smollm2-135m-instruct",
    "tts": "en_US-joe-medium",
    "stt": "tiny.en",
}
_SETTING = {"llm": "model", "stt": "model", "tts": "voice"}


def initial_setting(args: BotArgs, service: str, provider: str) -> str | None:
    """The model (or voice) to build a service with: the start config's, else the provider's."""
    option = _SETTING[service]
    value = args.start_value(service, option)
    if isinstance(value, str):
        return value
    spec = find_provider(service, provider)
    if spec is not None and spec.local:
        return LOCAL_DEFAULTS[service]
    default = spec.defaults.get(option) if spec is not None else None
    return default if isinstance(default, str) else None


def _config_field(args: BotArgs, service: str, option: str) -> str | None:
    """Where the start config sets ``service.option`` (``config[i].options[j]``)."""
    for i, entry in enumerate(args.config):
        for j, given in enumerate(entry.options):
            if entry.service == service and given.name == option:
                return f"config[{i}].options[{j}]"
    return None


@contextlib.contextmanager
def _loading(args: BotArgs, kind: str, setting: str | None) -> Iterator[None]:
    """A model that fails to load refuses the start, naming what chose it."""
    try:
        yield
    except ServiceSetupError:
        raise
    except Exception as exc:
        option = _SETTING[kind]
        logger.warning(f"{kind} {option} {setting!r} could not be loaded: {exc!r}")
        field = _config_field(args, kind, option) or f"services.{kind}"
        raise ServiceSetupError(
            f"the {kind} {option} {setting!r} could not be loaded", field=field
        ) from None


async def build_voice_bot(
    args: BotArgs,
    *,
    providers: Mapping[str, str],
    system_prompt: str,
    vad_params: VADParams | None = None,
    llm_defaults: Mapping[str, JSONValue] | None = None,
    prompt_writable: bool = True,
    service_options: Mapping[str, Mapping[str, Any]] | None = None,
    turn_end: str = "smart-turn",
) -> Bot:
    """A complete voice bot; ``args.services`` overrides ``providers`` per service.

    ``turn_end`` picks how a user's turn ends (see ``user_turn_strategies``):
    pipecat's Smart Turn model, or ``"vad"`` for the VAD's stop alone.
    """
    strategies = user_turn_strategies(turn_end)
    chosen = {kind: args.provider(kind, providers[kind]) for kind in ("stt", "llm", "tts")}
    settings = {kind: initial_setting(args, kind, chosen[kind]) for kind in chosen}
    built: dict[str, Any] = {}
    for kind in ("stt", "llm", "tts"):
        with _loading(args, kind, settings[kind]):
            built[kind] = create_service(
                kind,
                chosen[kind],
                api_keys=args.api_keys,
                settings={_SETTING[kind]: settings[kind]},
                options=(service_options or {}).get(chosen[kind]),
            )
            warm_up = getattr(built[kind], "warm_up", None)
            if warm_up is not None:
                await warm_up()

    vad_params = vad_params or VADParams(stop_secs=0.5)
    # One Silero model per process, batched across sessions (same decisions as pipecat's).
    vad = BatchedSileroVADAnalyzer(params=vad_params)
    context = LLMContext()
    # The user's audio stops at the user aggregator: nothing after it needs it.
    user_aggregator, assistant_aggregator = listening_aggregators(
        context,
        user_params=LLMUserAggregatorParams(vad_analyzer=vad, user_turn_strategies=strategies),
    )

    rtvi = RTVIProcessor(config=args.config)
    defaults: dict[str, dict[str, JSONValue]] = {
        "stt": {"model": settings["stt"]},
        "tts": {"voice": settings["tts"]},
        "llm": {
            "model": settings["llm"],
            "initial_messages": [{"role": "system", "content": system_prompt}],
            "run_on_config": False,
            **(llm_defaults or {}),
        },
    }
    for service in standard_services(
        vad=vad_params,
        stt=built["stt"],
        tts=built["tts"],
        llm=built["llm"],
        defaults=defaults,
        prompt_writable=prompt_writable,
    ):
        rtvi.register_service(service)
    for action in [*llm_actions(context), *tts_actions()]:
        rtvi.register_action(action)

    pipeline = Pipeline(
        [
            args.transport.input(),
            rtvi,
            built["stt"],
            user_aggregator,
            built["llm"],
            built["tts"],
            args.transport.output(),
            assistant_aggregator,
        ]
    )
    worker = create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None)
    return Bot(worker=worker, rtvi=rtvi, resources={**built, "vad": vad, "context": context})
