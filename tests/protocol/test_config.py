import pytest

from rtvi_server.protocol import (
    Config,
    ConfigError,
    OptionValue,
    ServiceConfig,
    merge_config,
    parse_config,
)


def cfg(*entries):
    return Config(
        ServiceConfig(svc, tuple(OptionValue(n, v) for n, v in opts)) for svc, opts in entries
    )


def test_parse_keeps_order_and_round_trips():
    wire = [
        {"service": "vad", "options": [{"name": "params", "value": {"stop_secs": 0.6}}]},
        {
            "service": "llm",
            "options": [{"name": "model", "value": "m"}, {"name": "x", "value": None}],
        },
    ]
    parsed = parse_config(wire)
    assert isinstance(parsed, Config)
    assert parsed.to_wire() == wire
    assert [(s, o.name) for s, o in parsed.items()] == [
        ("vad", "params"),
        ("llm", "model"),
        ("llm", "x"),
    ]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"service": "llm"}, ConfigError("config", "must be an array, got object")),
        (["llm"], ConfigError("config[0]", "must be an object, got string")),
        ([{"options": []}], ConfigError("config[0].service", "must be a non-empty string")),
        ([{"service": "llm"}], ConfigError("config[0].options", "must be an array, got null")),
        (
            [{"service": "vad", "options": [{"stop_secs": 0.5}]}],
            ConfigError("config[0].options[0].name", "must be a non-empty string"),
        ),
        (
            [{"service": "tts", "options": [{"name": "voice"}]}],
            ConfigError("config[0].options[0]", 'option "voice" has no "value"'),
        ),
    ],
)
def test_parse_reports_where_the_problem_is(raw, error):
    assert parse_config(raw) == error


def test_merge_replaces_wholesale_appends_and_keeps_the_rest():
    base = cfg(
        ("vad", [("params", {"stop_secs": 0.8, "confidence": 0.7})]), ("llm", [("model", "a")])
    )
    update = cfg(
        ("vad", [("params", {"stop_secs": 0.5})]),
        ("llm", [("temperature", 0.2)]),
        ("tts", [("voice", "v")]),
    )
    assert merge_config(base, update) == cfg(
        ("vad", [("params", {"stop_secs": 0.5})]),
        ("llm", [("model", "a"), ("temperature", 0.2)]),
        ("tts", [("voice", "v")]),
    )


def test_merge_folds_repeated_service_entries():
    merged = merge_config(
        cfg(("llm", [("model", "a")])), cfg(("llm", [("model", "b")]), ("llm", [("model", "c")]))
    )
    assert merged == cfg(("llm", [("model", "c")]))


def test_get_finds_stored_values():
    config = cfg(("llm", [("model", "a")]))
    assert config.get("llm", "model") == OptionValue("model", "a")
    assert config.get("llm", "voice") is None
