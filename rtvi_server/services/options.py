"""Standard RTVI options for each service kind, with handlers that act on a live session.

Handlers never reach into a service from outside: they push pipecat's own
frames (settings-update frames aimed at that service, context frames, VAD
parameter frames) from the RTVI processor, so a change takes effect in order
with the conversation and on the next turn. Every option declares its bounds
(``rtvi_server.services.bounds``): a handler only ever sees values inside them.

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
    OptionValue,
    RequestFailedError,
    RTVIService,
    RTVIServiceOption,
)
from rtvi_server.protocol.constraints import NO_CONSTRAINTS, Constraints
from rtvi_server.protocol.registry import NOT_GIVEN, NotGiven
from rtvi_server.services import bounds
from rtvi_server.services.bounds import DEFAULT_MAX_TOKENS_CAP, PromptPolicy

VAD_PARAM_NAMES: Final = ("confidence", "start_secs", "stop_secs", "min_volume")
Choices = Mapping[str, Sequence[str]]
"""Per option name (``model``, ``voice``), the names a client may choose from."""


def _default(defaults: Mapping[str, JSONValue], name: str) -> JSONValue | NotGiven:
    """A declared default; ``None`` (a provider without one) declares none."""
    value = defaults.get(name)
    return NOT_GIVEN if value is None else value


def _settings_delta(service: Any, name: str, value: Any) -> Any:
    settings_cls = type(service).Settings
    if name not in {f.name for f in dataclasses.fields(settings_cls)}:
        raise RequestFailedError(f"{type(service).__name__} has no {name!r} setting")
    return settings_cls(**{name: value})


def _name_option(
    name: str, handler: Any, defaults: Mapping[str, JSONValue], choices: Choices
) -> RTVIServiceOption:
    """A model or voice: an allow-list of names, the default included. With nothing to
    choose from, clients cannot change it (the trusted start payload still can)."""
    default = _default(defaults, name)
    allowed = [*choices.get(name, ()), *([default] if isinstance(default, str) else [])]
    names = [n for n in allowed if isinstance(n, str)]
    return RTVIServiceOption(
        name,
        "string",
        handler,
        default=default,
        client_writable=bool(names),
        constraints=Constraints(max_length=1024),
        client_constraints=bounds.one_of(names) if names else None,
    )


class BotPrompt:
    """The LLM context a session's prompt policy allows, and the bot's own prompt in it."""

    def __init__(self, policy: PromptPolicy, defaults: Mapping[str, JSONValue]) -> None:
        self.policy = policy
        initial = defaults.get("initial_messages")
        self.system = _system_messages(initial)

    def started_with(self, value: JSONValue) -> None:
        """The trusted initial context: its system messages are the bot's prompt."""
        self.system = _system_messages(value)

    def context(self, value: JSONValue) -> list[Any]:
        """The context to set for ``value`` (the bot's prompt first, in ``append`` mode)."""
        messages = list(value) if isinstance(value, list) else []
        if self.policy.keeps_bot_prompt and messages[: len(self.system)] != self.system:
            return [*self.system, *messages]
        return messages


def _system_messages(value: JSONValue) -> list[Any]:
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and m.get("role") == "system"]


def _tools(value: JSONValue) -> ToolsSchema:
    """OpenAI-style tool definitions (checked by ``bounds.TOOLS``) as pipecat's schema."""
    assert isinstance(value, list)
    schemas = []
    for tool in value:
        assert isinstance(tool, dict)
        fn = tool.get("function", tool)
        assert isinstance(fn, dict)
        params = fn.get("parameters") or {}
        assert isinstance(params, dict)
        properties, required = params.get("properties") or {}, params.get("required") or []
        assert isinstance(properties, dict)
        assert isinstance(required, list)
        schemas.append(
            FunctionSchema(
                name=str(fn["name"]),
                description=str(fn.get("description", "")),
                properties=properties,
                required=[str(r) for r in required],
            )
        )
    return ToolsSchema(standard_tools=schemas)


def _message_options(
    prompt: BotPrompt, defaults: Mapping[str, JSONValue]
) -> list[RTVIServiceOption]:
    async def messages(rtvi: BotControl, service: str, option: OptionValue) -> None:
        await rtvi.push_frame(LLMMessagesUpdateFrame(messages=prompt.context(option.value)))

    async def initial_messages(rtvi: BotControl, service: str, option: OptionValue) -> None:
        # The start-of-session context; a later change is kept for get-config only.
        if rtvi.applying_initial_config:
            prompt.started_with(option.value)
            await messages(rtvi, service, option)

    policy = prompt.policy
    trusted = bounds.messages(bounds.ALL_ROLES)
    client = bounds.messages(policy.client_roles)
    return [
        RTVIServiceOption(
            name,
            "array",
            handler,
            default=_default(defaults, name),
            client_writable=policy.client_writable,
            constraints=trusted,
            client_constraints=client,
        )
        for name, handler in (("initial_messages", initial_messages), ("messages", messages))
    ]


