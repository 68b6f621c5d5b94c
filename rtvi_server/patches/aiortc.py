"""aiortc (1.16): taking over an audio receiver's jitter buffer and decode stage,
and what the lean receive path reads from a receiver and its DTLS transport.

aiortc's ``RTCRtpReceiver`` keeps both in name-mangled fields: the jitter
buffer (which holds each audio packet until four later ones have arrived) and
the queue its decoder thread reads. The listening path replaces them (see
``rtvi_server.sessions.inline_audio``). Where these fields are missing, the
receiver is left as aiortc made it and audio takes the stock path.

The lean receive path (``rtvi_server.sessions.lean_receive``) needs the
transport's SRTP session (to unprotect packets itself), its ICE connection (to
tap the datagrams) and the receiver's per-source statistics (so that RTCP
receiver reports go on counting the packets it takes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from rtvi_server.patches.selfcheck import PatchReport, has_names, installed_version, warn_once

TESTED = ">=1.16,<1.17"
_JITTER = "_RTCRtpReceiver__jitter_buffer"
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_ENABLED = "_enabled"
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_warned = False


@functools.cache  # the installed code does not change under a running process
def report() -> PatchReport:
    try:
        from aiortc import RTCDtlsTransport, RTCIceTransport, RTCRtpReceiver
        from aiortc.rtp import RtpPacket
    except ImportError:
        return PatchReport("aiortc", "not installed", TESTED, ("aiortc",))
    missing = has_names(RTCRtpReceiver.__init__, _JITTER, _DECODER_QUEUE, _ENABLED)
    missing += has_names(
        RTCRtpReceiver._handle_rtp_packet, _JITTER, _DECODER_QUEUE, "_data", _REMOTE_STREAMS
    )
    missing += has_names(RTCDtlsTransport._recv_next, "_rx_srtp")
    missing += has_names(RTCIceTransport.__init__, "_connection")
    missing += has_names(RtpPacket.__init__, "sequence_number")
    return PatchReport("aiortc", installed_version("aiortc"), TESTED, tuple(missing))


def _usable(receiver: Any) -> bool:
    global _warned
    if hasattr(receiver, _JITTER) and hasattr(receiver, _DECODER_QUEUE):
        return True
    if not _warned:
        _warned = True
        warn_once(report(), "audio receivers keep aiortc's jitter buffer and decoder thread")
    return False


def replace_jitter_buffer(receiver: Any, make: Callable[[], Any], kind: type) -> bool:
    """Give ``receiver`` a jitter buffer from ``make`` unless it has a ``kind`` already."""
    if not _usable(receiver):
        return False
    if not isinstance(getattr(receiver, _JITTER), kind):
        setattr(receiver, _JITTER, make())
    return True


def replace_decode_stage(receiver: Any, make: Callable[[Any], Any], kind: type) -> bool:
    """Put ``make(current_queue)`` where the receiver hands frames to its decoder
    thread (unless a ``kind`` is there already), and enable the receiver."""
    if not _usable(receiver):
        return False
    current = getattr(receiver, _DECODER_QUEUE)
    if not isinstance(current, kind):
        setattr(receiver, _DECODER_QUEUE, make(current))
    setattr(receiver, _ENABLED, True)
    return True


def packet_frame_data(packet: Any) -> bytes:
    """The depayloaded frame aiortc stored on an RTP packet for its jitter buffer."""
    data: bytes = packet._data
    return data


def srtp_receive_session(dtls_transport: Any) -> Any | None:
    """The transport's inbound SRTP session (a ``pylibsrtp.Session``); ``None``
    until the DTLS handshake has keyed it."""
    return getattr(dtls_transport, "_rx_srtp", None)


def ice_connection(dtls_transport: Any) -> Any | None:
    """The aioice ``Connection`` under a DTLS transport's ICE transport."""
    return getattr(getattr(dtls_transport, "transport", None), "_connection", None)


def receive_statistics(receiver: Any, ssrc: int) -> Any | None:
    """The receiver's statistics for source ``ssrc`` (what its RTCP receiver
    reports are made from): ``add(packet)`` counts a packet, read for its
    ``sequence_number`` and ``timestamp``."""
    streams = getattr(receiver, _REMOTE_STREAMS, None)
    return streams.get(ssrc) if isinstance(streams, dict) else None
