"""Standard RTVI actions: the ones the JS LLM helper and the docs' examples call.

``llm``: ``get_context``, ``set_context``, ``append_to_messages``, ``run``;
``tts``: ``say``, ``interrupt``. They act through pipecat frames pushed from
the RTVI processor, like the standard options.
"""

from __future__ import annotations

from typing import Any, cast

from pipecat.frames.frames import (
    LLMMessagesAppendFrame,
    LLMMessagesUpdateFrame,
    LLMRunFrame,
    TTSSpeakFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext

from rtvi_server.protocol import BotControl, JSONValue, RTVIAction, RTVIActionArgument
from rtvi_server.services import bounds
from rtvi_server.services.bounds import PromptPolicy
from rtvi_server.services.options import BotPrompt


def llm_actions(
    context: LLMContext, *, service: str = "llm", prompt: BotPrompt | None = None
) -> list[RTVIAction]:
    """The context actions, bound by the same prompt policy as the ``llm`` options."""
    prompt = prompt or BotPrompt(PromptPolicy(), {})
    messages = bounds.messages(prompt.policy.client_roles)

    async def get_context(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        messages = [m for m in context.get_messages() if isinstance(m, dict)]
        return {"messages": messages}

    async def set_context(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        if args["interrupt"]:
            await rtvi.interrupt_bot()
        await rtvi.push_frame(LLMMessagesUpdateFrame(messages=prompt.context(args["messages"])))
        return True

    async def append(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        run = bool(args["run_immediately"])
        if run:
            await rtvi.interrupt_bot()
        appended = cast(list[Any], args["messages"])
        frame = LLMMessagesAppendFrame(messages=appended, run_llm=run)
        await rtvi.push_frame(frame)
        return True

    async def run(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        if args["interrupt"]:
            await rtvi.interrupt_bot()
        await rtvi.push_frame(LLMRunFrame())
        return True

    interrupt = RTVIActionArgument("interrupt", "bool", default=False)
    return [
        RTVIAction(service, "get_context", "object", get_context),
        RTVIAction(
            service,
            "set_context",
            "bool",
            set_context,
            [RTVIActionArgument("messages", "array", constraints=messages), interrupt],
        ),
        RTVIAction(
            service,
            "append_to_messages",
            "bool",
            append,
            [
                RTVIActionArgument("messages", "array", constraints=messages),
                RTVIActionArgument("run_immediately", "bool", default=False),
            ],
        ),
        RTVIAction(service, "run", "bool", run, [interrupt]),
    ]


def tts_actions(*, service: str = "tts") -> list[RTVIAction]:
    async def say(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        if args["interrupt"]:
            await rtvi.interrupt_bot()
        await rtvi.push_frame(TTSSpeakFrame(text=str(args["text"])))
        return True

    async def interrupt(rtvi: BotControl, svc: str, args: dict[str, JSONValue]) -> Any:
        await rtvi.interrupt_bot()
        return True

    return [
        RTVIAction(
            service,
            "say",
            "bool",
            say,
            [
                RTVIActionArgument("text", "string", constraints=bounds.SAY_TEXT),
                RTVIActionArgument("interrupt", "bool", default=False),
            ],
        ),
        RTVIAction(service, "interrupt", "bool", interrupt),
    ]
