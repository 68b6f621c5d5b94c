"""JSON values and the protocol's five option types.

RTVI declares every option, action argument and action result with one of five
type names. Values arrive as parsed JSON; this module is the one place that says
whether a value fits a declared type, so the registry, the start-time config and
runtime updates all agree.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, TypeGuard

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

OptionType: TypeAlias = Literal["bool", "number", "string", "array", "object"]
OPTION_TYPES: Final[tuple[OptionType, ...]] = ("bool", "number", "string", "array", "object")


def is_option_type(name: object) -> TypeGuard[OptionType]:
    """Whether ``name`` is one of the protocol's type names."""
    return isinstance(name, str) and name in OPTION_TYPES


def matches_type(option_type: OptionType, value: object) -> bool:
    """Whether a JSON value fits a declared option type.

    ``number`` excludes booleans (Python's ``bool`` is an ``int``) and non-finite
    floats, which JSON cannot carry.
    """
    if option_type == "bool":
        return isinstance(value, bool)
    if option_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return value == value and value not in (float("inf"), float("-inf"))
    if option_type == "string":
        return isinstance(value, str)
    if option_type == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def json_type_name(value: object) -> str:
    """The protocol-style name of a value's JSON type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
