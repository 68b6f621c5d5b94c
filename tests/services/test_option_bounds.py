"""Property: whatever a client sends, no standard option handler sees a value outside
its declared bounds (the registry refuses it first), and every request is answered."""

import asyncio
import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipecat.audio.vad.vad_analyzer import VADParams

from rtvi_server import RTVIProcessor
from rtvi_server.protocol import RTVIService
from rtvi_server.protocol.constraints import violation
from rtvi_server.services import standard_services

from ..processor.harness import PipelineSession, rtvi


@dataclasses.dataclass
class Settings:  # stands in for a pipecat service's Settings dataclass
    model: object = None
    voice: object = None
    language: object = None
    speed: object = None
    temperature: object = None
    max_tokens: object = None


class StubService:
    Settings = Settings


def recorded_services(seen):
    services = standard_services(
        llm=StubService(),
        tts=StubService(),
        stt=StubService(),
        vad=VADParams(),
        defaults={
            "llm": {
                "model": "m1",
                "initial_messages": [{"role": "system", "content": "Be brief."}],
            },
            "tts": {"voice": "v1"},
            "stt": {"model": "s1"},
        },
        choices={"llm": {"model": ["m2"]}, "tts": {"voice": ["v2"]}},
    )
    wrapped = []
    for service in services:
        options = []
        for option in service.options:

            def record(proc, name, value, _option=option, _handler=option.handler):
                seen.append((name, _option, value.value))
                return _handler(proc, name, value)

            options.append(dataclasses.replace(option, handler=record))
        wrapped.append(RTVIService(service.name, options))
    return wrapped


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10_000, 10_000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["m1", "m2", "v2", "/etc/passwd", "owner/repo:x.gguf", "en", "en-US", "user"])
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["role", "content", "confidence", "stop_secs", "name", "function", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=16,
)
OPTIONS = {
    "llm": ["model", "initial_messages", "messages", "temperature", "max_tokens", "tools"],
    "tts": ["voice", "model", "language", "speed"],
    "stt": ["model", "language"],
    "vad": ["params"],
}
update = st.sampled_from(sorted(OPTIONS)).flatmap(
    lambda service: st.fixed_dictionaries(
        {
            "service": st.just(service),
            "options": st.lists(
                st.fixed_dictionaries({"name": st.sampled_from(OPTIONS[service]), "value": values}),
                min_size=1,
                max_size=3,
                unique_by=lambda o: o["name"],
            ),
        }
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(update, min_size=1, max_size=8))
def test_no_handler_ever_receives_a_value_outside_its_bounds(updates):
    async def scenario():
        seen = []
        processor = RTVIProcessor()
        for service in recorded_services(seen):
            processor.register_service(service)
        async with PipelineSession(processor) as s:
            await s.request(rtvi("client-ready", {}))
            seen.clear()  # the bot's own defaults were applied at start
            for entry in updates:
                reply = await s.request(rtvi("update-config", {"config": [entry]}))
                assert reply["type"] in ("config", "error-response")
        for name, option, value in seen:
            assert violation(option.type, option.bounds(from_client=True), value, name) is None

    asyncio.run(scenario())


def test_values_inside_the_bounds_do_reach_the_handlers():
    async def scenario():
        seen = []
        processor = RTVIProcessor()
        for service in recorded_services(seen):
            processor.register_service(service)
        async with PipelineSession(processor) as s:
            await s.request(rtvi("client-ready", {}))
            seen.clear()
            good = [
                {"service": "llm", "options": [{"name": "model", "value": "m2"}]},
                {"service": "vad", "options": [{"name": "params", "value": {"stop_secs": 1}}]},
            ]
            assert (await s.request(rtvi("update-config", {"config": good})))["type"] == "config"
        assert [(n, v) for n, _, v in seen] == [
            ("llm", "m2"),
            ("vad", {"confidence": 0.7, "start_secs": 0.2, "stop_secs": 1, "min_volume": 0.6}),
        ]

    asyncio.run(scenario())
