"""The ``webrtc`` transport: one SmallWebRTC peer per session (spec 12.3).

The wire contract is the one ``@pipecat-ai/small-webrtc-transport`` speaks:
``POST`` an offer, ``PATCH`` candidates, a ``chat`` data channel with RTVI JSON
and ``ping:`` keep-alives, and ``renegotiate`` / ``peerLeft`` signalling.
pipecat's ``SmallWebRTCConnection`` does the media; this module adds what a
server needs around it: loopback-only ICE when bound to loopback, the lean
listening path, the quiet bot track, and answers to malformed messages.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiortc.sdp import candidate_from_sdp
from loguru import logger
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import IceServer, SmallWebRTCConnection
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from rtvi_server.audio.rtp import audio_level_dbov
from rtvi_server.patches import aioice as aioice_patches
from rtvi_server.patches import aiortc as aiortc_patches
from rtvi_server.patches import pipecat as pipecat_patches
from rtvi_server.processor import ListeningGate
from rtvi_server.protocol import JSONObject, ProtocolError, decode, outbound
from rtvi_server.sessions.api import (
    APIError,
    CandidatePatch,
    IceServerInfo,
    Offer,
    OfferAnswer,
    StartAnswer,
    TransportName,
)
from rtvi_server.sessions.inline_audio import InlineAudioInput, inline_audio_supported
from rtvi_server.sessions.quiet_track import QuietAudioTrack
from rtvi_server.sessions.start_request import StartRequest
from rtvi_server.sessions.transports.base import Link
from rtvi_server.sessions.voice_encoder import voice_encoder_for
from rtvi_server.settings import IceServerSetting


def host_addresses_for(bind_host: str) -> list[str] | None:
    """The ICE host candidates a server bound to ``bind_host`` offers.

    aioice offers every interface address except loopback. A server bound to
    127.0.0.1 must offer exactly 127.0.0.1, so that a client on the same machine
    connects and nothing else is advertised; one bound to a specific address
    offers that address; one bound to all interfaces keeps aioice's choice.
    """
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(bind_host)
    except ValueError:
        address = ipaddress.ip_address("127.0.0.1") if bind_host == "localhost" else None
    return None if address is None or address.is_unspecified else [str(address)]


def _is_loopback_candidate(candidate_line: str) -> bool:
    parts = candidate_line.split()
    try:
        return ipaddress.ip_address(parts[4]).is_loopback
    except (IndexError, ValueError):
        return False  # mDNS names and garbage: not on loopback


def loopback_sdp(sdp: str) -> str:
    """``sdp`` without remote candidates beyond loopback.

    A client on this machine also offers its LAN addresses; checking them would
    send traffic off loopback. A loopback-bound server only talks to 127.0.0.1.
    """
    lines = sdp.split("\r\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or _is_loopback_candidate(line[2:])
    ]
    return "\r\n".join(kept)


class BadOfferError(APIError):
    """An offer that cannot start a peer connection (its session ends)."""

    def __init__(self, message: str = "the offer could not be answered") -> None:
        super().__init__(400, message, field="sdp")


class UnknownPeerError(APIError):
    """A signalling request for a ``pc_id`` this session does not have."""

    def __init__(self) -> None:
        super().__init__(404, "unknown pc_id", field="pc_id")


class WebRTCLink(Link):
    """The peer connection behind one session, and its pipecat transport."""

    name: TransportName = "webrtc"

    def __init__(
        self,
        params: TransportParams | None = None,
        *,
        host_addresses: Sequence[str] | None = None,
        ice_servers: Sequence[IceServerSetting] = (),
        inline_audio: bool = True,
    ) -> None:
        self._ice_servers = list(ice_servers)
        aiortc_patches.share_certificate()  # before the connection makes its peer
        self.connection = SmallWebRTCConnection(
            ice_servers=[
                IceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self._ice_servers
            ]
        )
        self._transport = SmallWebRTCTransport(
            self.connection,
            params or TransportParams(audio_in_enabled=True, audio_out_enabled=True),
        )
        self._addresses = list(host_addresses) if host_addresses is not None else None
        self._loopback_only = self._addresses is not None and all(
            ipaddress.ip_address(a).is_loopback for a in self._addresses
        )
        self.answered = False
        self.connected_once = False

        @self.connection.event_handler("connected")
        async def on_connected(_connection: Any) -> None:
            self.connected_once = True

        self.inline_audio: InlineAudioInput | None = None
        if inline_audio and inline_audio_supported():
            decoder = InlineAudioInput()
            if pipecat_patches.replace_audio_reader(self._transport, self._read_inline_audio):
                self.inline_audio = decoder
        pipecat_patches.after_peer_connects(self._transport, self._on_peer_set_up)

    async def _on_peer_set_up(self, swap_track: Callable[[Callable[[int], Any]], Any]) -> None:
        """pipecat made the peer's tracks: take the receiver, quieten the bot's track."""
        self._attach_inline_audio()  # pipecat's track wrapper just paused the receiver
        quiet = swap_track(lambda rate: QuietAudioTrack(sample_rate=rate))
        if quiet is not None:
            self.connection.replace_audio_track(quiet)
        aiortc_patches.use_audio_level(audio_level_dbov)
        for transceiver in self.connection.pc.getTransceivers():
            if transceiver.kind != "audio":
                continue
            aiortc_patches.encode_inline(transceiver.sender)  # no thread-pool round trip
            encoder = voice_encoder_for(quiet.sample_rate) if quiet is not None else None
            if encoder is not None:
                aiortc_patches.use_encoder(transceiver, encoder)

    def _attach_inline_audio(self) -> None:
        if self.inline_audio is not None:
            for receiver in self.connection.pc.getReceivers():
                self.inline_audio.attach(receiver)

    def hear_at_edge(self, gate: ListeningGate) -> bool:
        """The inline decoder hands each frame to ``gate`` before pipecat sees it."""
        if self.inline_audio is None:
            return False
        self.inline_audio.edge = gate
        return True

    def _read_inline_audio(self, sample_rate: int) -> AsyncIterator[InputAudioRawFrame]:
        """pipecat's client reader, fed by the inline decoder at the pipeline's rate."""
        assert self.inline_audio is not None
        return self.inline_audio.frames(sample_rate)

    @property
    def transport(self) -> SmallWebRTCTransport:
        return self._transport

    @property
    def connected(self) -> bool:
        return self.connected_once

    @property
    def pc_id(self) -> str:
        return str(self.connection.pc_id)

    def start_answer(self, session_id: str) -> StartAnswer:
        return StartAnswer(
            session_id=session_id,
            transport="webrtc",
            offer_path=f"/sessions/{session_id}/api/offer",
            ice_servers=[
                IceServerInfo(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in self._ice_servers
            ]
            or None,
        )

    def _remote_sdp(self, sdp: str) -> str:
        return loopback_sdp(sdp) if self._loopback_only else sdp

    async def offer(self, offer: Offer) -> OfferAnswer:
        """Answer an offer: the first one initialises the peer, later ones renegotiate."""
        if offer.pc_id and offer.pc_id != self.pc_id:
            raise UnknownPeerError()
        if "\nm=" not in "\n" + offer.sdp:
            raise BadOfferError("the offer has no media or data channel")
        with aioice_patches.host_candidates(self._addresses):
            if self.answered:
                await self.connection.renegotiate(
                    sdp=self._remote_sdp(offer.sdp), type=offer.type, restart_pc=offer.restart_pc
                )
            else:
                await self.connection.initialize(sdp=self._remote_sdp(offer.sdp), type=offer.type)
                self.answered = True
                self._install_malformed_guard()
        self._attach_inline_audio()
        answer = self.connection.get_answer()
        return OfferAnswer(sdp=answer["sdp"], type=answer["type"], pc_id=answer["pc_id"])

    async def add_candidates(self, patch: CandidatePatch) -> None:
        if patch.pc_id != self.pc_id or not self.answered:
            raise UnknownPeerError()
        for entry in patch.candidates:
            text = entry.candidate
            if not text:
                await self.connection.add_ice_candidate(None)  # end-of-candidates
                continue
            text = text.removeprefix("a=").removeprefix("candidate:")
            if self._loopback_only and not _is_loopback_candidate("candidate:" + text):
                continue
            try:
                candidate = candidate_from_sdp(text)
            except (ValueError, IndexError, KeyError):
                raise APIError(400, "a candidate could not be read", field="candidates") from None
            candidate.sdpMid = entry.sdp_mid
            candidate.sdpMLineIndex = entry.sdp_mline_index
            await self.connection.add_ice_candidate(candidate)

    def is_alive(self) -> bool:
        """False once a client that was connected stops pinging or drops the peer."""
        if not self.connected_once:
            return True
        return bool(self.connection.is_connected())

    async def send(self, message: JSONObject) -> None:
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

        @self.connection.pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            @channel.on("message")
            def on_message(message: Any) -> None:
                reply = malformed_reply(message)
                if reply is not None:
                    self.connection.send_app_message(reply)


def malformed_reply(message: object) -> JSONObject | None:
    """What to answer a data-channel message pipecat would drop, or ``None``."""
    if isinstance(message, str) and message.startswith("ping"):
        return None
    try:
        parsed = json.loads(message) if isinstance(message, str | bytes) else None
        if isinstance(parsed, dict) and "type" in parsed:
            return None  # pipecat delivers it; our processor answers it
    except (ValueError, TypeError, RecursionError):
        pass
    result = decode(message)
    if not isinstance(result, ProtocolError):
        return None
    if result.id is not None:
        return outbound.error_response(result.id, result.reason)
    return outbound.error(result.reason)


class WebRTCKind:
    """Sessions whose client connects with a SmallWebRTC offer."""

    name: TransportName = "webrtc"

    def __init__(
        self, host_addresses: Sequence[str] | None, ice_servers: Sequence[IceServerSetting] = ()
    ) -> None:
        self._addresses = host_addresses
        self._ice_servers = ice_servers

    def check(self, request: StartRequest) -> None:
        return None

    async def open(self, request: StartRequest, session_id: str) -> WebRTCLink:
        return WebRTCLink(host_addresses=self._addresses, ice_servers=self._ice_servers)
