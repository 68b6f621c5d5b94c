"""Bot-to-client messages of both generations, as JSON-ready dicts.

Builders only: they do not decide *when* to send. Keys whose value would be
null are left out (as pipecat did), so messages without payload carry no
``data`` key; replies always carry the request's ``id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rtvi_server.protocol.config import Config
from rtvi_server.protocol.envelope import LABEL
from rtvi_server.protocol.values import JSONObject, JSONValue

OutboundMessage = JSONObject


def message(type_: str, data: JSONValue = None, *, id: str | None = None) -> OutboundMessage:
    """An envelope; ``data`` and ``id`` are included only when given."""
    out: OutboundMessage = {"label": LABEL, "type": type_}
    if id is not None:
        out["id"] = id
    if data is not None:
        out["data"] = data
    return out


def bot_ready_config(id: str, version: str, config: Config) -> OutboundMessage:
    """``bot-ready`` for config-generation clients: they hydrate from ``config``."""
    return message("bot-ready", {"version": version, "config": config.to_wire()}, id=id)


def bot_ready_modern(
    id: str,
    version: str,
    about: Mapping[str, JSONValue],
    capabilities: Mapping[str, JSONValue] | None = None,
) -> OutboundMessage:
    """``bot-ready`` for modern clients; ``capabilities`` (what media and metrics the
    bot has, as pipecat 1.14 reports them) when known."""
    data: dict[str, JSONValue] = {"version": version, "about": dict(about)}
    if capabilities is not None:
        data["capabilities"] = dict(capabilities)
    return message("bot-ready", data, id=id)


def config_available(id: str, services: Sequence[JSONValue]) -> OutboundMessage:
    return message("config-available", {"config": list(services)}, id=id)


def config_message(config: Config, *, id: str | None = None) -> OutboundMessage:
    """``config``: the full current config (a reply, or unsolicited after a bot-side change)."""
    return message("config", {"config": config.to_wire()}, id=id)


def actions_available(id: str, actions: Sequence[JSONValue]) -> OutboundMessage:
    return message("actions-available", {"actions": list(actions)}, id=id)


def action_response(id: str, result: JSONValue) -> OutboundMessage:
    return message("action-response", {"result": result}, id=id)


def error_response(id: str, error: str) -> OutboundMessage:
    return message("error-response", {"error": error}, id=id)


def error(error: str, *, fatal: bool = False) -> OutboundMessage:
    """Unsolicited ``error``; ``fatal`` means the session is ending."""
    return message("error", {"error": error, "fatal": fatal})


def server_message(data: JSONValue) -> OutboundMessage:
    return message("server-message", data)


def server_response(id: str, t: str, d: JSONValue) -> OutboundMessage:
    payload: JSONObject = {"t": t}
    if d is not None:
        payload["d"] = d
    return message("server-response", payload, id=id)
