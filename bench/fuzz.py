"""Fuzz: generated hostile requests against a live server; no 5xx, no traceback, still serving.

    .venv/bin/python -m bench.fuzz                   # 100,000 cases (the documented long run)
    .venv/bin/python -m bench.fuzz --cases 20000     # what CI runs (tests/bench/test_fuzz.py)

A seeded generator mutates valid requests (start payloads, offers, candidate
patches, session paths, WebSocket frames) with hostile values: wrong types, huge
and deep structures, non-finite and huge numbers, odd Unicode, path tricks,
bodies that are not JSON or not UTF-8, oversized bodies. Every HTTP answer must
be below 500, carry no exception text (a class name, a traceback, a file path)
and never echo a key; the server's log must have no traceback; at the end the
server still answers ``/health`` and runs a real session.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.server import ROOT, ServerUnderTest

SENTINEL_KEY = "sk-FUZZ-SENTINEL-7d1e"
LEAKS = re.compile(r"Traceback|\b[A-Z][A-Za-z]+(Error|Exception)\b|site-packages|\.py\b|File \"")
#: The real request a session must still answer after the garbage.
AFTER = {"label": "rtvi-ai", "type": "get-config", "id": "after", "data": {}}
HOSTILE_STRINGS = (
    "", " ", "a" * 5000, "../../etc/passwd", "/etc/passwd", "..", "%2e%2e%2f", "\x00", "\u202e",
    "😀" * 50, "\ud800", "null", "None", "{}", "[]", "<script>", "'; DROP TABLE x; --",
    "C:\\Windows", "owner/repo:file.gguf", "http://127.0.0.1:1/", "echo", "default",
    "broken_start ", "raising/../echo", "ECHO", "llm", "together", "webrtc", "websocket",
)  # fmt: skip
HOSTILE_NUMBERS = (0, -1, 1, 2.5, -0.0, 1e308, -1e308, 10**30, 2**63, 0.1, 86401, 600)
PATHS = ("/start", "/connect", "/api/offer", "/sessions", "/health", "/metrics", "/docs")


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(HOSTILE_STRINGS)
    if roll < 0.5:
        return rng.choice(HOSTILE_NUMBERS)
    if roll < 0.6:
        return rng.choice((True, False, None))
    if roll < 0.8:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(HOSTILE_STRINGS): hostile_value(rng, depth + 1) for _ in range(3)}


def valid_start(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if rng.random() < 0.5:
        body["services"] = {"llm": rng.choice(("local", "together", "openai", "groq"))}
    if rng.random() < 0.5:
        body["api_keys"] = {"together": SENTINEL_KEY, "openai": SENTINEL_KEY}
    if rng.random() < 0.5:
        value = hostile_value(rng)
        body["config"] = [{"service": "llm", "options": [{"name": "model", "value": value}]}]
    if rng.random() < 0.3:
        body["max_duration"] = rng.choice(HOSTILE_NUMBERS)
    if rng.random() < 0.3:
        body["transport"] = rng.choice(("webrtc", "websocket", "daily", "sms"))
    return body


def mutate(rng: random.Random, body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = dict(body)
    for _ in range(rng.randint(1, 3)):
        out[rng.choice(keys)] = hostile_value(rng)
    return out


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def raw_body(rng: random.Random) -> bytes:
    return rng.choice(
        (
            b"", b"{", b"not json", b"\xff\xfe\x00", b"[1,2,3]", b"42", b'"text"', b"null",
            b'{"max_duration": NaN}', b'{"max_duration": 1e999}', b'{"a": "\\ud800"}',
            deep(rng.choice((50, 5000, 200000))), b"{" + b'"k":1,' * 20000 + b'"z":0}',
            b'{"bot_profile": "' + b"a" * 70000 + b'"}', b"1" * 5000,
        )
    )  # fmt: skip


@dataclass
class Case:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def start_case(rng: random.Random) -> Case:
    path = rng.choice(("/start", "/connect"))
    if rng.random() < 0.25:
        return Case("POST", path, raw_body(rng))
    body: Any = valid_start(rng)
    keys = ("bot_profile", "services", "api_keys", "config", "max_duration", "transport", "body")
    if rng.random() < 0.8:
        body = mutate(rng, body, keys)
    if rng.random() < 0.1:
        body = {"transport": "webrtc", "body": body}
    return Case("POST", path, json.dumps(body).encode())


def offer_case(rng: random.Random, session_ids: list[str]) -> Case:
    sid = rng.choice([*session_ids, *HOSTILE_STRINGS[:6], "0" * 32])
    path = rng.choice((f"/sessions/{sid}/api/offer", "/api/offer"))
    method = rng.choice(("POST", "PATCH"))
    if rng.random() < 0.25:
        return Case(method, path, raw_body(rng))
    if method == "POST":
        body = {
            "sdp": rng.choice(("v=0\r\n", "hello", "v=0\r\nm=audio 9 RTP/AVP 0\r\n")),
            "type": "offer",
        }
        keys: tuple[str, ...] = ("sdp", "type", "pc_id", "restart_pc", "requestData")
    else:
        body = {
            "pc_id": "nope",
            "candidates": [{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"}],
        }
        keys = ("pc_id", "candidates")
    return Case(method, path, json.dumps(mutate(rng, body, keys)).encode())


def session_case(rng: random.Random, session_ids: list[str]) -> Case:
    tail = rng.choice([*session_ids, *HOSTILE_STRINGS, "x" * 3000, "%00", "..%2f..%2f"])
    method = rng.choice(("GET", "DELETE", "PUT", "POST", "OPTIONS"))
    if rng.random() < 0.2:
        return Case("GET", f"/sessions?state={rng.choice(HOSTILE_STRINGS)}")
    if rng.random() < 0.2:
        return Case(method, rng.choice(PATHS) + "/" + tail)
    return Case(method, f"/sessions/{tail}")


def phone_case(rng: random.Random, session_ids: list[str]) -> Case:
    """Voice webhooks (unsigned or mis-signed), dial-outs, and seed HTTP actions."""
    roll = rng.random()
    if roll < 0.4:
        provider = rng.choice(("twilio", "telnyx", "plivo", "skype", "twilio/../start"))
        form = {rng.choice(("To", "From", "CallSid")): str(rng.choice(HOSTILE_STRINGS))}
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode(errors="replace")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            rng.choice(("X-Twilio-Signature", "X-Plivo-Signature-V3", "telnyx-signature-ed25519")):
            "".join(c for c in str(rng.choice(HOSTILE_STRINGS)) if " " <= c <= "~"),
        }  # fmt: skip
        return Case("POST", f"/telephony/{provider}", body, headers)
    if roll < 0.6:
        sid = rng.choice([*session_ids, "0" * 32])
        return Case("POST", f"/telephony/plivo/calls/{sid}", b"To=1", {})
    if roll < 0.8:
        call = {"provider": "twilio", "to": "+15550100", "from": "+15550101", "bot": {}}
        keys = ("provider", "to", "from", "bot")
        return Case("POST", "/calls", json.dumps(mutate(rng, call, keys)).encode())
    action = {"label": "rtvi-ai", "type": "action", "id": "f", "data": {"service": "llm"}}
    body = {"actions": [mutate(rng, action, ("type", "id", "data"))], **valid_start(rng)}
    if rng.random() < 0.5:
        body = mutate(rng, body, ("actions", "bot_profile", "services", "config"))
    return Case("POST", "/action", json.dumps(body).encode())


def header_case(rng: random.Random) -> Case:
    value = rng.choice(
        ("Bearer ", "Bearer x" * 500, "Basic abc", "\u00ff", "Bearer " + SENTINEL_KEY)
    )
    return Case(rng.choice(("GET", "POST")), rng.choice(PATHS), b"{}", {"Authorization": value})


@dataclass
class FuzzResult:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0


def check(case: Case, status: int, text: str, result: FuzzResult) -> None:
    result.statuses[status] += 1
    if status >= 500:
        result.problems.append(f"{status} for {case.method} {case.path[:80]}: {text[:200]}")
    found = LEAKS.search(text)
    if found and not case.path.startswith("/docs") and not case.path.startswith("/openapi"):
        result.problems.append(f"leak {found.group(0)!r} in {case.method} {case.path[:80]}")
    if SENTINEL_KEY in text:
        result.problems.append(f"key echoed by {case.method} {case.path[:80]}")


async def send(http: aiohttp.ClientSession, url: str, case: Case, result: FuzzResult) -> None:
    headers = {"Content-Type": "application/json", **case.headers}
    try:
        async with http.request(
            case.method, url + case.path, data=case.body, headers=headers, allow_redirects=False
        ) as r:
            text = await r.text(errors="replace")
            check(case, r.status, text, result)
    except (aiohttp.ClientError, TimeoutError) as exc:
        result.problems.append(f"no answer to {case.method} {case.path[:80]}: {exc!r}")
    result.cases += 1


async def start_admitted(http: aiohttp.ClientSession, url: str, body: object) -> dict[str, Any]:
    """A start that waits its turn while the server is at its cap (429 with Retry-After)."""
    deadline = time.monotonic() + 30
    while True:
        async with http.post(url + "/start", json=body) as r:
            answer = await r.json()
            if r.status == 200:
                return dict(answer)
            if r.status != 429 or time.monotonic() > deadline:
                raise RuntimeError(f"start refused ({r.status}): {answer}")
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class SocketCodec:
    """How one socket transport carries RTVI messages, for the garbage run."""

    transport: str
    raw_share: float  # the share of frames that are random bytes
    message: Callable[[random.Random, int], dict[str, Any]]
    send: Callable[[aiohttp.ClientWebSocketResponse, dict[str, Any]], Awaitable[None]]
    read: Callable[[aiohttp.WSMessage], Awaitable[Any]]
    kind: aiohttp.WSMsgType
    what: str


def websocket_codec() -> SocketCodec:
    """pipecat's protobuf frames over a WebSocket."""
    from pipecat.frames.frames import OutputTransportMessageUrgentFrame
    from pipecat.serializers.protobuf import ProtobufFrameSerializer

    serializer = ProtobufFrameSerializer()

    def message(rng: random.Random, i: int) -> dict[str, Any]:
        kind = rng.choice(("client-ready", "update-config", "action", "get-config", "x", 5))
        return {"label": "rtvi-ai", "type": kind, "id": f"f{i}", "data": hostile_value(rng)}

    async def send(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> None:
        frame = OutputTransportMessageUrgentFrame(message=message)
        await ws.send_bytes(await serializer.serialize(frame))

    async def read(reply: aiohttp.WSMessage) -> Any:
        return getattr(await serializer.deserialize(reply.data), "message", None)

    return SocketCodec(
        "websocket", 0.3, message, send, read, aiohttp.WSMsgType.BINARY, "websocket session"
    )


def text_codec() -> SocketCodec:
    """RTVI JSON over a WebSocket (the ``text`` transport)."""

    def message(rng: random.Random, i: int) -> dict[str, Any]:
        kind = rng.choice(("client-ready", "action", "rtvi-server-flush", "x", 5))
        message = {"label": "rtvi-ai", "type": kind, "id": hostile_value(rng)}
        if rng.random() < 0.7:
            message["data"] = hostile_value(rng)
        return message

    async def send(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(message))

    async def read(reply: aiohttp.WSMessage) -> Any:
        return json.loads(reply.data)

    return SocketCodec("text", 0.2, message, send, read, aiohttp.WSMsgType.TEXT, "text session")


async def socket_frames(
    url: str, rng: random.Random, frames: int, result: FuzzResult, codec: SocketCodec
) -> None:
    """A socket session fed garbage frames and hostile RTVI messages; it must go on."""
    async with aiohttp.ClientSession() as http:
        ws_url = (await start_admitted(http, url, {"transport": codec.transport}))["ws_url"]
        async with http.ws_connect(ws_url) as ws:
            for i in range(frames):
                roll = rng.random()
                if roll < codec.raw_share:
                    await ws.send_bytes(rng.randbytes(rng.randint(0, 300)))
                elif roll < 0.4:
                    await ws.send_str(json.dumps(hostile_value(rng)))
                else:
                    await codec.send(ws, codec.message(rng, i))
                result.frames += 1
            # The session answers a real request after all that.
            await codec.send(ws, AFTER)
            await still_answers(ws, codec, result)


async def still_answers(
    ws: aiohttp.ClientWebSocketResponse, codec: SocketCodec, result: FuzzResult
) -> None:
    """After the garbage, the request ``AFTER`` (sent) must be answered, and no
    message on the way may leak a key or a dependency's text."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        reply = await ws.receive(timeout=15)
        if reply.type != codec.kind:
            result.problems.append(f"{codec.what} closed after garbage: {reply.type}")
            return
        message = await codec.read(reply)
        if not isinstance(message, dict):
            continue
        if LEAKS.search(json.dumps(message)):
            result.problems.append(f"leak in a {codec.what} message: {message}"[:300])
        if message.get("id") == "after":
            return
    result.problems.append(f"the {codec.what} stopped answering")


def case_maker(seed: int) -> Callable[[list[str]], Case]:
    rng = random.Random(seed)

    def make(session_ids: list[str]) -> Case:
        roll = rng.random()
        if roll < 0.35:
            return start_case(rng)
        if roll < 0.6:
            return offer_case(rng, session_ids)
        if roll < 0.8:
            return session_case(rng, session_ids)
        if roll < 0.95:
            return phone_case(rng, session_ids)
        return header_case(rng)

    return make


async def run_fuzz(
    url: str, cases: int, *, seed: int = 1, concurrency: int = 8, frames: int = 500
) -> FuzzResult:
    result = FuzzResult()
    t0 = time.monotonic()
    make = case_maker(seed)
    async with aiohttp.ClientSession() as http:
        session_ids = [(await start_admitted(http, url, {}))["sessionId"]]
        remaining = iter(range(cases))

        async def worker() -> None:
            for _ in remaining:
                await send(http, url, make(session_ids), result)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    await socket_frames(url, random.Random(seed + 1), frames, result, websocket_codec())
    await socket_frames(url, random.Random(seed + 2), frames, result, text_codec())
    result.seconds = time.monotonic() - t0
    return result


def fuzz_server(port: int, log_path: Path) -> ServerUnderTest:
    """The light echo bot (RTVI only), sessions ending a second after nobody connects."""
    env = {"RTVI_CONNECT_TIMEOUT": "1", "RTVI_MAX_SESSIONS": "8", "RTVI_IDLE_TIMEOUT": "0"}
    bots = ROOT / "tests" / "server" / "bots"
    return ServerUnderTest(port, log_path, env=env, bots_dir=bots, profile="echo")


async def still_serving(url: str) -> bool:
    """``/health`` answers and a real WebRTC session reaches bot-ready and serves config."""
    from rtvi_server.testing.webrtc_client import WebRTCTestClient

    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:  # the fuzz's own sessions end a second after nobody connects
            async with http.get(url + "/health") as r:
                health = await r.json()
            if r.status != 200 or time.monotonic() > deadline:
                return False
            if health["active_sessions"] < health["max_sessions"]:
                break
            await asyncio.sleep(0.2)
    async with WebRTCTestClient(url) as client:
        await client.start({})
        await client.connect()
        ready = await client.request("client-ready", {}, timeout=20)
        config = await client.request("get-config")
    return ready["type"] == "bot-ready" and config["type"] == "config"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    from bench.server import free_port
    from rtvi_server.patches.aioice import use_by_default

    use_by_default(["127.0.0.1"])
    log = ROOT / "bench" / "results" / "fuzz-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = fuzz_server(free_port(), log).wait_ready()
    try:
        result = asyncio.run(run_fuzz(server.url, args.cases, seed=args.seed, frames=args.frames))
        healthy = asyncio.run(still_serving(server.url))
    finally:
        server.stop()
    tracebacks = log.read_text().count("Traceback")
    print(f"{result.cases} requests and {result.frames} WebSocket frames in {result.seconds:.0f} s")
    print("statuses:", dict(sorted(result.statuses.items())))
    print(f"problems: {len(result.problems)}; tracebacks in the log: {tracebacks}")
    print(f"still serving /health and a real session: {healthy}")
    for problem in result.problems[:20]:
        print(" ", problem)


if __name__ == "__main__":
    main()
