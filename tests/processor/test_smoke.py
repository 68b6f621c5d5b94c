from rtvi_server import RTVIProcessor, RTVIService, RTVIServiceOption

from .harness import PipelineSession, rtvi


async def test_client_ready_gets_bot_ready_with_config():
    seen = []

    async def on_model(processor, service, option):
        seen.append((service, option.name, option.value))

    processor = RTVIProcessor(
        config=[{"service": "llm", "options": [{"name": "model", "value": "b"}]}]
    )
    processor.register_service(
        RTVIService("llm", [RTVIServiceOption("model", "string", on_model, default="a")])
    )
    async with PipelineSession(processor) as s:
        reply = await s.request(rtvi("client-ready", {}, id="c1"))
    assert reply == {
        "label": "rtvi-ai",
        "type": "bot-ready",
        "id": "c1",
        "data": {
            "version": "0.3.0",
            "config": [{"service": "llm", "options": [{"name": "model", "value": "b"}]}],
        },
    }
    assert seen == [("llm", "model", "b")]
