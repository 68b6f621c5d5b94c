"""Each OpenAI-compatible provider, through the real openai client, to a loopback server."""

import pytest
from loguru import logger
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair

from rtvi_server import RTVIProcessor
from rtvi_server.services import PromptPolicy, create_service, find_provider, standard_services
from rtvi_server.services.options import BotPrompt

from ..processor.harness import PipelineSession, rtvi
from ..support.openai_server import OpenAICompatibleServer

COMPATIBLE = ["openai", "together", "groq", "fireworks", "openrouter", "ollama"]


@pytest.fixture
async def server():
    srv = await OpenAICompatibleServer().start()
    yield srv
    await srv.stop()


@pytest.fixture
def captured_logs():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="TRACE")
    yield lines
    logger.remove(sink)


def build(provider, server, key):
    env = {f"{provider.upper()}_BASE_URL": f"{server.url}/{provider}/v1"}
    llm = create_service("llm", provider, api_keys={provider: key} if key else {}, environ=env)
    rtvi_proc = RTVIProcessor()
    context = LLMContext()
    user_agg, assistant_agg = LLMContextAggregatorPair(context)
    defaults = {
        "model": find_provider("llm", provider).defaults["model"],
        "initial_messages": [{"role": "system", "content": "Be brief."}],
    }
    # This bot lets its clients switch to a second model and rewrite the whole prompt.
    for service in standard_services(
        llm=llm,
        defaults={"llm": defaults},
        choices={"llm": {"model": ["model-two"]}},
        prompt=BotPrompt(PromptPolicy("client", system=True), defaults),
    ):
        rtvi_proc.register_service(service)
    return rtvi_proc, [user_agg, llm, assistant_agg]


async def user_turn(session, text):
    start = len(session.messages)
    await session.worker.queue_frame(
        LLMMessagesAppendFrame([{"role": "user", "content": text}], run_llm=True)
    )
    await session.wait_for(
        lambda ms: any(m["type"] == "bot-llm-stopped" for m in ms[start:]), timeout=10
    )
    return session.messages[start:]


@pytest.mark.parametrize("provider", COMPATIBLE)
async def test_provider_streams_through_the_pipeline(provider, server, captured_logs):
    key = None if provider == "ollama" else f"sk-SENTINEL-{provider}-7f3a"
    processor, middle = build(provider, server, key)
    async with PipelineSession(processor, middle) as s:
        await s.request(rtvi("client-ready", {}))
        events = await user_turn(s, "What is the capital of Peru?")

        request = server.requests[-1]
        assert request.path == f"/{provider}/v1/chat/completions"
        assert request.body["model"] == find_provider("llm", provider).defaults["model"]
        assert request.body["stream"] is True
        if key:
            assert request.headers["Authorization"] == f"Bearer {key}"
        assert request.body["messages"][-1] == {
            "role": "user",
            "content": "What is the capital of Peru?",
        }
        assert request.body["messages"][0] == {"role": "system", "content": "Be brief."}
        tokens = [m["data"]["text"] for m in events if m["type"] == "bot-llm-text"]
        assert tokens == ["Hello", " from", " loopback", "."]

        # Runtime changes reach the service: the next turn uses the new model and messages.
        reply = await s.request(
            rtvi(
                "update-config",
                {
                    "config": [
                        {
                            "service": "llm",
                            "options": [
                                {"name": "model", "value": "model-two"},
                                {
                                    "name": "messages",
                                    "value": [
                                        {"role": "system", "content": "Speak like a pirate."}
                                    ],
                                },
                                {"name": "temperature", "value": 0.25},
                            ],
                        }
                    ]
                },
            )
        )
        assert reply["type"] == "config"
        await user_turn(s, "Ahoy?")
        second = server.requests[-1].body
        assert second["model"] == "model-two"
        assert second["temperature"] == 0.25
        assert second["messages"][0] == {"role": "system", "content": "Speak like a pirate."}
        assert second["messages"][-1] == {"role": "user", "content": "Ahoy?"}

    if key:
        # Sentinel scan: the key reached the provider's server and nothing else.
        assert key not in repr(s.messages)
        assert not [line for line in captured_logs if key in line]
