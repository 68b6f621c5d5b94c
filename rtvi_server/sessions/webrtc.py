"""One session's SmallWebRTC peer: offer/answer, trickle ICE, liveness, goodbye.

The wire contract is the one ``@pipecat-ai/small-webrtc-transport`` speaks (spec
12.3): ``POST`` an offer, ``PATCH`` candidates, a ``chat`` data channel with RTVI
JSON and ``ping:`` keep-alives, and ``renegotiate`` / ``peerLeft`` signalling.
pipecat's ``SmallWebRTCConnection`` does the media; this module adds what a
server needs around it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aioice.ice
from aiortc.sdp import candidate_from_sdp
from loguru import logger
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from rtvi_server.audio.opus import opus_available
from rtvi_server.protocol import ProtocolError, decode, outbound
from rtvi_server.sessions.inline_audio import InlineAudioInput
from rtvi_server.sessions.quiet_track import QuietAudioTrack

_original_host_addresses = aioice.ice.get_host_addresses


def configure_host_candidates(bind_host: str) -> list[str] | None:
    """Choose the addresses the server offers as ICE host candidates.

    aiortc (through aioice) offers every interface address except loopback. A
    server bound to 127.0.0.1 must offer exactly 127.0.0.1, so that a client on
    the same machine connects and nothing else is advertised; one bound to a
    specific address offers that address; one bound to all interfaces keeps
    aioice's choice. Returns the fixed list, or ``None`` for aioice's default.
    """
    fixed: list[str] | None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(bind_host)
    except ValueError:
        address = ipaddress.ip_address("127.0.0.1") if bind_host == "localhost" else None
    fixed = None if address is None or address.is_unspecified else [str(address)]

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if fixed is None:
            return _original_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        return [a for a in fixed if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses
    global _loopback_only
    _loopback_only = fixed is not None and all(ipaddress.ip_address(a).is_loopback for a in fixed)
    return fixed


_loopback_only = False


def _is_loopback_candidate(candidate_line: str) -> bool:
    parts = candidate_line.split()
    try:
        return ipaddress.ip_address(parts[4]).is_loopback
    except (IndexError, ValueError):
        return False  # mDNS names and garbage: not on loopback


def loopback_sdp(sdp: str) -> str:
    """Drop remote candidates beyond loopback when the server is bound to loopback.

    A client on this machine also offers its LAN addresses; checking them would
    send traffic off loopback. A loopback-bound server only talks to 127.0.0.1.
    """
    if not _loopback_only:
        return sdp
    lines = sdp.split("\r\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or _is_loopback_candidate(line[2:])
    ]
    return "\r\n".join(kept)


class UnknownPeerError(LookupError):
    """A signalling request for a ``pc_id`` this session does not have."""


class WebRTCLink:
    """The peer connection behind one session, and its pipecat transport."""

    def __init__(self, params: TransportParams | None = None, *, inline_audio: bool = True) -> None:
        self.connection = SmallWebRTCConnection(ice_servers=[])
        self._transport = SmallWebRTCTransport(
            self.connection,
            params or TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        self.answered = False
        self.connected_once = False
        self._guard_installed = False

        @self.connection.event_handler("connected")
        async def on_connected(_connection: Any) -> None:
            self.connected_once = True

        self.inline_audio: InlineAudioInput | None = None
        if inline_audio and opus_available():
            self.inline_audio = InlineAudioInput()
            client: Any = self._transport._client
            client.read_audio_frame = self._read_inline_audio  # pipecat 1.14's reader, pinned
        self._use_quiet_track()

    def _use_quiet_track(self) -> None:
        """Swap pipecat's always-sending bot audio track for a QuietAudioTrack.

        pipecat creates its track when the client connects; this wraps that step
        (pipecat-ai 1.14 internals, pinned) and replaces the track right after.
        """
        client: Any = self._transport._client
        create_tracks = client._handle_client_connected

        async def with_quiet_track() -> None:
            await create_tracks()
            self._attach_inline_audio()  # pipecat's track wrapper just paused the receiver
            if client._audio_output_track is not None:
                quiet = QuietAudioTrack(sample_rate=client._out_sample_rate)
                client._audio_output_track = quiet
                self.connection.replace_audio_track(quiet)

        client._handle_client_connected = with_quiet_track

    def _attach_inline_audio(self) -> None:
        if self.inline_audio is not None:
            for receiver in self.connection.pc.getReceivers():
                self.inline_audio.attach(receiver)

    def _read_inline_audio(self) -> AsyncIterator[InputAudioRawFrame]:
        """pipecat's client reader, fed by the inline decoder at the pipeline's rate."""
        assert self.inline_audio is not None
        return self.inline_audio.frames(self._transport._client._in_sample_rate)

    @property
    def transport(self) -> SmallWebRTCTransport:
        return self._transport

    @property
    def pc_id(self) -> str:
        return str(self.connection.pc_id)

    async def offer(self, sdp: str, sdp_type: str, pc_id: str | None, restart_pc: bool) -> Any:
        """Answer an offer: the first one initialises the peer, later ones renegotiate."""
        if pc_id and pc_id != self.pc_id:
            raise UnknownPeerError(pc_id)
        if self.answered:
            await self.connection.renegotiate(
                sdp=loopback_sdp(sdp), type=sdp_type, restart_pc=restart_pc
            )
        else:
            await self.connection.initialize(sdp=loopback_sdp(sdp), type=sdp_type)
            self.answered = True
            self._install_malformed_guard()
        self._attach_inline_audio()
        return self.connection.get_answer()

    async def add_candidates(self, pc_id: str, candidates: Sequence[Any]) -> None:
        if pc_id != self.pc_id or not self.answered:
            raise UnknownPeerError(pc_id)
        for entry in candidates:
            if not isinstance(entry, dict):
                raise ValueError("each candidate must be an object")
            text = entry.get("candidate") or ""
            if not text:
                await self.connection.add_ice_candidate(None)  # end-of-candidates
                continue
            text = text.removeprefix("a=").removeprefix("candidate:")
            if _loopback_only and not _is_loopback_candidate("candidate:" + text):
                continue
            candidate = candidate_from_sdp(text)
            candidate.sdpMid = entry.get("sdp_mid")
            candidate.sdpMLineIndex = entry.get("sdp_mline_index")
            await self.connection.add_ice_candidate(candidate)

    def is_alive(self) -> bool:
        """False once a client that was connected stops pinging or drops the peer."""
        if not self.connected_once:
            return True
        return bool(self.connection.is_connected())

    async def send(self, message: dict[str, Any]) -> None:
        self.connection.send_app_message(message)

    async def close(self) -> None:
        """Say ``peerLeft`` and close the peer connection."""
        if self.inline_audio is not None:
            self.inline_audio.close()
        try:
            await self.connection.disconnect()
        except Exception as exc:  # closing a half-open peer must not fail the session end
            logger.debug(f"closing peer {self.pc_id}: {exc!r}")

    def _install_malformed_guard(self) -> None:
        """Answer text that pipecat's connection drops silently.

        pipecat's data-channel handler logs and drops text that is not JSON, or
        JSON without a ``type``; an RTVI client deserves an ``error`` (or an
        ``error-response`` when an id can be read) so its session goes on.
        """
        if self._guard_installed:
            return
        self._guard_installed = True

        @self.connection.pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            @channel.on("message")
            def on_message(message: Any) -> None:
                if isinstance(message, str) and message.startswith("ping"):
                    return
                try:
                    parsed = json.loads(message)
                    if isinstance(parsed, dict) and "type" in parsed:
                        return  # pipecat delivers it; our processor answers it
                except (ValueError, TypeError):
                    pass
                result = decode(message)
                if isinstance(result, ProtocolError):
                    reply = (
                        outbound.error_response(result.id, result.reason)
                        if result.id is not None
                        else outbound.error(result.reason)
                    )
                    self.connection.send_app_message(reply)