def llm_service(
    llm: Any,
    *,
    name: str = "llm",
    defaults: Mapping[str, JSONValue] | None = None,
    prompt: BotPrompt | None = None,
    choices: Choices | None = None,
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
) -> RTVIService:
    """``model``, ``initial_messages``, ``messages``, ``run_on_config``, ``temperature``,
    ``max_tokens`` and ``tools``; who may set the prompt is ``prompt``'s policy."""
    d = defaults or {}
    prompt = prompt or BotPrompt(PromptPolicy(), d)

    async def settings(rtvi: BotControl, service: str, option: OptionValue) -> None:
        delta = _settings_delta(llm, option.name, option.value)
        await rtvi.push_frame(LLMUpdateSettingsFrame(delta=delta, service=llm))

    async def run_on_config(rtvi: BotControl, service: str, option: OptionValue) -> None:
        if option.value is True and rtvi.applying_initial_config:

            async def run() -> None:
                await rtvi.push_frame(LLMRunFrame())

            rtvi.after_bot_ready(run)

    async def tools(rtvi: BotControl, service: str, option: OptionValue) -> None:
        await rtvi.push_frame(LLMSetToolsFrame(tools=_tools(option.value)))

    def option(n: str, type_: Any, handler: Any, c: Constraints = NO_CONSTRAINTS) -> Any:
        return RTVIServiceOption(n, type_, handler, default=_default(d, n), constraints=c)

    return RTVIService(
        name,
        [
            _name_option("model", settings, d, choices or {}),
            *_message_options(prompt, d),
            option("run_on_config", "bool", run_on_config),
            option("temperature", "number", settings, bounds.TEMPERATURE),
            option("max_tokens", "number", settings, bounds.max_tokens(max_tokens_cap)),
            option("tools", "array", tools, bounds.TOOLS),
        ],
    )


def _settings_service(
    name: str,
    service: Any,
    frame_cls: Any,
    defaults: Mapping[str, JSONValue],
    choices: Choices,
    names: Sequence[str],
) -> RTVIService:
    async def handler(rtvi: BotControl, svc: str, option: OptionValue) -> None:
        delta = _settings_delta(service, option.name, option.value)
        await rtvi.push_frame(frame_cls(delta=delta, service=service))

    options = [_name_option(n, handler, defaults, choices) for n in names]
    options.append(
        RTVIServiceOption(
            "language",
            "string",
            handler,
            default=_default(defaults, "language"),
            constraints=bounds.LANGUAGE,
        )
    )
    if frame_cls is TTSUpdateSettingsFrame:
        options.append(
            RTVIServiceOption(
                "speed",
                "number",
                handler,
                default=_default(defaults, "speed"),
                constraints=bounds.SPEED,
            )
        )
    return RTVIService(name, options)


def tts_service(
    tts: Any,
    *,
    name: str = "tts",
    defaults: Mapping[str, JSONValue] | None = None,
    choices: Choices | None = None,
) -> RTVIService:
    """``voice`` and ``model`` (allow-lists), ``language`` and ``speed``."""
    return _settings_service(
        name, tts, TTSUpdateSettingsFrame, defaults or {}, choices or {}, ("voice", "model")
    )


def stt_service(
    stt: Any,
    *,
    name: str = "stt",
    defaults: Mapping[str, JSONValue] | None = None,
    choices: Choices | None = None,
) -> RTVIService:
    """``model`` (an allow-list) and ``language``."""
    return _settings_service(
        name, stt, STTUpdateSettingsFrame, defaults or {}, choices or {}, ("model",)
    )


def vad_params_value(params: VADParams) -> dict[str, JSONValue]:
    return {n: float(getattr(params, n)) for n in VAD_PARAM_NAMES}


def vad_service(*, name: str = "vad", default: VADParams | None = None) -> RTVIService:
    """``params``: ``confidence``, ``start_secs``, ``stop_secs``, ``min_volume``, each
    bounded. An update may give some of them: the others keep their current values."""

    async def handler(rtvi: BotControl, service: str, option: OptionValue) -> None:
        value = option.value
        assert isinstance(value, dict)
        params = VADParams(**{k: float(v) for k, v in value.items()})  # type: ignore[arg-type]
        await rtvi.push_frame(VADParamsUpdateFrame(params=params))

    initial = vad_params_value(default) if default is not None else NOT_GIVEN
    option = RTVIServiceOption(
        "params", "object", handler, default=initial, constraints=bounds.VAD_PARAMS
    )
    return RTVIService(name, [option])


def standard_services(
    *,
    llm: Any | None = None,
    tts: Any | None = None,
    stt: Any | None = None,
    vad: VADParams | None = None,
    defaults: Mapping[str, Mapping[str, JSONValue]] | None = None,
    prompt: BotPrompt | None = None,
    choices: Mapping[str, Choices] | None = None,
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
) -> list[RTVIService]:
    """The standard services, in the order a config applies them: vad, stt, tts, llm.

    (TTS before LLM so that a first utterance already uses a new voice.) ``choices``
    maps a service kind to its allow-lists (``{"tts": {"voice": [...]}}``).
    """
    d = defaults or {}
    c = choices or {}
    services: list[RTVIService] = []
    if vad is not None:
        services.append(vad_service(default=vad))
    if stt is not None:
        services.append(stt_service(stt, defaults=d.get("stt"), choices=c.get("stt")))
    if tts is not None:
        services.append(tts_service(tts, defaults=d.get("tts"), choices=c.get("tts")))
    if llm is not None:
        services.append(
            llm_service(
                llm,
                defaults=d.get("llm"),
                prompt=prompt,
                choices=c.get("llm"),
                max_tokens_cap=max_tokens_cap,
            )
        )
    return services
