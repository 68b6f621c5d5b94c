"""The bot-file contract.

A bot file is a Python module in the bots directory that defines::

    async def create_bot(args: BotArgs) -> Bot

``args`` carries what the start payload chose (``services``: service name to
provider name; ``api_keys``: provider name to key, for constructors only;
``config``: the trusted start-time config) and the session's transport. The
bot builds its services, registers its RTVI services and actions on an
``RTVIProcessor`` created with ``config=args.config``, builds the pipeline
around ``args.transport`` and returns the worker that runs it. The server owns
the rest: running it, ending it, and telling the client.

This is the seed's ``main(services, api_keys)``, made explicit.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pipecat.pipeline.worker import PipelineWorker

from rtvi_server.processor import ListeningGate, RTVIProcessor
from rtvi_server.protocol import EMPTY_CONFIG, Config, JSONValue


@dataclass(frozen=True)
class BotArgs:
    transport: Any
    services: Mapping[str, str] = field(default_factory=dict)
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    config: Config = EMPTY_CONFIG
    session_id: str = "local"
    body: Mapping[str, JSONValue] = field(default_factory=dict)

    def start_value(self, service: str, option: str) -> JSONValue:
        """A value the start config sets, or ``None``."""
        found = self.config.get(service, option)
        return None if found is None else found.value

    def provider(self, service: str, default: str) -> str:
        return self.services.get(service, default)


@dataclass
class Bot:
    """What ``create_bot`` returns.

    ``listening_gate``: a gate whose only upstream neighbours (up to the transport's
    input) ignore the user's audio, as the RTVI processor does; the session's
    transport may then run it where the audio enters, so that audio nobody needs
    never enters pipecat at all.
    """

    worker: PipelineWorker
    rtvi: RTVIProcessor
    resources: dict[str, Any] = field(default_factory=dict)
    listening_gate: ListeningGate | None = None


CreateBot = Callable[[BotArgs], Awaitable[Bot]]


class BotFileError(ValueError):
    """A bot profile that does not exist or does not follow the contract."""


_loaded: dict[Path, tuple[int, CreateBot]] = {}


def load_bot_file(path: Path) -> CreateBot:
    """A bot file's ``create_bot``, imported once (again when the file changes)."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise BotFileError(f"no bot file {path.name!r}") from None
    cached = _loaded.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    create = _import_bot_file(path)
    _loaded[path] = (mtime, create)
    return create


def _import_bot_file(path: Path) -> CreateBot:
    spec = importlib.util.spec_from_file_location(f"rtvi_bots.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise BotFileError(f"cannot import bot file {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    create = getattr(module, "create_bot", None)
    if create is None or not inspect.iscoroutinefunction(create):
        raise BotFileError(f"bot file {path.name} must define `async def create_bot(args)`")
    return create  # type: ignore[no-any-return]
