"""The bounds of the standard options and actions, and who may set a bot's prompt.

These are checked by the registry before any handler runs (see
``rtvi_server.protocol.constraints``), so a value outside them never reaches a
service. Model, voice and STT-model options are allow-lists: a client picks a
name the bot (or the provider's installed models) declares, never a path or a
download.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from rtvi_server.protocol import JSONValue
from rtvi_server.protocol.constraints import Constraints, Field

MAX_MESSAGES: Final = 50
MAX_MESSAGE_CHARS: Final = 8000
MAX_PROMPT_BYTES: Final = 48 * 1024  # under the 64 KiB message limit, with room to spare
MAX_TOOLS: Final = 32
MAX_TOOLS_BYTES: Final = 32 * 1024
MAX_SAY_CHARS: Final = 2000
DEFAULT_MAX_TOKENS_CAP: Final = 4096

TEMPERATURE: Final = Constraints(minimum=0, maximum=2)
SPEED: Final = Constraints(minimum=0.5, maximum=2.0)
SAY_TEXT: Final = Constraints(max_length=MAX_SAY_CHARS)

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _language_code(value: JSONValue) -> str | None:
    ok = isinstance(value, str) and bool(_LANGUAGE.match(value))
    return None if ok else "must be a language code such as en or en-US"


LANGUAGE: Final = Constraints(max_length=16, check=_language_code)

VAD_PARAMS: Final = Constraints(
    properties={
        "confidence": Field("number", Constraints(minimum=0.05, maximum=1)),
        "start_secs": Field("number", Constraints(minimum=0, maximum=2)),
        "stop_secs": Field("number", Constraints(minimum=0, maximum=5)),
        "min_volume": Field("number", Constraints(minimum=0, maximum=1)),
    }
)


def max_tokens(cap: int = DEFAULT_MAX_TOKENS_CAP) -> Constraints:
    return Constraints(minimum=1, maximum=cap, integer=True)


def one_of(names: Sequence[str]) -> Constraints:
    """An allow-list of names (models, voices)."""
    return Constraints(choices=tuple(dict.fromkeys(names)))


def messages(roles: Sequence[str]) -> Constraints:
    """Chat messages of ``roles`` only, each ``{role, content}`` with string content."""
    message = Field(
        "object",
        Constraints(
            properties={
                "role": Field("string", Constraints(choices=tuple(roles)), required=True),
                "content": Field(
                    "string", Constraints(max_length=MAX_MESSAGE_CHARS), required=True
                ),
            }
        ),
    )
    return Constraints(max_items=MAX_MESSAGES, max_bytes=MAX_PROMPT_BYTES, items=message)


def _tool_problem(tool: JSONValue) -> str | None:
    if not isinstance(tool, dict):
        return "must be objects"
    fn = tool.get("function", tool) if tool.get("type", "function") == "function" else None
    if not isinstance(fn, dict):
        return 'must be {"type": "function", "function": {...}} or {"name", "parameters"}'
    name = fn.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        return "need a name of 1 to 64 letters, digits, _ or -"
    description = fn.get("description", "")
    if not isinstance(description, str) or len(description) > 1024:
        return "need a description of at most 1024 characters"
    params = fn.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        return 'need parameters that are a JSON schema of "type": "object"'
    if not isinstance(params.get("properties", {}), dict):
        return "need parameters whose properties are an object"
    required = params.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        return "need parameters whose required is an array of names"
    return None


def _tools_check(value: JSONValue) -> str | None:
    if not isinstance(value, list):
        return "must be an array"
    for tool in value:
        problem = _tool_problem(tool)
        if problem is not None:
            return f"entries {problem}"
    return None


TOOLS: Final = Constraints(max_items=MAX_TOOLS, max_bytes=MAX_TOOLS_BYTES, check=_tools_check)

PromptMode = Literal["client", "append", "server"]


@dataclass(frozen=True)
class PromptPolicy:
    """Who decides the LLM's prompt.

    - ``server``: the bot alone; ``initial_messages`` and ``messages`` are server-only.
    - ``append`` (the default bot's choice): the bot's system prompt always comes first;
      a client's ``initial_messages``/``messages`` (and the context actions) follow it.
    - ``client``: a client may replace the whole context.

    ``system`` lets a client send messages with the ``system`` role (never by default).
    """

    mode: PromptMode = "append"
    system: bool = False

    @property
    def client_writable(self) -> bool:
        return self.mode != "server"

    @property
    def client_roles(self) -> tuple[str, ...]:
        return ("system", "user", "assistant") if self.system else ("user", "assistant")

    @property
    def keeps_bot_prompt(self) -> bool:
        return self.mode == "append"


ALL_ROLES: Final = ("system", "user", "assistant")
