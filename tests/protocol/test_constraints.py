"""Declared constraints: a value just inside passes, one just outside is refused, by name."""

import pytest

from rtvi_server.protocol import Config, OptionValue, Registry, RTVIService, RTVIServiceOption
from rtvi_server.protocol.config import ServiceConfig
from rtvi_server.protocol.constraints import Constraints, Field, violation


def no_tabs(value):
    return "must not contain tabs" if isinstance(value, str) and "\t" in value else None


CASES = [
    # (type, constraints, inside, outside, message)
    ("number", Constraints(minimum=0, maximum=2), 2, 2.0001, "t.o must be between 0 and 2"),
    ("number", Constraints(minimum=0, maximum=2), 0, -0.0001, "t.o must be between 0 and 2"),
    ("number", Constraints(minimum=1), 1, 0.5, "t.o must be at least 1"),
    ("number", Constraints(maximum=4096, integer=True), 4096, 4097, "t.o must be at most 4096"),
    ("number", Constraints(integer=True), 3, 2.5, "t.o must be a whole number"),
    ("string", Constraints(choices=("a", "b")), "b", "c", "t.o must be one of a, b"),
    ("string", Constraints(max_length=3), "abc", "abcd", "t.o must be at most 3 characters"),
    ("array", Constraints(max_items=2), [1, 2], [1, 2, 3], "t.o must have at most 2 items"),
    ("array", Constraints(max_bytes=7), ["abc"], ["abcd"], "t.o must be at most 7 bytes as JSON"),
    (
        "array",
        Constraints(items=Field("string", Constraints(max_length=2))),
        ["ab"],
        ["ab", "abc"],
        "t.o[1] must be at most 2 characters",
    ),
    (
        "object",
        Constraints(properties={"k": Field("number", Constraints(minimum=0, maximum=1))}),
        {"k": 1},
        {"k": 1.5},
        "t.o.k must be between 0 and 1",
    ),
    (
        "object",
        Constraints(properties={"k": Field("number")}),
        {"k": 1},
        {"k": 1, "z": 2},
        "t.o has no key 'z' (known: k)",
    ),
    (
        "object",
        Constraints(properties={"k": Field("number", required=True)}),
        {"k": 0},
        {},
        "t.o.k is required",
    ),
    ("string", Constraints(check=no_tabs), "a b", "a\tb", "t.o must not contain tabs"),
]


@pytest.mark.parametrize(("type_", "constraints", "inside", "outside", "message"), CASES)
def test_inside_passes_and_outside_is_refused_naming_option_and_bound(
    type_, constraints, inside, outside, message
):
    assert violation(type_, constraints, inside, "t.o") is None
    assert violation(type_, constraints, outside, "t.o") == message


def registry(*options):
    r = Registry()
    r.register_service(RTVIService("t", list(options)))
    return r


def config(**values):
    return Config([ServiceConfig("t", tuple(OptionValue(k, v) for k, v in values.items()))])


def test_an_update_outside_a_bound_is_refused_before_anything_is_applied():
    r = registry(
        RTVIServiceOption("a", "number", default=1, constraints=Constraints(maximum=10)),
        RTVIServiceOption("b", "number", default=1, constraints=Constraints(maximum=10)),
    )
    problem = r.prepare_config(config(a=5, b=11), current=r.default_config(), from_client=True)
    assert str(problem) == "config[0].options[1]: t.b must be at most 10"


def test_an_object_with_a_schema_keeps_the_keys_an_update_leaves_out():
    schema = {n: Field("number", Constraints(minimum=0)) for n in ("confidence", "stop_secs")}
    r = registry(
        RTVIServiceOption(
            "params",
            "object",
            default={"confidence": 0.7, "stop_secs": 0.5},
            constraints=Constraints(properties=schema),
        )
    )
    prepared = r.prepare_config(
        config(params={"confidence": 0.8}), current=r.default_config(), from_client=True
    )
    assert prepared.get("t", "params").value == {"confidence": 0.8, "stop_secs": 0.5}


def test_whole_numbers_of_integer_options_are_stored_as_integers():
    r = registry(RTVIServiceOption("n", "number", constraints=Constraints(integer=True)))
    prepared = r.prepare_config(config(n=3.0), current=r.default_config(), from_client=True)
    value = prepared.get("t", "n").value
    assert value == 3
    assert isinstance(value, int)


def test_describe_config_advertises_the_bounds_as_extra_keys():
    option = RTVIServiceOption(
        "temperature", "number", constraints=Constraints(minimum=0, maximum=2)
    )
    assert option.describe() == {
        "name": "temperature",
        "type": "number",
        "minimum": 0,
        "maximum": 2,
    }


def test_a_default_outside_its_own_bounds_is_a_declaration_error():
    with pytest.raises(ValueError, match="must be at most 1"):
        RTVIServiceOption("x", "number", default=2, constraints=Constraints(maximum=1))
