"""The transports a start payload can name, each an object (see ``base``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rtvi_server.sessions.transports.base import Link, TransportKind
from rtvi_server.sessions.transports.daily import DailyKind, DailyLink
from rtvi_server.sessions.transports.text import TextKind, TextLink
from rtvi_server.sessions.transports.webrtc import (
    BadOfferError,
    UnknownPeerError,
    WebRTCKind,
    WebRTCLink,
    host_addresses_for,
)
from rtvi_server.sessions.transports.websocket import WebSocketKind, WebSocketLink
from rtvi_server.settings import IceServerSetting, TelephonySettings


def transport_kinds(
    host_addresses: Sequence[str] | None,
    ice_servers: Sequence[IceServerSetting] = (),
    telephony: TelephonySettings | None = None,
) -> Mapping[str, TransportKind]:
    """Every transport kind, by the name a start payload uses."""
    from rtvi_server.sessions.telephony import PROVIDERS, ProviderAPI, TelephonyKind

    api = ProviderAPI(telephony or TelephonySettings())
    kinds: list[TransportKind] = [
        WebRTCKind(host_addresses, ice_servers),
        WebSocketKind(),
        DailyKind(),
        TextKind(),
        *(TelephonyKind(provider, api) for provider in PROVIDERS),
    ]
    return {kind.name: kind for kind in kinds}


__all__ = [
    "BadOfferError",
    "DailyLink",
    "Link",
    "TextLink",
    "TransportKind",
    "UnknownPeerError",
    "WebRTCLink",
    "WebSocketLink",
    "host_addresses_for",
    "transport_kinds",
]
