"""What a bot allows an option or an action argument to be, beyond its type.

A bot declares, per option or argument, an allow-list (``choices``), bounds for
numbers (and whether only whole numbers are allowed), a maximum length for
strings, a maximum count and encoded size for arrays, a schema for objects
(known keys, each with its own type and bounds; unknown keys refused) and, for
what none of these say, a custom check. The registry checks every value of an
update against them before any handler runs, and ``describe-config`` advertises
them, so a client can build a form that only offers what the bot accepts.

Refusals name the option and the bound: ``llm.temperature must be between 0
and 2``. They never quote the refused value (it may be long, or a secret).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from rtvi_server.protocol.values import JSONValue, OptionType, json_type_name, matches_type

Check = Callable[[JSONValue], str | None]
"""A custom check: the reason a value is refused (``"must name a tool"``), or ``None``."""

MAX_LISTED_CHOICES: Final = 12


@dataclass(frozen=True)
class Constraints:
    """Bounds on a value of a declared type (each ``None`` means no bound)."""

    choices: Sequence[JSONValue] | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    max_length: int | None = None
    max_items: int | None = None
    max_bytes: int | None = None
    items: Field | None = None
    properties: Mapping[str, Field] | None = None
    check: Check | None = None

    def __post_init__(self) -> None:
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.properties is not None:
            object.__setattr__(self, "properties", dict(self.properties))

    @property
    def partial(self) -> bool:
        """An object with a schema: an update may give some of its keys only."""
        return self.properties is not None

    def describe(self) -> dict[str, JSONValue]:
        """The bounds as the extra keys ``describe-config`` advertises."""
        out: dict[str, JSONValue] = {}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.integer:
            out["integer"] = True
        for key, value in (
            ("maxLength", self.max_length),
            ("maxItems", self.max_items),
            ("maxBytes", self.max_bytes),
        ):
            if value is not None:
                out[key] = value
        if self.items is not None:
            out["items"] = self.items.describe()
        if self.properties is not None:
            out["properties"] = {k: f.describe() for k, f in self.properties.items()}
        return out


NO_CONSTRAINTS: Final = Constraints()


@dataclass(frozen=True)
class Field:
    """A typed value with its bounds: an array's items, or a key of an object schema."""

    type: OptionType
    constraints: Constraints = field(default_factory=Constraints)
    required: bool = False

    def describe(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"type": self.type}
        if self.required:
            out["required"] = True
        out.update(self.constraints.describe())
        return out


def _between(name: str, c: Constraints) -> str:
    if c.minimum is not None and c.maximum is not None:
        return f"{name} must be between {c.minimum:g} and {c.maximum:g}"
    if c.minimum is not None:
        return f"{name} must be at least {c.minimum:g}"
    return f"{name} must be at most {c.maximum:g}"


def _listed(choices: Sequence[JSONValue]) -> str:
    shown = ", ".join(json.dumps(c) if not isinstance(c, str) else c for c in choices[:12])
    more = f" (and {len(choices) - MAX_LISTED_CHOICES} more)" if len(choices) > 12 else ""
    return shown + more


def _number_problem(name: str, value: float, c: Constraints) -> str | None:
    if c.integer and not float(value).is_integer():
        return f"{name} must be a whole number"
    too_low = c.minimum is not None and value < c.minimum
    too_high = c.maximum is not None and value > c.maximum
    return _between(name, c) if too_low or too_high else None


def _encoded_size(value: JSONValue) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _container_problem(name: str, value: JSONValue, c: Constraints) -> str | None:
    if isinstance(value, list):
        if c.max_items is not None and len(value) > c.max_items:
            return f"{name} must have at most {c.max_items} items"
        if c.items is not None:
            for i, item in enumerate(value):
                problem = violation(c.items.type, c.items.constraints, item, f"{name}[{i}]")
                if problem is not None:
                    return problem
    if isinstance(value, dict) and c.properties is not None:
        return _object_problem(name, value, c.properties)
    return None


def _object_problem(
    name: str, value: dict[str, JSONValue], schema: Mapping[str, Field]
) -> str | None:
    unknown = sorted(k for k in value if k not in schema)
    if unknown:
        known = ", ".join(schema)
        return f"{name} has no key {unknown[0][:40]!r} (known: {known})"
    for key, spec in schema.items():
        if key not in value:
            if spec.required:
                return f"{name}.{key} is required"
            continue
        problem = violation(spec.type, spec.constraints, value[key], f"{name}.{key}")
        if problem is not None:
            return problem
    return None


def violation(type_: OptionType, c: Constraints, value: JSONValue, name: str) -> str | None:
    """Why ``value`` is not an allowed ``type_`` under ``c``, naming ``name``; or ``None``."""
    if not matches_type(type_, value):
        return f"{name} must be a {type_}, not a {json_type_name(value)}"
    if c.choices is not None and value not in c.choices:
        return f"{name} must be one of {_listed(list(c.choices))}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = _number_problem(name, value, c)
    elif isinstance(value, str):
        too_long = c.max_length is not None and len(value) > c.max_length
        problem = f"{name} must be at most {c.max_length} characters" if too_long else None
    else:
        problem = _container_problem(name, value, c)
    if problem is None and c.max_bytes is not None and _encoded_size(value) > c.max_bytes:
        problem = f"{name} must be at most {c.max_bytes} bytes as JSON"
    if problem is None and c.check is not None:
        reason = c.check(value)
        problem = f"{name} {reason}" if reason else None
    return problem


def normalized(type_: OptionType, c: Constraints, value: JSONValue) -> JSONValue:
    """``value`` as it is applied and stored: a whole ``3.0`` of an integer option is ``3``."""
    if type_ == "number" and c.integer and isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, dict) and c.properties is not None:
        return {
            k: normalized(c.properties[k].type, c.properties[k].constraints, v)
            if k in c.properties
            else v
            for k, v in value.items()
        }
    return value
