"""A test bot: services, options and actions with handlers that record calls."""

from __future__ import annotations

import asyncio
from typing import Any

from pipecat.frames.frames import LLMRunFrame

from rtvi_server import (
    RTVIAction,
    RTVIActionArgument,
    RTVIProcessor,
    RTVIService,
    RTVIServiceOption,
)


class Recorder:
    def __init__(self) -> None:
        self.applied: list[tuple[str, str, Any]] = []
        self.actions: list[tuple[str, dict[str, Any]]] = []


def make_processor(
    config: list[Any] | None = None, **kwargs: Any
) -> tuple[RTVIProcessor, Recorder]:
    rec = Recorder()
    processor = RTVIProcessor(config=config, **kwargs)

    async def record(proc: RTVIProcessor, service: str, option: Any) -> None:
        rec.applied.append((service, option.name, option.value))

    async def explode(proc: RTVIProcessor, service: str, option: Any) -> None:
        rec.applied.append((service, option.name, option.value))
        raise RuntimeError("voice engine offline")

    async def hang(proc: RTVIProcessor, service: str, option: Any) -> None:
        await asyncio.sleep(3600)

    async def run_on_config(proc: RTVIProcessor, service: str, option: Any) -> None:
        rec.applied.append((service, option.name, option.value))
        if option.value and proc.applying_initial_config:

            async def run() -> None:
                await proc.push_frame(LLMRunFrame())

            proc.after_bot_ready(run)

    processor.register_service(
        RTVIService(
            "vad", [RTVIServiceOption("params", "object", record, default={"stop_secs": 0.8})]
        )
    )
    processor.register_service(
        RTVIService(
            "tts",
            [
                RTVIServiceOption("voice", "string", record, default="joe"),
                RTVIServiceOption("speed", "number", record),
                RTVIServiceOption("engine", "string", explode),
                RTVIServiceOption("slow", "bool", hang),
            ],
        )
    )
    processor.register_service(
        RTVIService(
            "llm",
            [
                RTVIServiceOption("model", "string", record, default="smol"),
                RTVIServiceOption(
                    "initial_messages",
                    "array",
                    record,
                    default=[{"role": "system", "content": "Be brief."}],
                    client_writable=False,
                ),
                RTVIServiceOption("run_on_config", "bool", run_on_config),
                RTVIServiceOption("temperature", "number", record),
            ],
        )
    )

    async def append(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        rec.actions.append(("append_to_messages", args))
        return True

    async def get_context(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        return {"messages": [{"role": "system", "content": "Be brief."}]}

    async def nothing(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        return None

    def boom(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        raise ValueError("kaboom")

    async def hang_action(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        await asyncio.sleep(3600)

    async def wrong_result(proc: RTVIProcessor, service: str, args: dict[str, Any]) -> Any:
        return "yes"

    processor.register_action(
        RTVIAction(
            "llm",
            "append_to_messages",
            "bool",
            append,
            [
                RTVIActionArgument("messages", "array"),
                RTVIActionArgument("run_immediately", "bool", default=False),
            ],
        )
    )
    processor.register_action(RTVIAction("llm", "get_context", "object", get_context))
    processor.register_action(RTVIAction("llm", "nothing", "bool", nothing))
    processor.register_action(RTVIAction("llm", "boom", "bool", boom))
    processor.register_action(RTVIAction("llm", "hang", "bool", hang_action))
    processor.register_action(RTVIAction("llm", "wrong_result", "bool", wrong_result))
    return processor, rec
