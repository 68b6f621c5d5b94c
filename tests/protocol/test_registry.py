import pytest

from rtvi_server.protocol import (
    ActionCallError,
    ConfigError,
    OptionValue,
    Registry,
    RTVIAction,
    RTVIActionArgument,
    RTVIService,
    RTVIServiceOption,
    parse_config,
)


def noop(*_args):
    return True


@pytest.fixture
def registry():
    r = Registry()
    r.register_service(
        RTVIService(
            "llm",
            [
                RTVIServiceOption("model", "string", default="m1"),
                RTVIServiceOption("initial_messages", "array", client_writable=False),
                RTVIServiceOption("temperature", "number"),
            ],
        )
    )
    r.register_service(RTVIService("tts", [RTVIServiceOption("voice", "string", default="v")]))
    r.register_action(
        RTVIAction(
            "llm",
            "append_to_messages",
            "bool",
            noop,
            [
                RTVIActionArgument("messages", "array"),
                RTVIActionArgument("run_immediately", "bool", default=False),
            ],
        )
    )
    return r


def test_duplicates_are_refused(registry):
    with pytest.raises(ValueError, match="service 'llm' is already registered"):
        registry.register_service(RTVIService("llm"))
    with pytest.raises(ValueError, match="action 'llm:append_to_messages' is already registered"):
        registry.register_action(RTVIAction("llm", "append_to_messages", "bool", noop))
    with pytest.raises(ValueError, match="declares option 'a' twice"):
        RTVIService("x", [RTVIServiceOption("a", "bool"), RTVIServiceOption("a", "number")])
    with pytest.raises(ValueError, match="declares an argument twice"):
        RTVIAction("x", "y", "bool", noop, [RTVIActionArgument("a", "bool")] * 2)


@pytest.mark.parametrize("bad", ["int", "float", "list", "dict", "", None])
def test_only_protocol_types_are_accepted(bad):
    with pytest.raises(ValueError, match="use bool, number, string, array or object"):
        RTVIServiceOption("x", bad)


def test_default_must_fit_the_type():
    with pytest.raises(ValueError, match="default of option 'x' is a string, not a number"):
        RTVIServiceOption("x", "number", default="1")


def test_describe_carries_name_and_service(registry):
    assert registry.describe_config()[0] == {
        "name": "llm",
        "service": "llm",
        "options": [
            {"name": "model", "type": "string"},
            {"name": "initial_messages", "type": "array", "writable": False},
            {"name": "temperature", "type": "number"},
        ],
    }
    assert registry.describe_actions() == [
        {
            "service": "llm",
            "action": "append_to_messages",
            "arguments": [
                {"name": "messages", "type": "array"},
                {"name": "run_immediately", "type": "bool"},
            ],
            "result": "bool",
        }
    ]


def test_default_config_uses_declared_defaults(registry):
    assert registry.default_config().to_wire() == [
        {"service": "llm", "options": [{"name": "model", "value": "m1"}]},
        {"service": "tts", "options": [{"name": "voice", "value": "v"}]},
    ]


@pytest.mark.parametrize(
    ("wire", "from_client", "error"),
    [
        (
            [{"service": "stt", "options": []}],
            True,
            ConfigError("config[0].service", "unknown service 'stt'"),
        ),
        (
            [{"service": "llm", "options": [{"name": "modle", "value": "x"}]}],
            True,
            ConfigError("config[0].options[0]", "unknown option llm.modle"),
        ),
        (
            [{"service": "llm", "options": [{"name": "temperature", "value": "hot"}]}],
            True,
            ConfigError(
                "config[0].options[0]", "option llm.temperature expects number, got string"
            ),
        ),
        (
            [{"service": "llm", "options": [{"name": "temperature", "value": True}]}],
            True,
            ConfigError("config[0].options[0]", "option llm.temperature expects number, got bool"),
        ),
        (
            [{"service": "llm", "options": [{"name": "initial_messages", "value": []}]}],
            True,
            ConfigError(
                "config[0].options[0]",
                "option llm.initial_messages is server-only and cannot be changed by a client",
            ),
        ),
        ([{"service": "llm", "options": [{"name": "initial_messages", "value": []}]}], False, None),
        ([{"service": "llm", "options": [{"name": "temperature", "value": 0}]}], True, None),
    ],
)
def test_check_config(registry, wire, from_client, error):
    assert registry.check_config(parse_config(wire), from_client=from_client) == error


def test_bind_action_fills_defaults(registry):
    action, args = registry.bind_action("llm", "append_to_messages", [OptionValue("messages", [])])
    assert action.key == "llm:append_to_messages"
    assert args == {"messages": [], "run_immediately": False}


@pytest.mark.parametrize(
    ("service", "action", "args", "reason"),
    [
        ("llm", "summarise", [], "Action llm:summarise not registered"),
        (
            "llm",
            "append_to_messages",
            [],
            "action llm:append_to_messages: missing required argument 'messages'",
        ),
        (
            "llm",
            "append_to_messages",
            [OptionValue("messages", []), OptionValue("extra", 1)],
            "action llm:append_to_messages has no argument 'extra'",
        ),
        (
            "llm",
            "append_to_messages",
            [OptionValue("messages", "hi")],
            "action llm:append_to_messages: argument 'messages' expects array, got string",
        ),
        (
            "llm",
            "append_to_messages",
            [OptionValue("messages", []), OptionValue("messages", [])],
            "action llm:append_to_messages: argument 'messages' given twice",
        ),
    ],
)
def test_bind_action_refusals(registry, service, action, args, reason):
    assert registry.bind_action(service, action, args) == ActionCallError(reason)
