"""The lean receive path: real libsrtp sessions, then two real aiortc peers on loopback."""

import contextlib

import pytest
from aiortc import clock
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket, is_rtcp
from pylibsrtp import Policy, Session

from rtvi_server.sessions.inline_audio import InlineAudioInput, PassThroughJitterBuffer
from rtvi_server.sessions.lean_receive import CREDIT_PACKETS, LeanReceive, tappable
from rtvi_server.testing import read_wav_pcm16

from ..support.wait import eventually
from .test_inline_audio import FIXTURE, collect, connected

KEY = bytes(range(30))  # AES-128 key and 112-bit salt
SSRC, OPUS = 0x11223344, 111


def srtp_pair() -> tuple[Session, Session]:
    sender = Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    receiver = Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_INBOUND))
    return sender, receiver


def packet(sequence: int, *, ssrc: int = SSRC, payload_type: int = OPUS, marker: int = 0) -> bytes:
    return RtpPacket(
        payload_type=payload_type,
        marker=marker,
        sequence_number=sequence,
        timestamp=sequence * 960,
        ssrc=ssrc,
        payload=bytes([sequence % 256]) * 40,
    ).serialize()


class Heard:
    def __init__(self) -> None:
        self.order = PassThroughJitterBuffer()
        self.decoded: list[bytes] = []
        self.statistics = StreamStatistics(48000)

    def lean(self, srtp: Session) -> LeanReceive:
        return LeanReceive(srtp, SSRC, OPUS, self.order, self.decoded.append, self.statistics)


def test_it_unprotects_decodes_and_counts_its_source():
    tx, rx = srtp_pair()
    heard = Heard()
    lean = heard.lean(rx)
    for sequence in (1, 2, 3):
        assert lean(tx.protect(packet(sequence, marker=sequence == 1)))
    assert heard.decoded == [bytes([s]) * 40 for s in (1, 2, 3)]
    assert heard.statistics.packets_received == 3
    assert heard.statistics.max_seq == 3
    assert lean.packets == 3


def test_taken_packets_are_credited_to_aiortc_a_second_at_a_time():
    protect, unprotect = srtp_pair()
    credits = []
    heard = Heard()
    lean = LeanReceive(
        unprotect,
        SSRC,
        OPUS,
        heard.order,
        heard.decoded.append,
        heard.statistics,
        lambda packets, size: credits.append((packets, size)),
    )
    sent = [protect.protect(packet(n)) for n in range(1, CREDIT_PACKETS * 2 + 2)]
    assert all(lean(p) for p in sent)
    assert not lean(packet(1, ssrc=SSRC + 1))  # not taken: aiortc counts it
    size = len(sent[0])
    assert credits == [(CREDIT_PACKETS, CREDIT_PACKETS * size)] * 2


def test_other_sources_payload_types_and_rtcp_are_left_to_aiortc():
    tx, rx = srtp_pair()
    heard = Heard()
    lean = heard.lean(rx)
    assert not lean(tx.protect(packet(1, ssrc=SSRC + 1)))
    assert not lean(tx.protect(packet(1, payload_type=OPUS + 1)))
    receiver_report = b"\x81\xc9\x00\x07" + SSRC.to_bytes(4, "big") + b"\0" * 24
    assert is_rtcp(receiver_report)
    assert not lean(tx.protect_rtcp(receiver_report))
    assert not lean(b"\x16\xfe\xfd" + b"\0" * 20)  # a DTLS record
    assert not lean(b"\x80")
    assert heard.decoded == []


def test_replays_forgeries_and_late_packets_are_taken_but_not_decoded():
    tx, rx = srtp_pair()
    heard = Heard()
    lean = heard.lean(rx)
    second = tx.protect(packet(2))
    assert lean(second)
    assert lean(second)  # a replay: libsrtp refuses it
    forged = bytearray(tx.protect(packet(3)))
    forged[-1] ^= 1
    assert lean(bytes(forged))  # the authentication tag does not match
    assert lean(tx.protect(packet(1)))  # authentic, but later audio went on already
    assert heard.decoded == [bytes([2]) * 40]
    assert heard.statistics.packets_received == 2  # the authentic ones


