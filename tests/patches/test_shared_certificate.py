"""The process's peer connections share one DTLS certificate, renewed daily, and
its SSL contexts; their handshakes still agree keys of their own.

The connections are aiortc's own, connected over loopback with real ICE, DTLS
and SCTP, all in this process.
"""

import asyncio
import datetime

import pytest
from aiortc import RTCCertificate, RTCConfiguration, RTCPeerConnection, rtcpeerconnection
from aiortc.rtcdtlstransport import SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80
from OpenSSL import SSL

from rtvi_server.patches import aiortc as aiortc_patches
from rtvi_server.patches.aioice import host_candidates

PROFILES = [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80]


@pytest.fixture
def stock_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc as installed: each peer connection makes its own certificate."""
    monkeypatch.setattr(rtcpeerconnection, "RTCCertificate", RTCCertificate)


def fingerprint_of(sdp: str) -> str:
    return next(line for line in sdp.split("\r\n") if line.startswith("a=fingerprint:"))


async def offered_fingerprint() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio")
        with host_candidates(["127.0.0.1"]):
            await pc.setLocalDescription(await pc.createOffer())
        return fingerprint_of(pc.localDescription.sdp)
    finally:
        await pc.close()


async def test_stock_peer_connections_each_make_a_certificate(stock_certificates):
    assert await offered_fingerprint() != await offered_fingerprint()


async def test_shared_peer_connections_offer_one_certificate(stock_certificates):
    assert aiortc_patches.share_certificate()
    assert aiortc_patches.share_certificate()  # twice is once
    assert await offered_fingerprint() == await offered_fingerprint()


class Pair:
    """An offerer and an answerer joined by a data channel over loopback."""

    def __init__(self) -> None:
        self.offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self.channel = self.offerer.createDataChannel("probe")
        self.open = asyncio.Event()
        self.channel.on("open", self.open.set)

        @self.answerer.on("datachannel")
        def on_channel(channel: object) -> None:
            channel.on("message", lambda message: channel.send(f"echo {message}"))  # type: ignore[attr-defined]

        self.channel.on("message", self.received.put_nowait)

    async def connect(self) -> None:
        with host_candidates(["127.0.0.1"]):
            await self.offerer.setLocalDescription(await self.offerer.createOffer())
            await self.answerer.setRemoteDescription(self.offerer.localDescription)
            await self.answerer.setLocalDescription(await self.answerer.createAnswer())
            await self.offerer.setRemoteDescription(self.answerer.localDescription)
        await self.open.wait()

    async def echo(self, text: str) -> str:
        self.channel.send(text)
        return await self.received.get()

    def answering_ssl(self) -> SSL.Connection:
        return self.answerer.sctp.transport._ssl

    async def close(self) -> None:
        await self.offerer.close()
        await self.answerer.close()


async def test_concurrent_connections_on_one_certificate_each_agree_their_own_keys(
    stock_certificates,
):
    assert aiortc_patches.share_certificate()
    pairs = [Pair(), Pair()]
    try:
        await asyncio.wait_for(asyncio.gather(*(p.connect() for p in pairs)), 30)
        assert [await p.echo(f"hello {i}") for i, p in enumerate(pairs)] == [
            "echo hello 0",
            "echo hello 1",
        ]
        contexts = {id(p.answering_ssl().get_context()) for p in pairs}
        assert len(contexts) == 1  # one context served both handshakes
        context = pairs[0].answering_ssl().get_context()
        assert context.get_session_cache_mode() == SSL.SESS_CACHE_OFF
        keys = [p.answering_ssl().export_keying_material(b"EXTRACTOR-dtls_srtp", 60) for p in pairs]
        assert keys[0] != keys[1]
    finally:
        await asyncio.gather(*(p.close() for p in pairs))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now


def test_the_certificate_is_renewed_a_day_after_it_was_made():
    clock = Clock()
    certificates = aiortc_patches._OneCertificatePerProcess(RTCCertificate, clock=clock)
    first = certificates.generateCertificate()
    assert first.expires - clock.now >= datetime.timedelta(days=29)
    clock.now += datetime.timedelta(hours=23)
    assert certificates.generateCertificate() is first
    clock.now += datetime.timedelta(hours=1)
    renewed = certificates.generateCertificate()
    assert renewed is not first
    assert renewed.getFingerprints() != first.getFingerprints()
    assert certificates.getFingerprints is RTCCertificate.getFingerprints  # the rest is aiortc's


def test_the_shared_certificate_builds_one_context_per_profile_list():
    certificate = aiortc_patches._OneCertificatePerProcess(RTCCertificate).generateCertificate()
    both = certificate._create_ssl_context(PROFILES)
    assert certificate._create_ssl_context(list(PROFILES)) is both
    assert certificate._create_ssl_context(PROFILES[1:]) is not both
    fingerprints = certificate.getFingerprints()
    again = certificate.getFingerprints()
    assert again == fingerprints == RTCCertificate.getFingerprints(certificate)
    assert all(a is not b for a, b in zip(again, fingerprints, strict=True))


def test_a_replaced_certificate_class_is_left_alone(monkeypatch):
    class SomeoneElses(RTCCertificate):
        pass

    monkeypatch.setattr(rtcpeerconnection, "RTCCertificate", SomeoneElses)
    assert aiortc_patches.share_certificate() is False
    assert rtcpeerconnection.RTCCertificate is SomeoneElses
