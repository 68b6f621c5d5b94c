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

A receiver starts a decoder thread when it starts receiving; where its decoder
queue is the inline stage, that thread would only wait for the stop.
:func:`no_decoder_thread_for` gives such receivers a stand-in that runs
nothing and, when aiortc joins it at the stop, ends the receiver's track as the
thread would have: no thread per session, and no start-up wait for one (the
event loop blocks in ``Thread.start`` until the new thread runs, about 4% of a
burst of 32 session starts here).

An ``RTCRtpSender`` encodes each 10 ms audio frame in the event loop's default
thread pool, which every session of the process shares. The encode is short
(about 0.1 ms), but each job has to win the GIL back from a busy event loop
(up to the 5 ms switch interval, twice a job) and hand its result back through
the loop's wake-up pipe, so with many bots speaking the pool's queue grows and
their audio goes out late. :func:`encode_inline` runs a sender's encoder on the
loop instead, through the one name the sender reads its loop by.
:func:`use_encoder` gives a sender whose transceiver negotiated Opus the
encoder it would otherwise make itself at its first frame, and
:func:`use_audio_level` has senders compute each frame's RFC 6464 level with the
project's function instead of aiortc's loop over samples (the same value).

Each ``RTCPeerConnection`` makes itself a new DTLS certificate (an EC key and a
signed x509 certificate), and each of its DTLS transports builds a new
``SSL.Context`` from it, converting that key and certificate for pyOpenSSL:
together about 1 ms of a session's start here, paid again by every session of a
burst. :func:`share_certificate` has the process's peer connections share one
certificate, made anew each day (aiortc's are valid for 30), whose contexts are
built once per SRTP profile list. What keeps sessions apart is unchanged: each
handshake agrees its own ephemeral (ECDHE) keys, and the shared contexts keep no
session cache, so no handshake resumes another's.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import threading
from collections.abc import Callable
from typing import Any

from rtvi_server.patches.selfcheck import PatchReport, has_names, installed_version, warn_once

TESTED = ">=1.16,<1.17"
_JITTER = "_RTCRtpReceiver__jitter_buffer"
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_ENABLED = "_enabled"
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
_SENDER_LOOP = "_RTCRtpSender__loop"
_SENDER_ENCODER = "_RTCRtpSender__encoder"
_NEGOTIATED = "_codecs"
_AUDIO_LEVEL = "compute_audio_level_dbov"
_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
_ACTIVE_SSRC = "_RTCRtpReceiver__active_ssrc"
_SSL_CONTEXT = "_create_ssl_context"
_LOCAL_CERTIFICATE = "_RTCDtlsTransport__local_certificate"
_warned = False


@functools.cache  # the installed code does not change under a running process
def report() -> PatchReport:
    try:
        from aiortc import (
            RTCCertificate,
            RTCDtlsTransport,
            RTCIceTransport,
            RTCPeerConnection,
            RTCRtpReceiver,
            RTCRtpSender,
            RTCRtpTransceiver,
        )
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
    missing += has_names(RTCRtpSender.__init__, _SENDER_LOOP)
    missing += has_names(RTCRtpSender._next_encoded_frame, _SENDER_LOOP, "run_in_executor")
    missing += has_names(RTCRtpSender._next_encoded_frame, _SENDER_ENCODER)
    missing += has_names(RTCRtpTransceiver.__init__, _NEGOTIATED)
    missing += has_names(RTCRtpSender._next_encoded_frame, "rtp", _AUDIO_LEVEL)
    missing += has_names(RTCRtpReceiver.receive, "threading", "Thread", _DECODER_QUEUE)
    missing += has_names(RTCDtlsTransport._recv_next, _RX_BYTES, _RX_PACKETS)
    missing += has_names(RTCRtpReceiver._handle_rtp_packet, _ACTIVE_SSRC)
    missing += has_names(RTCPeerConnection.__init__, "RTCCertificate", "generateCertificate")
    missing += has_names(RTCDtlsTransport.start, _LOCAL_CERTIFICATE, _SSL_CONTEXT)
    missing += has_names(RTCCertificate._create_ssl_context, "Context", "use_certificate")
    stop_decoder = getattr(RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder", None)
    missing += (
        has_names(stop_decoder, "join", _DECODER_QUEUE) if stop_decoder else ["__stop_decoder"]
    )
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


def credit_received(dtls_transport: Any, receiver: Any, ssrc: int, packets: int, size: int) -> None:
    """Count packets taken past aiortc where it would have counted them: in the DTLS
    transport's received packets and bytes (its ``transport`` stats), and as the
    source's latest packet for ``getSynchronizationSources``."""
    if not report().ok:
        return
    for name, more in ((_RX_PACKETS, packets), (_RX_BYTES, size)):
        setattr(dtls_transport, name, getattr(dtls_transport, name, 0) + more)
    active = getattr(receiver, _ACTIVE_SSRC, None)
    if isinstance(active, dict):
        from aiortc import clock

        active[ssrc] = clock.current_datetime()


def ice_connection(dtls_transport: Any) -> Any | None:
    """The aioice ``Connection`` under a DTLS transport's ICE transport."""
    return getattr(getattr(dtls_transport, "transport", None), "_connection", None)


def receive_statistics(receiver: Any, ssrc: int) -> Any | None:
    """The receiver's statistics for source ``ssrc`` (what its RTCP receiver
    reports are made from): ``add(packet)`` counts a packet, read for its
    ``sequence_number`` and ``timestamp``."""
    streams = getattr(receiver, _REMOTE_STREAMS, None)
    return streams.get(ssrc) if isinstance(streams, dict) else None


class _InlineEncoding:
    """Stands where an ``RTCRtpSender`` reads its event loop, which it does only
    to run its encoder in the thread pool: runs the encoder at once and hands
    back a done future (awaiting it does not suspend)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def run_in_executor(
        self, _executor: object, fn: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # the sender's await raises it, as it would from the pool
            future.set_exception(exc)
        return future


def encode_inline(sender: Any) -> bool:
    """Have ``sender`` encode each frame on the event loop, not in the shared thread
    pool. Returns whether it does (False: aiortc's names moved; it keeps the pool)."""
    if not report().ok:
        return False
    loop = getattr(sender, _SENDER_LOOP, None)
    if isinstance(loop, _InlineEncoding):
        return True
    if not isinstance(loop, asyncio.AbstractEventLoop):
        return False
    setattr(sender, _SENDER_LOOP, _InlineEncoding(loop))
    return True


def sends_opus(transceiver: Any) -> bool:
    """Whether the codec ``transceiver`` sends with, once negotiated, is Opus."""
    codecs = getattr(transceiver, _NEGOTIATED, None)
    if not codecs:
        return False
    return str(getattr(codecs[0], "mimeType", "")).lower() == "audio/opus"


def use_encoder(transceiver: Any, encoder: Any) -> bool:
    """Have the transceiver's sender encode with ``encoder`` (what aiortc asks of
    its encoders: ``encode(frame, force_keyframe)`` giving ``(payloads,
    timestamp)``). Only where the negotiated codec is Opus; returns whether it
    does (False: aiortc's names moved, or another codec: it keeps its own)."""
    if not report().ok or not sends_opus(transceiver):
        return False
    sender = getattr(transceiver, "sender", None)
    if sender is None or not hasattr(sender, _SENDER_ENCODER):
        return False
    setattr(sender, _SENDER_ENCODER, encoder)
    return True


def use_audio_level(level: Callable[[bytes, int], int]) -> bool:
    """Have every sender of the process compute a frame's audio level as
    ``level(pcm, samples)``. Returns whether they do (False: aiortc's names moved)."""
    if not report().ok:
        return False
    from aiortc import rtp

    current = getattr(rtp, _AUDIO_LEVEL, None)
    if current is None:
        return False
    if getattr(current, "computes_with", None) is level:
        return True

    def frame_level(frame: Any) -> int:
        return level(bytes(frame.planes[0]), int(frame.samples))

    frame_level.computes_with = level  # type: ignore[attr-defined]
    frame_level.replaces = current  # type: ignore[attr-defined]
    setattr(rtp, _AUDIO_LEVEL, frame_level)
    return True


class _NoDecoderThread:
    """Stands where a receiver keeps its decoder thread while its frames are
    decoded on the loop: runs nothing; joining it (aiortc's stop, on the loop)
    ends the receiver's track, as the thread's last act does."""

    def __init__(self, track_queue: Any) -> None:
        self._track_queue = track_queue

    def start(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        queue, self._track_queue = self._track_queue, None
        if queue is not None:
            queue.put_nowait(None)

    def is_alive(self) -> bool:
        return False


class _ReceiverThreading:
    """``threading`` as aiortc's receiver module sees it: a receiver whose decoder
    queue is an ``inline_kind`` gets no decoder thread; everything else is as is."""

    def __init__(self, worker: Callable[..., Any], inline_kind: type) -> None:
        self._worker = worker
        self.inline_kind = inline_kind

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)

    def Thread(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (threading's name)
        params = kwargs.get("args", ())  # (loop, decoder queue, track queue, error)
        ours = kwargs.get("target") is self._worker and len(params) >= 3
        if ours and isinstance(params[1], self.inline_kind):
            return _NoDecoderThread(params[2])
        return threading.Thread(*args, **kwargs)


def no_decoder_thread_for(inline_kind: type) -> bool:
    """Receivers whose decoder queue is an ``inline_kind`` when they start receiving
    start no decoder thread. Returns whether that holds (False: aiortc's names
    moved, and each receiver starts its thread)."""
    if not report().ok:
        return False
    from aiortc import rtcrtpreceiver

    current = getattr(rtcrtpreceiver, "threading", None)
    if isinstance(current, _ReceiverThreading):
        return current.inline_kind is inline_kind
    worker = getattr(rtcrtpreceiver, "decoder_worker", None)
    if current is not threading or worker is None:
        return False
    setattr(rtcrtpreceiver, "threading", _ReceiverThreading(worker, inline_kind))  # noqa: B010
    return True


RENEW_CERTIFICATE_AFTER = datetime.timedelta(days=1)


@functools.cache  # one class per process, made once aiortc is imported
def _shared_certificate_class() -> type[Any]:
    from aiortc import RTCCertificate, RTCDtlsFingerprint
    from OpenSSL import SSL

    class SharedCertificate(RTCCertificate):
        """A certificate that many DTLS transports use: its fingerprints are
        computed once, and its SSL contexts built once per SRTP profile list,
        with no session cache (a shared one would let handshakes resume)."""

        def __init__(self, key: Any, cert: Any) -> None:
            super().__init__(key, cert)
            self._fingerprints: tuple[RTCDtlsFingerprint, ...] | None = None
            self._contexts: dict[tuple[bytes, ...], SSL.Context] = {}

        def getFingerprints(self) -> list[RTCDtlsFingerprint]:  # noqa: N802 (aiortc's name)
            if self._fingerprints is None:
                self._fingerprints = tuple(super().getFingerprints())
            return [RTCDtlsFingerprint(f.algorithm, f.value) for f in self._fingerprints]

        def _create_ssl_context(self, srtp_profiles: list[Any]) -> SSL.Context:
            profiles = tuple(p.openssl_profile for p in srtp_profiles)
            context = self._contexts.get(profiles)
            if context is None:
                context = super()._create_ssl_context(srtp_profiles)
                context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
                self._contexts[profiles] = context
            return context

    return SharedCertificate


class _OneCertificatePerProcess:
    """Stands where ``RTCPeerConnection`` reads ``RTCCertificate``, which it does
    only to generate its certificate: hands every peer connection the current
    shared one, making a new one once ``renew_after`` has passed (connections
    made before keep theirs). Everything else is read from ``RTCCertificate``."""

    def __init__(
        self,
        stock: type[Any],
        renew_after: datetime.timedelta = RENEW_CERTIFICATE_AFTER,
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self.stock = stock
        self._renew_after = renew_after
        self._clock = clock
        self._current: Any = None
        self._renew_at = datetime.datetime.min.replace(tzinfo=datetime.UTC)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stock, name)

    def generateCertificate(self) -> Any:  # noqa: N802 (aiortc's name)
        now = self._clock()
        if now >= self._renew_at:  # the first call too: it starts at the earliest time
            self._current = _shared_certificate_class().generateCertificate()
            self._renew_at = now + self._renew_after
        return self._current


def share_certificate() -> bool:
    """Peer connections made from now on share the process's DTLS certificate and
    its SSL contexts. Returns whether they do (False: aiortc's names moved, and
    each connection makes its own)."""
    if not report().ok:
        return False
    from aiortc import RTCCertificate, rtcpeerconnection

    current = getattr(rtcpeerconnection, "RTCCertificate", None)
    if isinstance(current, _OneCertificatePerProcess):
        return True
    if current is not RTCCertificate:
        return False
    setattr(rtcpeerconnection, "RTCCertificate", _OneCertificatePerProcess(current))  # noqa: B010
    return True
