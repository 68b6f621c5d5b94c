"""The standard voice pipeline, for bot files that want the usual shape in one call.

VAD (Silero, batched across sessions) -> STT -> user context -> LLM -> TTS, each
provider chosen by name through the start payload's ``services``, the standard RTVI
options registered,
and the start config applied. Bot files pass their defaults and get a ``Bot``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    gate_in,
    listening_aggregators,
    listening_stage,
    user_turn_strategies,
)
from rtvi_server.protocol import JSONValue
from rtvi_server.services import (
    ServiceSetupError,
    check_installed,
    create_service,
    find_provider,
    llm_actions,
    standard_services,
    tts_actions,
)
from rtvi_server.services.bounds import DEFAULT_MAX_TOKENS_CAP, PromptPolicy
from rtvi_server.services.local_models import installed_models
from rtvi_server.services.options import BotPrompt

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


def allowed_names(
    kind: str, provider: str, models: Mapping[str, Sequence[str]] | None
) -> list[str]:
    """What a client may choose for ``kind``'s model (or voice): the bot's list, else
    what is installed for a local provider; a cloud provider's default is always in."""
    if models is not None and kind in models:
        return list(models[kind])
    spec = find_provider(kind, provider)
    return list(installed_models(spec.name)) if spec is not None and spec.local else []


async def _build_service(
    args: BotArgs, kind: str, provider: str, setting: str | None, options: Any
) -> Any:
    """One service, its model loaded off the event loop first (other sessions' audio
    goes on meanwhile), or a refusal naming what chose the model."""
    with _loading(args, kind, setting):
        spec = find_provider(kind, provider)
        if spec is not None and spec.local and setting is not None:
            preload = getattr(check_installed(spec), "preload", None)
            if preload is not None:
                await asyncio.to_thread(preload, setting)
        return create_service(
            kind,
            provider,
            api_keys=args.api_keys,
            settings={_SETTING[kind]: setting},
            options=options,
        )


@dataclass(frozen=True)
class _Surface:
    """What the bot declares to clients: its options' defaults, bounds and allow-lists."""

    system_prompt: str
    llm_defaults: Mapping[str, JSONValue] | None
    prompt: PromptPolicy
    models: Mapping[str, Sequence[str]] | None
    max_tokens_cap: int

    def register(
        self,
        rtvi: RTVIProcessor,
        built: Mapping[str, Any],
        chosen: Mapping[str, str],
        settings: Mapping[str, str | None],
        vad_params: VADParams,
        context: LLMContext,
    ) -> None:
        defaults: dict[str, dict[str, JSONValue]] = {
            "stt": {"model": settings["stt"]},
            "tts": {"voice": settings["tts"]},
            "llm": {
                "model": settings["llm"],
                "initial_messages": [{"role": "system", "content": self.system_prompt}],
                "run_on_config": False,
                **(self.llm_defaults or {}),
            },
        }
        bot_prompt = BotPrompt(self.prompt, defaults["llm"])
        choices = {
            kind: {_SETTING[kind]: allowed_names(kind, chosen[kind], self.models)}
            for kind in ("stt", "tts", "llm")
        }
        for service in standard_services(
            vad=vad_params,
            stt=built["stt"],
            tts=built["tts"],
            llm=built["llm"],
            defaults=defaults,
            prompt=bot_prompt,
            choices=choices,
            max_tokens_cap=self.max_tokens_cap,
        ):
            rtvi.register_service(service)
        for action in [*llm_actions(context, prompt=bot_prompt), *tts_actions()]:
            rtvi.register_action(action)


async def build_voice_bot(
    args: BotArgs,
    *,
    providers: Mapping[str, str],
    system_prompt: str,
    vad_params: VADParams | None = None,
    llm_defaults: Mapping[str, JSONValue] | None = None,
    prompt: PromptPolicy | None = None,
    prompt_writable: bool | None = None,
    models: Mapping[str, Sequence[str]] | None = None,
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
    service_options: Mapping[str, Mapping[str, Any]] | None = None,
    turn_end: str = "smart-turn",
) -> Bot:
    """A complete voice bot; ``args.services`` overrides ``providers`` per service.

    ``prompt`` says who may set the LLM's prompt (default: clients add to it after the
    bot's system prompt, never with the ``system`` role; ``prompt_writable=False`` is
    the older spelling of ``PromptPolicy("server")``). ``models`` lists, per kind
    (``llm``, ``stt``: models; ``tts``: voices), the names a client may switch to;
    without it, what is installed for local providers and the default for cloud ones.
    ``turn_end`` picks how a user's turn ends (see ``user_turn_strategies``):
    pipecat's Smart Turn model, or ``"vad"`` for the VAD's stop alone.
    """
    if prompt is None:
        prompt = PromptPolicy("server") if prompt_writable is False else PromptPolicy()
    strategies = user_turn_strategies(turn_end)
    chosen = {kind: args.provider(kind, providers[kind]) for kind in ("stt", "llm", "tts")}
    settings = {kind: initial_setting(args, kind, chosen[kind]) for kind in chosen}
    built: dict[str, Any] = {}
    for kind in ("stt", "llm", "tts"):
        options = (service_options or {}).get(chosen[kind])
        built[kind] = await _build_service(args, kind, chosen[kind], settings[kind], options)

    vad_params = vad_params or VADParams(stop_secs=0.5)
    # One Silero model per process, batched across sessions (same decisions as pipecat's).
    vad = BatchedSileroVADAnalyzer(params=vad_params)
    context = LLMContext()
    # While nobody speaks, the user's audio stops at the VAD in front of a segmented
    # STT; otherwise at the user aggregator: nothing after it needs it.
    listening, user_params = listening_stage(
        built["stt"], LLMUserAggregatorParams(vad_analyzer=vad, user_turn_strategies=strategies)
    )
    user_aggregator, assistant_aggregator = listening_aggregators(context, user_params=user_params)

    rtvi = RTVIProcessor(config=args.config)
    surface = _Surface(system_prompt, llm_defaults, prompt, models, max_tokens_cap)
    surface.register(rtvi, built, chosen, settings, vad_params, context)

    pipeline = Pipeline(
        [
            args.transport.input(),
            rtvi,
            *listening,
            user_aggregator,
            built["llm"],
            built["tts"],
            args.transport.output(),
            assistant_aggregator,
        ]
    )
    worker = create_pipeline_worker(pipeline, rtvi, idle_timeout_secs=None)
    resources = {**built, "vad": vad, "context": context}
    # Only the RTVI processor (which ignores audio) lies between the transport and the gate.
    return Bot(worker=worker, rtvi=rtvi, resources=resources, listening_gate=gate_in(listening))
