"""Config documents: ordered lists of ``{service, options: [{name, value}]}``.

A config is immutable here (tuples all the way down) so the processor can keep
the last good config while it tries a new one, and an update that fails leaves
nothing half-applied. Order is part of the contract (spec 4.2): services apply
in list order, options in list order within a service.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from rtvi_server.protocol.values import JSONValue, json_type_name


@dataclass(frozen=True, slots=True)
class OptionValue:
    """One option's value, as handed to option handlers (``.name``, ``.value``)."""

    name: str
    value: JSONValue

    def to_wire(self) -> dict[str, JSONValue]:
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """The option values of one service, in order."""

    service: str
    options: tuple[OptionValue, ...]

    def to_wire(self) -> dict[str, JSONValue]:
        return {"service": self.service, "options": [o.to_wire() for o in self.options]}


@dataclass(frozen=True, slots=True)
class ConfigError:
    """Why a config document could not be read; ``path`` locates the problem."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class Config(tuple[ServiceConfig, ...]):
    """An ordered config document."""

    __slots__ = ()

    def to_wire(self) -> list[JSONValue]:
        return [entry.to_wire() for entry in self]

    def items(self) -> Iterator[tuple[str, OptionValue]]:
        """Every ``(service, option)`` pair in application order."""
        for entry in self:
            for option in entry.options:
                yield entry.service, option

    def get(self, service: str, option: str) -> OptionValue | None:
        """The stored value of ``service.option``, or ``None`` if it has none."""
        for svc, opt in self.items():
            if svc == service and opt.name == option:
                return opt
        return None


EMPTY_CONFIG: Final = Config()


def parse_config(raw: object, *, path: str = "config") -> Config | ConfigError:
    """Read a config document from JSON, reporting the first malformed part.

    Shape only: whether services and options exist is the registry's business.
    Options given as bare objects (``{"stop_secs": 0.5}``, as in one client-docs
    example) are refused because they lack ``name`` and ``value``.
    """
    if not isinstance(raw, list):
        return ConfigError(path, f"must be an array, got {json_type_name(raw)}")
    entries: list[ServiceConfig] = []
    for i, entry in enumerate(raw):
        here = f"{path}[{i}]"
        if not isinstance(entry, dict):
            return ConfigError(here, f"must be an object, got {json_type_name(entry)}")
        service = entry.get("service")
        if not isinstance(service, str) or not service:
            return ConfigError(f"{here}.service", "must be a non-empty string")
        options = entry.get("options")
        if not isinstance(options, list):
            return ConfigError(
                f"{here}.options", f"must be an array, got {json_type_name(options)}"
            )
        parsed: list[OptionValue] = []
        for j, option in enumerate(options):
            where = f"{here}.options[{j}]"
            if not isinstance(option, dict):
                return ConfigError(where, f"must be an object, got {json_type_name(option)}")
            name = option.get("name")
            if not isinstance(name, str) or not name:
                return ConfigError(f"{where}.name", "must be a non-empty string")
            if "value" not in option:
                return ConfigError(where, f'option "{name}" has no "value"')
            parsed.append(OptionValue(name, option["value"]))
        entries.append(ServiceConfig(service, tuple(parsed)))
    return Config(entries)


def merge_config(base: Config, update: Sequence[ServiceConfig]) -> Config:
    """Apply a partial config on top of ``base`` (spec 4.4).

    Unmentioned services and options stay; a mentioned option replaces its value
    wholesale (no deep merge); a new option is appended to its service's entry;
    a service without an entry gets one appended (pipecat dropped it silently).
    """
    services: dict[str, list[OptionValue]] = {}
    for entry in (*base, *update):
        stored = services.setdefault(entry.service, [])
        for option in entry.options:
            for k, existing in enumerate(stored):
                if existing.name == option.name:
                    stored[k] = option
                    break
            else:
                stored.append(option)
    return Config(ServiceConfig(name, tuple(opts)) for name, opts in services.items())
