"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

It streams a scripted reply as server-sent events, token by token, and records
every request (path, headers, JSON body) so tests can check what a real
``openai`` client inside a pipecat service sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .aioserve import serve


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class OpenAICompatibleServer:
    reply_tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " loopback", "."])
    requests: list[RecordedRequest] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> OpenAICompatibleServer:
        app = web.Application()
        app.router.add_post("/{prefix:.*}/chat/completions", self._chat)
        self._runner, self.port = await serve(app)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        base = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", ""),
        }
        first = {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
        }
        await response.write(f"data: {json.dumps(first)}\n\n".encode())
        for token in self.reply_tokens:
            chunk = {
                **base,
                "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(last)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
