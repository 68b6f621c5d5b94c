"""The RTVI envelope: ``{"label": "rtvi-ai", "type", "id", "data"}``.

Decoding is total: any input (text, bytes, an already-parsed object, garbage)
yields an :class:`Envelope`, an :class:`Ignored` marker for traffic that is not
RTVI (other applications may share the data channel), or a
:class:`ProtocolError` that says precisely what is wrong and carries the request
id when one could be recovered, so the caller can answer with
``error-response`` rather than a bare ``error``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from rtvi_server.protocol.values import JSONValue, json_type_name

LABEL: Final = "rtvi-ai"
DEFAULT_MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_ID_LENGTH: Final = 128

_ID_PEEK: Final = re.compile(r'"id"\s*:\s*"([^"\\]{1,128})"')


@dataclass(frozen=True, slots=True)
class Envelope:
    """A well-formed RTVI message. ``data`` is ``None`` when absent or null."""

    type: str
    id: str | None
    data: JSONValue


@dataclass(frozen=True, slots=True)
class Ignored:
    """Input that is not addressed to RTVI and is dropped without a reply."""

    reason: str


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """A message that claims to be RTVI but cannot be served.

    ``id`` is the request id when one was recovered (answer with
    ``error-response``), otherwise ``None`` (answer with a non-fatal ``error``).
    """

    reason: str
    id: str | None = None


DecodeResult = Envelope | Ignored | ProtocolError


def decode(raw: object, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> DecodeResult:
    """Turn one inbound transport message into an envelope or a typed error."""
    if isinstance(raw, bytes | bytearray | memoryview):
        raw_bytes = bytes(raw)
        if len(raw_bytes) > max_bytes:
            return _oversized(
                len(raw_bytes), max_bytes, raw_bytes[:4096].decode("utf-8", "replace")
            )
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return ProtocolError("message is not valid UTF-8 text")
    if isinstance(raw, str):
        return _decode_text(raw, max_bytes)
    if isinstance(raw, Mapping):
        size = _encoded_size(raw)
        if size is None:
            # A parser that accepts NaN, Infinity or 1e999 (Python's) handed this over.
            peek_id = raw.get("id")
            return ProtocolError(NOT_JSON_NUMBER, _replyable(peek_id))
        if size > max_bytes:
            peek_id = raw.get("id")
            return _oversized(size, max_bytes, "", peek_id if isinstance(peek_id, str) else None)
        return _from_object(raw)
    if isinstance(raw, list | int | float | bool) or raw is None:
        return Ignored(f"a JSON {json_type_name(raw)} is not an RTVI message")
    return ProtocolError(f"unsupported message payload of type {type(raw).__name__}")


def _decode_text(text: str, max_bytes: int) -> DecodeResult:
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        return _oversized(size, max_bytes, text[:4096])
    stripped = text.strip()
    if stripped.startswith("ping"):
        return Ignored("keep-alive ping")
    try:
        parsed = json.loads(stripped, parse_constant=_reject_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        # An id still readable in the text gets its error-response.
        match = _ID_PEEK.search(stripped[:4096])
        return ProtocolError("message is not valid JSON", match.group(1) if match else None)
    if not isinstance(parsed, dict):
        return Ignored(f"a JSON {json_type_name(parsed)} is not an RTVI message")
    return _from_object(parsed)


NOT_JSON_NUMBER: Final = "message holds a number JSON cannot carry (NaN, Infinity or out of range)"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("a number out of range")
    return value


def _replyable(raw_id: object) -> str | None:
    """``raw_id`` if a reply can carry it back (a short string of valid Unicode)."""
    if not isinstance(raw_id, str) or not raw_id or len(raw_id) > MAX_ID_LENGTH:
        return None
    try:
        raw_id.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return raw_id


def _from_object(obj: Mapping[object, object]) -> DecodeResult:
    label = obj.get("label")
    if label != LABEL:
        return Ignored("no rtvi-ai label" if label is None else f"label {label!r} is not RTVI")
    raw_id = obj.get("id")
    msg_id: str | None = None
    id_problem: str | None = None
    if raw_id is None:
        id_problem = 'message has no "id"'
    elif not isinstance(raw_id, str):
        id_problem = f'"id" must be a string, got {json_type_name(raw_id)}'
    elif not raw_id or len(raw_id) > MAX_ID_LENGTH:
        id_problem = f'"id" must be 1 to {MAX_ID_LENGTH} characters'
    elif _replyable(raw_id) is None:
        id_problem = '"id" must be valid Unicode text'
    else:
        msg_id = raw_id
    msg_type = obj.get("type")
    if not isinstance(msg_type, str) or not msg_type:
        found = "missing" if msg_type is None else f"a {json_type_name(msg_type)}"
        return ProtocolError(f'"type" must be a non-empty string, got {found}', msg_id)
    if id_problem is not None:
        return ProtocolError(f"{msg_type}: {id_problem}")
    data = obj.get("data")
    if data is not None and not isinstance(data, dict):
        return ProtocolError(
            f'{msg_type}: "data" must be an object, got {json_type_name(data)}', msg_id
        )
    return Envelope(type=msg_type, id=msg_id, data=data)


def _encoded_size(obj: Mapping[object, object]) -> int | None:
    try:
        return len(json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return None


def _oversized(size: int, limit: int, head: str, msg_id: str | None = None) -> ProtocolError:
    if msg_id is None:
        match = _ID_PEEK.search(head)
        msg_id = match.group(1) if match else None
    return ProtocolError(f"message of {size} bytes exceeds the limit of {limit} bytes", msg_id)


def encode(message: Mapping[str, object]) -> str:
    """Serialise an outbound message as compact JSON text."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
