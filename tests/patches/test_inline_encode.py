"""A bot's audio sender encodes on the event loop, not in the shared thread pool,
and with the encoder it is given where it negotiated Opus.

The sender is aiortc's own, on a real DTLS transport (never connected: encoding
needs none), fed a tone; the loop's default executor counts the jobs it is given.
"""

import asyncio
import concurrent.futures
import fractions
from typing import Any

import av
import numpy as np
import pytest
from aiortc import (
    RTCCertificate,
    RTCConfiguration,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCPeerConnection,
    RTCRtpSender,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from rtvi_server.patches import aiortc as aiortc_patches
from rtvi_server.patches.aioice import host_candidates
from rtvi_server.sessions.voice_encoder import VoiceOpusEncoder

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


class ToneTrack(MediaStreamTrack):
    """20 ms frames of a tone at 48 kHz, at once (no pacing: the test is not timed)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        tone = (np.sin(np.arange(960) / 7) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += 960
        return frame


class CountingPool(concurrent.futures.ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.jobs = 0

    def submit(self, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        self.jobs += 1
        return super().submit(*args, **kwargs)


async def encode_frames(*, inline: bool, count: int = 3) -> tuple[list[Any], int]:
    pool = CountingPool()
    asyncio.get_running_loop().set_default_executor(pool)
    transport = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()]
    )
    sender = RTCRtpSender(ToneTrack(), transport)
    if inline:
        assert aiortc_patches.encode_inline(sender)
        assert aiortc_patches.encode_inline(sender)  # twice is once
    frames = [await sender._next_encoded_frame(OPUS) for _ in range(count)]
    return frames, pool.jobs


async def test_a_stock_sender_encodes_each_frame_in_the_thread_pool():
    frames, jobs = await encode_frames(inline=False)
    assert jobs == len(frames)


async def test_an_inline_sender_encodes_the_same_packets_without_the_pool():
    stock, _ = await encode_frames(inline=False)
    inline, jobs = await encode_frames(inline=True)
    assert jobs == 0
    assert [f.payloads for f in inline] == [f.payloads for f in stock]
    assert [f.timestamp for f in inline] == [f.timestamp for f in stock]
    assert all(f.payloads for f in inline)


async def test_an_encoder_error_reaches_the_sender_as_it_would_from_the_pool():
    loop = asyncio.get_running_loop()
    inline = aiortc_patches._InlineEncoding(loop)

    def broken(_frame: object) -> None:
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        await inline.run_in_executor(None, broken, object())


def test_a_sender_without_the_patch_point_keeps_the_pool():
    class FutureSender:  # an aiortc that renamed its loop field
        pass

    assert aiortc_patches.encode_inline(FutureSender()) is False


async def negotiated_answerer(offer_codecs: list[str] | None = None) -> Any:
    """The answering side's audio transceiver after a real offer and answer on loopback."""
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = offerer.addTransceiver("audio", direction="sendrecv")
    if offer_codecs is not None:
        capabilities = RTCRtpSender.getCapabilities("audio").codecs
        transceiver.setCodecPreferences([c for c in capabilities if c.mimeType in offer_codecs])
    with host_candidates(["127.0.0.1"]):
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        answering = answerer.getTransceivers()[0]
        answering.direction = "sendrecv"  # as pipecat has its transceivers
        answering.sender.replaceTrack(ToneTrack())
        await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.close()
    return answerer, answerer.getTransceivers()[0]


async def test_a_sender_that_negotiated_opus_encodes_with_the_encoder_it_is_given():
    answerer, transceiver = await negotiated_answerer()
    try:
        assert aiortc_patches.sends_opus(transceiver)
        assert aiortc_patches.use_encoder(transceiver, VoiceOpusEncoder(48000))
        sender = transceiver.sender
        frames = [await sender._next_encoded_frame(OPUS) for _ in range(3)]
        expected = VoiceOpusEncoder(48000)
        track = ToneTrack()
        assert [f.payloads for f in frames] == [
            expected.encode(await track.recv())[0] for _ in range(3)
        ]
        assert [f.timestamp for f in frames] == [0, 960, 1920]
    finally:
        await answerer.close()


async def test_a_sender_that_negotiated_another_codec_keeps_aiortcs_encoder():
    answerer, transceiver = await negotiated_answerer(offer_codecs=["audio/PCMU"])
    try:
        assert not aiortc_patches.sends_opus(transceiver)
        assert aiortc_patches.use_encoder(transceiver, VoiceOpusEncoder(48000)) is False
    finally:
        await answerer.close()