def test_a_payload_type_rtcp_could_be_mistaken_for_is_never_tapped():
    assert tappable(OPUS)
    assert tappable(0)  # PCMU
    assert not tappable(72)  # with the marker bit: 200, an RTCP sender report
    assert not tappable(64)
    assert not tappable(95)
    assert tappable(96)
    assert not tappable(128)


@pytest.mark.slow
async def test_between_real_peers_all_but_the_first_packets_come_the_lean_way(fixtures):
    inline = InlineAudioInput()
    async with connected(inline) as (sender, receiver, microphone):
        rtp_receiver = receiver.getReceivers()[0]
        assert inline.attach(rtp_receiver)
        speech = read_wav_pcm16(fixtures / FIXTURE, 16000)[: 16000 * 4]
        microphone.play(speech)
        frames = await collect(inline, 16000, 3.0)

        assert inline.lean is not None
        assert inline.packets == len(frames) + inline.queued  # read, or not yet
        assert len(frames) >= 140
        assert inline.lean.packets >= inline.packets - 5  # aiortc routed the first
        # The receiver's own count (what its RTCP receiver reports say) is still whole,
        stats = await rtp_receiver.getStats()
        inbound = next(s for s in stats.values() if s.type == "inbound-rtp")
        assert inbound.packetsReceived >= inline.packets
        assert inbound.packetsLost == 0
        # The transport's counters and the receiver's source record are kept too.
        transport = next(s for s in (await receiver.getStats()).values() if s.type == "transport")
        assert transport.packetsReceived >= inline.packets - CREDIT_PACKETS
        (source,) = rtp_receiver.getSynchronizationSources()
        heard_ago = clock.current_datetime() - source.timestamp
        assert heard_ago.total_seconds() < 2 * CREDIT_PACKETS * 0.02

        # and the sender hears those reports.
        async def reported_received():
            remote = [
                s for s in (await sender.getStats()).values() if s.type == "remote-inbound-rtp"
            ]
            return bool(remote) and remote[0].packetsLost == 0

        await eventually(reported_received, what="an RTCP receiver report")


@pytest.mark.slow
async def test_without_the_lean_path_aiortc_routes_every_packet(fixtures):
    inline = InlineAudioInput(lean=False)
    async with connected(inline) as (_, receiver, microphone):
        inline.attach(receiver.getReceivers()[0])
        microphone.play(read_wav_pcm16(fixtures / FIXTURE, 16000)[:32000])
        frames = await collect(inline, 16000, 1.5)
        assert frames
        assert inline.lean is None


@pytest.mark.slow
async def test_a_new_peer_connection_gets_its_own_order_and_lean_path(fixtures):
    """As after an ICE restart that made a new peer connection: the second receiver's
    sequence numbers start afresh, and its source is learned again."""
    inline = InlineAudioInput()
    speech = read_wav_pcm16(fixtures / FIXTURE, 16000)[:32000]
    async with contextlib.AsyncExitStack() as peers:
        for _ in range(2):
            sender, receiver, microphone = await peers.enter_async_context(connected(inline))
            assert inline.attach(receiver.getReceivers()[0])
            before, left_over = inline.packets, inline.queued
            microphone.play(speech)
            frames = await collect(inline, 16000, 1.5)
            # What the last peer sent after its reading ended waits in the queue: each
            # packet counted since is read or still queued.
            heard = len(frames) - left_over + inline.queued
            assert inline.packets - before == heard
            assert len(frames) >= 50
            assert inline.lean is not None
            assert inline.lean.packets >= inline.packets - before - 5
            await sender.close()
            await receiver.close()  # nothing more of this peer's audio is on its way
