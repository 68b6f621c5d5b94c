"""Reading a JSON request body: bounded in size, strict JSON, named refusals."""

from __future__ import annotations

import json
import math

from fastapi import Request

from rtvi_server.sessions.api import APIError

NOT_JSON = "the body is not valid JSON"


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError("a number out of range")
    return value


def parse_json(raw: bytes) -> object:
    """Strict JSON: UTF-8, finite numbers, no lone surrogates (``"\\ud800"``, which
    no response could carry back); :class:`APIError` 400 otherwise."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants, parse_float=_finite)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise APIError(400, NOT_JSON, field="body") from None
    return value


async def read_bytes(request: Request, *, max_bytes: int) -> bytes:
    """The request's body, refused with a 413 past ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise APIError(413, f"the body is larger than {max_bytes} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise APIError(413, f"the body is larger than {max_bytes} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, max_bytes: int, empty: object = None) -> object:
    """The request's JSON body; ``empty`` for a body of only whitespace."""
    raw = await read_bytes(request, max_bytes=max_bytes)
    if not raw.strip():
        return empty
    return parse_json(raw)
