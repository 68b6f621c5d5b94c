"""The peer's audio packets, from the socket to the Opus decoder in one call.

Stock path, per 20 ms packet: aioice tries to parse the datagram as STUN, queues
it for the DTLS transport's reader task (a task wake-up per packet), which
unprotects it, parses the whole RTP header (extensions included), routes it,
and the receiver then stamps its sources, counts it, depayloads it and hands it
to the jitter buffer and the decode stage. ``LeanReceive`` is offered each
datagram where the socket delivers it and, for the one audio source it knows,
does only what a listener needs: unprotect (libsrtp), read the fixed header,
count the packet in the receiver's statistics (so RTCP receiver reports stay
true), drop what arrives out of order, and decode.

It learns its source from aiortc: the first audio packets take the stock path,
and once one has been routed to this session's receiver and decoded as Opus,
packets with that SSRC and payload type come the lean way. Everything else
(DTLS, RTCP, other sources and payload types, and any packet while aioice's
queue still holds one) goes aiortc's way, so order is kept and RTCP, NACK and
PLI work as they did. The DTLS transport's packet and byte counters and the
receiver's record of active sources (``getSynchronizationSources``) are credited
every ``CREDIT_PACKETS`` packets (a second of audio) rather than per packet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import pylibsrtp

from rtvi_server.audio.rtp import FIXED_HEADER, parse_rtp
from rtvi_server.patches import aioice as aioice_patches
from rtvi_server.patches import aiortc as aiortc_patches

RTCP_TYPES = range(192, 224)  # second byte of an RTCP packet (RFC 5761, section 4)
#: Packets between credits to aiortc's transport counters and source record.
CREDIT_PACKETS = 50


class PacketOrder(Protocol):
    """Says whether a packet with this sequence number should still be heard."""

    def admit(self, sequence: int) -> bool: ...


class LeanReceive:
    """The lean path for one source: call it with a datagram; True if it took it."""

    def __init__(
        self,
        srtp: Any,
        ssrc: int,
        payload_type: int,
        order: PacketOrder,
        decode: Callable[[bytes], None],
        statistics: Any | None,
        credit: Callable[[int, int], None] | None = None,
    ) -> None:
        """``credit(packets, bytes)``: counts taken packets where aiortc counts its own."""
        self._srtp = srtp
        self._ssrc = ssrc.to_bytes(4, "big")
        self._second_bytes = (payload_type, payload_type | 0x80)  # marker bit clear or set
        self._order = order
        self._decode = decode
        self._statistics = statistics
        self._credit = credit or _uncounted
        self._uncredited = 0
        self._uncredited_bytes = 0
        self.packets = 0

    def __call__(self, data: bytes) -> bool:
        if len(data) < FIXED_HEADER or data[1] not in self._second_bytes:
            return False
        if data[8:12] != self._ssrc:
            return False
        self._uncredited += 1
        self._uncredited_bytes += len(data)
        if self._uncredited >= CREDIT_PACKETS:
            self._credit(self._uncredited, self._uncredited_bytes)
            self._uncredited = self._uncredited_bytes = 0
        try:
            plain = self._srtp.unprotect(data)
        except pylibsrtp.Error:
            return True  # a replay or a forgery: aiortc drops it too
        parsed = parse_rtp(plain)
        if parsed is None:
            return True
        header, payload = parsed
        self.packets += 1
        if self._statistics is not None:
            self._statistics.add(header)
        if self._order.admit(header.sequence_number):
            self._decode(payload)
        return True


def _uncounted(packets: int, size: int) -> None:
    """Where no one keeps aiortc's counters for the lean path."""


def tappable(payload_type: int) -> bool:
    """An RTP payload type whose packets, marker bit set or not, no RTCP packet shares
    a second byte with (RTCP types 192-223 would match 64-95)."""
    return 0 <= payload_type < 128 and (payload_type | 0x80) not in RTCP_TYPES


def start_lean_receive(
    receiver: Any,
    ssrc: int,
    payload_type: int,
    order: PacketOrder,
    decode: Callable[[bytes], None],
) -> LeanReceive | None:
    """Tap ``receiver``'s ICE connection for packets from ``ssrc`` with ``payload_type``.

    ``None`` where it cannot (SRTP not keyed yet, a payload type that could be
    mistaken for RTCP, aiortc's or aioice's names moved): audio keeps the stock path.
    """
    if not tappable(payload_type):
        return None
    dtls = getattr(receiver, "transport", None)
    srtp = aiortc_patches.srtp_receive_session(dtls)
    connection = aiortc_patches.ice_connection(dtls)
    if srtp is None or connection is None:
        return None
    statistics = aiortc_patches.receive_statistics(receiver, ssrc)
    credit = functools.partial(aiortc_patches.credit_received, dtls, receiver, ssrc)
    lean = LeanReceive(srtp, ssrc, payload_type, order, decode, statistics, credit)
    return lean if aioice_patches.tap_datagrams(connection, lean) else None
