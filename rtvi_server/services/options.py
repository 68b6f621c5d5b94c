"""Standard RTVI options for each service kind, with handlers that act on a live session.

Handlers never reach into a service from outside: they push pipecat's own
frames (settings-update frames aimed at that service, context frames, VAD
parameter frames) from the RTVI processor, so a change takes effect in order
with the conversation and on the next turn.

``standard_services(...)`` returns the ``RTVIService`` objects a bot registers
in one call; bots may add options of their own beside them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    LLMMessagesUpdateFrame,
    LLMRunFrame,
    LLMSetToolsFrame,
    LLMUpdateSettingsFrame,
    STTUpdateSettingsFrame,
    TTSUpdateSettingsFrame,
    VADParamsUpdateFrame,
)

from rtvi_server.protocol import (
    BotControl,
    JSONValue,
    OptionType,
    OptionValue,
    RequestFailedError,
    RTVIService,
    RTVIServiceOption,
)
from rtvi_server.protocol.registry import NOT_GIVEN, NotGiven

VAD_PARAM_NAMES: Final = ("confidence", "start_secs", "stop_secs", "min_volume")


def _default(defaults: Mapping[str, JSONValue], name: str) -> JSONValue | NotGiven:
    return defaults.get(name, NOT_GIVEN)


def _settings_delta(service: Any, name: str, value: Any) -> Any:
    settings_cls = type(service).Settings
    if name not in {f.name for f in dataclasses.fields(settings_cls)}:
        raise RequestFailedError(f"{type(service).__name__} has no {name!r} setting")
    return settings_cls(**{name: value})


def messages_value(value: JSONValue) -> list[Any]:
    if not isinstance(value, list) or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) for m in value
    ):
        raise RequestFailedError("messages must be objects with a string 'role'")
    return list(value)


def _tools(value: JSONValue) -> ToolsSchema:
    """OpenAI-style tool definitions as pipecat's provider-neutral schema."""
    if not isinstance(value, list):
        raise RequestFailedError("tools must be an array")
    schemas = []
    for tool in value:
        fn = tool.get("function", tool) if isinstance(tool, dict) else None
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(fn, dict) or not isinstance(name, str):
            raise RequestFailedError("each tool needs a function name")
        params = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
        assert isinstance(params, dict)
        properties = params.get("properties", {})
        required = params.get("required", [])
        schemas.append(
            FunctionSchema(
                name=name,
                description=str(fn.get("description", "")),
                properties=properties if isinstance(properties, dict) else {},
                required=[r for r in required if isinstance(r, str)]
                if isinstance(required, list)
                else [],
            )
        )
    return ToolsSchema(standard_tools=schemas)


def llm_service(
    llm: Any,
    *,
    name: str = "llm",
    defaults: Mapping[str, JSONValue] | None = None,
    prompt_writable: bool = True,
) -> RTVIService:
    """``model``, ``initial_messages``, ``messages``, ``run_on_config``, ``temperature``,
    ``max_tokens`` and ``tools``. ``prompt_writable=False`` keeps the prompts server-only.
    """
    d = defaults or {}

    async def settings(rtvi: BotControl, service: str, option: OptionValue) -> None:
        value: Any = option.value
        if option.name == "max_tokens":
            if not isinstance(value, int | float) or value < 1:
                raise RequestFailedError("max_tokens must be a positive number")
            value = int(value)
        delta = _settings_delta(llm, option.name, value)
        await rtvi.push_frame(LLMUpdateSettingsFrame(delta=delta, service=llm))

    async def messages(rtvi: BotControl, service: str, option: OptionValue) -> None:
        await rtvi.push_frame(LLMMessagesUpdateFrame(messages=messages_value(option.value)))

    async def initial_messages(rtvi: BotControl, service: str, option: OptionValue) -> None:
        # The start-of-session context; a later change is kept for get-config only.
        if rtvi.applying_initial_config:
            await messages(rtvi, service, option)
        else:
            messages_value(option.value)

    async def run_on_config(rtvi: BotControl, service: str, option: OptionValue) -> None:
        if option.value is True and rtvi.applying_initial_config:

            async def run() -> None:
                await rtvi.push_frame(LLMRunFrame())

            rtvi.after_bot_ready(run)

    async def tools(rtvi: BotControl, service: str, option: OptionValue) -> None:
        await rtvi.push_frame(LLMSetToolsFrame(tools=_tools(option.value)))

    return RTVIService(
        name,
        [
            RTVIServiceOption("model", "string", settings, default=_default(d, "model")),
            RTVIServiceOption(
                "initial_messages",
                "array",
                initial_messages,
                default=_default(d, "initial_messages"),
                client_writable=prompt_writable,
            ),
            RTVIServiceOption(
                "messages",
                "array",
                messages,
                default=_default(d, "messages"),
                client_writable=prompt_writable,
            ),
            RTVIServiceOption(
                "run_on_config", "bool", run_on_config, default=_default(d, "run_on_config")
            ),
            RTVIServiceOption(
                "temperature", "number", settings, default=_default(d, "temperature")
            ),
            RTVIServiceOption("max_tokens", "number", settings, default=_default(d, "max_tokens")),
            RTVIServiceOption("tools", "array", tools, default=_default(d, "tools")),
        ],
    )


