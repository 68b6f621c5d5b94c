"""An in-process streaming LLM on llama.cpp, behind pipecat's OpenAI LLM service.

llama-cpp-python produces OpenAI-format chat-completion chunks. By giving
pipecat's ``OpenAILLMService`` a client that runs llama.cpp in a worker thread
and yields those chunks, the local model gets everything that service does
(context aggregation, settings updates, metrics, interruption) without an HTTP
server in between. One model instance per process, shared by all sessions;
generations on one model are serialised (llama.cpp contexts are not re-entrant).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import openai
from loguru import logger
from openai.types.chat import ChatCompletionChunk
from pipecat.services.openai.llm import OpenAILLMService

from rtvi_server.services.local_models import DEFAULT_LLM_MODEL, ModelCache, llm_model_path

_PASSED_THROUGH: Final = frozenset(
    {
        "messages",
        "temperature",
        "top_p",
        "seed",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "stop",
    }
)


@dataclass
class _LoadedLlama:
    llama: Any
    lock: threading.Lock


def _load_llama(name: str) -> _LoadedLlama:
    from llama_cpp import Llama

    source = llm_model_path(name)
    threads = max(1, (os.cpu_count() or 2) - 1)
    logger.info(f"loading LLM {name} from {source}")
    if isinstance(source, str):  # "owner/repo:file.gguf" on the hub
        repo, filename = source.split(":", 1)
        llama = Llama.from_pretrained(repo, filename, n_ctx=4096, n_threads=threads, verbose=False)
    else:
        llama = Llama(model_path=str(source), n_ctx=4096, n_threads=threads, verbose=False)
    return _LoadedLlama(llama, threading.Lock())


def _gguf_bytes(name: str) -> int:
    source = llm_model_path(name)
    return source.stat().st_size if isinstance(source, Path) else 0


LLAMA_MODELS: ModelCache[_LoadedLlama] = ModelCache(_load_llama, size_of=_gguf_bytes)


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models while the interpreter is whole; their finalizers
    # fail if they run during shutdown.
    for loaded in LLAMA_MODELS.loaded():
        loaded.llama.close()


def _is_given(value: Any) -> bool:
    return value is not None and not isinstance(value, openai.NotGiven | openai.Omit)


class _ChunkStream:
    """Chunks from a llama.cpp generation running in a worker thread."""

    def __init__(self, model: _LoadedLlama, kwargs: dict[str, Any]) -> None:
        self._model = model
        self._kwargs = kwargs
        self._queue: asyncio.Queue[ChatCompletionChunk | BaseException | None] = asyncio.Queue()
        self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._generate, name="llama-generate", daemon=True)
        self._thread.start()

    def _put(self, item: ChatCompletionChunk | BaseException | None) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _generate(self) -> None:
        try:
            with self._model.lock:
                chunks: Iterator[dict[str, Any]] = self._model.llama.create_chat_completion(
                    stream=True, **self._kwargs
                )
                for chunk in chunks:
                    if self._stop.is_set():
                        break
                    self._put(ChatCompletionChunk.model_validate(chunk))
            self._put(None)
        except BaseException as exc:  # reported to the awaiting side
            self._put(exc)

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ChatCompletionChunk]:
        try:
            while (item := await self._queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()

    async def close(self) -> None:
        self._stop.set()


class _Completions:
    async def create(self, **params: Any) -> _ChunkStream:
        model = await asyncio.to_thread(LLAMA_MODELS.get, str(params.get("model")))
        kwargs = {k: v for k, v in params.items() if k in _PASSED_THROUGH and _is_given(v)}
        if "max_tokens" not in kwargs and _is_given(params.get("max_completion_tokens")):
            kwargs["max_tokens"] = params["max_completion_tokens"]
        if params.get("tools") and _is_given(params["tools"]):
            logger.debug("local LLM: tool definitions are not passed to llama.cpp")
        return _ChunkStream(model, kwargs)


class _Chat:
    def __init__(self) -> None:
        self.completions = _Completions()


class _InProcessClient:
    """The slice of ``AsyncOpenAI`` that pipecat's streaming path uses."""

    def __init__(self) -> None:
        self.chat = _Chat()


class LocalLlamaLLMService(OpenAILLMService):
    """SmolLM2-135M-Instruct by default; ``model`` may name another GGUF (path or hub)."""

    supports_developer_role = False

    def __init__(self, *, model: str = DEFAULT_LLM_MODEL, **kwargs: Any) -> None:
        super().__init__(settings=OpenAILLMService.Settings(model=model), api_key="local", **kwargs)

    @staticmethod
    def preload(model: str) -> None:
        """Load ``model`` into the process cache (call from a thread, before building)."""
        LLAMA_MODELS.get(model)

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        return _InProcessClient()

    async def warm_up(self) -> None:
        """Load the model now instead of on the first turn."""
        await asyncio.to_thread(LLAMA_MODELS.get, str(cast(Any, self.settings).model))
