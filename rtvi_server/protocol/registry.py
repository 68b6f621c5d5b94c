"""The bot's declared surface: services with typed options, and actions.

These are the seed's public names (``RTVIService``, ``RTVIServiceOption``,
``RTVIAction``, ``RTVIActionArgument``). Everything a client may send is checked
here against what the bot declared, before any handler runs: unknown services,
options and actions, values of the wrong type, options the bot keeps
server-only, and action arguments that are missing, unknown or mistyped.

Handlers are carried but never called here (no I/O): the processor calls them
as ``handler(processor, service_name, OptionValue)`` for options and
``handler(processor, service_name, {arg: value})`` for actions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from rtvi_server.protocol.config import Config, ConfigError, OptionValue, ServiceConfig
from rtvi_server.protocol.constraints import NO_CONSTRAINTS, Constraints, normalized, violation
from rtvi_server.protocol.values import (
    JSONValue,
    OptionType,
    is_option_type,
    json_type_name,
    matches_type,
)


class _NotGiven(Enum):
    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
"""Sentinel for "no default": distinct from an explicit ``None`` / JSON null."""

NotGiven = _NotGiven

OptionHandler = Callable[[Any, str, OptionValue], Awaitable[None] | None]
ActionHandler = Callable[[Any, str, dict[str, JSONValue]], Awaitable[JSONValue] | JSONValue]


def _check_name(kind: str, name: object) -> None:
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"{kind} name must be a non-empty string without surrounding spaces")


def _check_type(kind: str, name: str, type_: object) -> None:
    if not is_option_type(type_):
        raise ValueError(
            f"{kind} {name!r} has type {type_!r}; use bool, number, string, array or object"
        )


@dataclass(frozen=True)
class RTVIServiceOption:
    """A typed, named setting of a service.

    ``default`` seeds the bot's default config; ``client_writable=False`` makes
    the option server-only (settable by the start payload, refused from
    ``update-config``), e.g. for options that rewrite the system prompt.
    ``constraints`` bound the values anyone may set (see ``constraints``);
    ``client_constraints``, when given, replace them for values a client sends
    (e.g. chat messages without the ``system`` role, which the trusted start
    payload may still use). An object option with a schema (``properties``) may
    be updated key by key.
    """

    name: str
    type: OptionType
    handler: OptionHandler | None = None
    default: JSONValue | NotGiven = NOT_GIVEN
    client_writable: bool = True
    description: str | None = None
    constraints: Constraints = NO_CONSTRAINTS
    client_constraints: Constraints | None = None

    def __post_init__(self) -> None:
        _check_name("option", self.name)
        _check_type("option", self.name, self.type)
        if self.default is not NOT_GIVEN and not matches_type(self.type, self.default):
            raise ValueError(
                f"default of option {self.name!r} is a {json_type_name(self.default)}, "
                f"not a {self.type}"
            )
        if not isinstance(self.default, NotGiven):
            problem = violation(self.type, self.constraints, self.default, self.name)
            if problem is not None:
                raise ValueError(f"default of option {problem}")

    def describe(self) -> dict[str, JSONValue]:
        entry: dict[str, JSONValue] = {"name": self.name, "type": self.type}
        if not self.client_writable:
            entry["writable"] = False
        if self.description:
            entry["description"] = self.description
        entry.update(self.bounds(from_client=True).describe())
        return entry

    def bounds(self, *, from_client: bool) -> Constraints:
        """The constraints on a value from a client, or from the trusted start payload."""
        if from_client and self.client_constraints is not None:
            return self.client_constraints
        return self.constraints


@dataclass(frozen=True)
class RTVIService:
    """A named service (``llm``, ``tts``, ...) and its options, in order."""

    name: str
    options: Sequence[RTVIServiceOption] = ()

    def __post_init__(self) -> None:
        _check_name("service", self.name)
        seen: set[str] = set()
        for option in self.options:
            if option.name in seen:
                raise ValueError(f"service {self.name!r} declares option {option.name!r} twice")
            seen.add(option.name)
        object.__setattr__(self, "options", tuple(self.options))

    def option(self, name: str) -> RTVIServiceOption | None:
        return next((o for o in self.options if o.name == name), None)

    def describe(self) -> dict[str, JSONValue]:
        # Both keys: the docs read "service", pipecat's reference server sent "name".
        return {
            "name": self.name,
            "service": self.name,
            "options": [o.describe() for o in self.options],
        }


@dataclass(frozen=True)
class RTVIActionArgument:
    """A typed action argument; one with a default may be omitted by the client."""

    name: str
    type: OptionType
    default: JSONValue | NotGiven = NOT_GIVEN
    constraints: Constraints = NO_CONSTRAINTS
    required: bool = field(init=False)

    def __post_init__(self) -> None:
        _check_name("argument", self.name)
        _check_type("argument", self.name, self.type)
        if self.default is not NOT_GIVEN and not matches_type(self.type, self.default):
            raise ValueError(f"default of argument {self.name!r} is not a {self.type}")
        object.__setattr__(self, "required", self.default is NOT_GIVEN)

    def describe(self) -> dict[str, JSONValue]:
        return {"name": self.name, "type": self.type, **self.constraints.describe()}


@dataclass(frozen=True)
class RTVIAction:
    """A callable the client invokes as ``<service>:<action>``."""

    service: str
    action: str
    result: OptionType
    handler: ActionHandler
    arguments: Sequence[RTVIActionArgument] = ()

    def __post_init__(self) -> None:
        _check_name("service", self.service)
        _check_name("action", self.action)
        _check_type("result of action", self.key, self.result)
        names = [a.name for a in self.arguments]
        if len(names) != len(set(names)):
            raise ValueError(f"action {self.key!r} declares an argument twice")
        object.__setattr__(self, "arguments", tuple(self.arguments))

    @property
    def key(self) -> str:
        return f"{self.service}:{self.action}"

    def describe(self) -> dict[str, JSONValue]:
        return {
            "service": self.service,
            "action": self.action,
            "arguments": [a.describe() for a in self.arguments],
            "result": self.result,
        }


def _prepare_option(
    service: RTVIService, value: OptionValue, current: Config, from_client: bool, where: str
) -> OptionValue | ConfigError:
    option = service.option(value.name)
    qualified = f"{service.name}.{value.name}"
    if option is None:
        return ConfigError(where, f"unknown option {qualified}")
    if not matches_type(option.type, value.value):
        return ConfigError(
            where, f"option {qualified} expects {option.type}, got {json_type_name(value.value)}"
        )
    if from_client and not option.client_writable:
        return ConfigError(
            where, f"option {qualified} is server-only and cannot be changed by a client"
        )
    given = value.value
    existing = current.get(service.name, value.name)
    if (
        option.constraints.partial
        and isinstance(given, dict)
        and existing is not None
        and isinstance(existing.value, dict)
    ):
        given = {**existing.value, **given}
    bounds = option.bounds(from_client=from_client)
    problem = violation(option.type, bounds, given, qualified)
    if problem is not None:
        return ConfigError(where, problem)
    return OptionValue(value.name, normalized(option.type, bounds, given))


@dataclass(frozen=True, slots=True)
class ActionCallError:
    """Why an action request cannot be run."""

    reason: str


class Registry:
    """The services and actions one bot declares, and the checks against them."""

    def __init__(self) -> None:
        self._services: dict[str, RTVIService] = {}
        self._actions: dict[str, RTVIAction] = {}

    @property
    def services(self) -> Mapping[str, RTVIService]:
        return self._services

    @property
    def actions(self) -> Mapping[str, RTVIAction]:
        return self._actions

    def register_service(self, service: RTVIService) -> None:
        if service.name in self._services:
            raise ValueError(f"service {service.name!r} is already registered")
        self._services[service.name] = service

    def register_action(self, action: RTVIAction) -> None:
        if action.key in self._actions:
            raise ValueError(f"action {action.key!r} is already registered")
        self._actions[action.key] = action

    def describe_config(self) -> list[JSONValue]:
        return [s.describe() for s in self._services.values()]

    def describe_actions(self) -> list[JSONValue]:
        return [a.describe() for a in self._actions.values()]

    def default_config(self) -> Config:
        """The config made of every option's declared default, in declaration order."""
        entries = []
        for service in self._services.values():
            options = tuple(
                OptionValue(o.name, o.default)
                for o in service.options
                if not isinstance(o.default, NotGiven)
            )
            if options:
                entries.append(ServiceConfig(service.name, options))
        return Config(entries)

    def check_config(
        self, config: Iterable[ServiceConfig], *, from_client: bool, path: str = "config"
    ) -> ConfigError | None:
        """The first problem in ``config`` against this registry, or ``None``.

        ``from_client`` additionally refuses server-only options; the trusted
        start payload may set them.
        """
        prepared = self.prepare_config(
            config, current=self.default_config(), from_client=from_client, path=path
        )
        return prepared if isinstance(prepared, ConfigError) else None

    def prepare_config(
        self,
        config: Iterable[ServiceConfig],
        *,
        current: Config,
        from_client: bool,
        path: str = "config",
    ) -> Config | ConfigError:
        """``config`` as it will be applied, or the first problem in it.

        Every value is checked against its option's type and constraints. An
        object option with a schema keeps, for keys the update leaves out, the
        values it has in ``current``; whole numbers of integer options become
        ints. Nothing here calls a handler.
        """
        entries: list[ServiceConfig] = []
        for i, entry in enumerate(config):
            service = self._services.get(entry.service)
            if service is None:
                return ConfigError(f"{path}[{i}].service", f"unknown service {entry.service!r}")
            options: list[OptionValue] = []
            for j, value in enumerate(entry.options):
                where = f"{path}[{i}].options[{j}]"
                prepared = _prepare_option(service, value, current, from_client, where)
                if isinstance(prepared, ConfigError):
                    return prepared
                options.append(prepared)
            entries.append(ServiceConfig(entry.service, tuple(options)))
        return Config(entries)

    def bind_action(
        self, service: str, action: str, arguments: Sequence[OptionValue]
    ) -> tuple[RTVIAction, dict[str, JSONValue]] | ActionCallError:
        """Match an action request to its declaration and build its arguments.

        Unknown extra arguments are refused rather than passed through, so a
        typo in a client cannot silently change what a handler does.
        """
        declared = self._actions.get(f"{service}:{action}")
        if declared is None:
            return ActionCallError(f"Action {service}:{action} not registered")
        by_name = {a.name: a for a in declared.arguments}
        bound: dict[str, JSONValue] = {}
        for arg in arguments:
            spec = by_name.get(arg.name)
            if spec is None:
                return ActionCallError(f"action {declared.key} has no argument {arg.name!r}")
            if arg.name in bound:
                return ActionCallError(f"action {declared.key}: argument {arg.name!r} given twice")
            if not matches_type(spec.type, arg.value):
                return ActionCallError(
                    f"action {declared.key}: argument {arg.name!r} expects {spec.type}, "
                    f"got {json_type_name(arg.value)}"
                )
            problem = violation(
                spec.type, spec.constraints, arg.value, f"{declared.key}.{arg.name}"
            )
            if problem is not None:
                return ActionCallError(f"action {problem}")
            bound[arg.name] = normalized(spec.type, spec.constraints, arg.value)
        for spec in declared.arguments:
            if spec.name not in bound:
                if isinstance(spec.default, NotGiven):
                    return ActionCallError(
                        f"action {declared.key}: missing required argument {spec.name!r}"
                    )
                bound[spec.name] = spec.default
        return declared, bound