def _settings_service(
    name: str,
    service: Any,
    frame_cls: Any,
    option_names: Sequence[str],
    defaults: Mapping[str, JSONValue],
) -> RTVIService:
    async def handler(rtvi: BotControl, svc: str, option: OptionValue) -> None:
        value: Any = option.value
        if option.name == "speed" and (not isinstance(value, int | float) or value <= 0):
            raise RequestFailedError("speed must be a positive number")
        delta = _settings_delta(service, option.name, value)
        await rtvi.push_frame(frame_cls(delta=delta, service=service))

    types: dict[str, OptionType] = {"speed": "number"}
    return RTVIService(
        name,
        [
            RTVIServiceOption(
                n,
                types.get(n, "string"),
                handler,
                default=_default(defaults, n),
            )
            for n in option_names
        ],
    )


def tts_service(
    tts: Any, *, name: str = "tts", defaults: Mapping[str, JSONValue] | None = None
) -> RTVIService:
    """``voice``, ``model``, ``language`` and ``speed``."""
    names = ("voice", "model", "language", "speed")
    return _settings_service(name, tts, TTSUpdateSettingsFrame, names, defaults or {})


def stt_service(
    stt: Any, *, name: str = "stt", defaults: Mapping[str, JSONValue] | None = None
) -> RTVIService:
    """``model`` and ``language``."""
    return _settings_service(
        name, stt, STTUpdateSettingsFrame, ("model", "language"), defaults or {}
    )


def vad_params_value(params: VADParams) -> dict[str, JSONValue]:
    return {n: float(getattr(params, n)) for n in VAD_PARAM_NAMES}


def vad_service(*, name: str = "vad", default: VADParams | None = None) -> RTVIService:
    """``params``: ``confidence``, ``start_secs``, ``stop_secs``, ``min_volume``.

    A new ``params`` object replaces the old one wholesale (spec 4.4): keys it
    leaves out take VAD defaults.
    """

    async def handler(rtvi: BotControl, service: str, option: OptionValue) -> None:
        value = option.value
        assert isinstance(value, dict)
        unknown = sorted(set(value) - set(VAD_PARAM_NAMES))
        if unknown:
            raise RequestFailedError(
                f"unknown VAD params {unknown}; use {', '.join(VAD_PARAM_NAMES)}"
            )
        for key, number in value.items():
            if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
                raise RequestFailedError(f"VAD param {key} must be a non-negative number")
        params = VADParams(**{k: float(v) for k, v in value.items()})  # type: ignore[arg-type]
        await rtvi.push_frame(VADParamsUpdateFrame(params=params))

    initial = vad_params_value(default) if default is not None else NOT_GIVEN
    return RTVIService(name, [RTVIServiceOption("params", "object", handler, default=initial)])


def standard_services(
    *,
    llm: Any | None = None,
    tts: Any | None = None,
    stt: Any | None = None,
    vad: VADParams | None = None,
    defaults: Mapping[str, Mapping[str, JSONValue]] | None = None,
    prompt_writable: bool = True,
) -> list[RTVIService]:
    """The standard services, in the order a config applies them: vad, stt, tts, llm.

    (TTS before LLM so that a first utterance already uses a new voice.)
    """
    d = defaults or {}
    services: list[RTVIService] = []
    if vad is not None:
        services.append(vad_service(default=vad))
    if stt is not None:
        services.append(stt_service(stt, defaults=d.get("stt")))
    if tts is not None:
        services.append(tts_service(tts, defaults=d.get("tts")))
    if llm is not None:
        services.append(llm_service(llm, defaults=d.get("llm"), prompt_writable=prompt_writable))
    return services
