"""The bot's voice to Opus as aiortc's audio sender asks for it, without its resampling.

An aiortc ``RTCRtpSender`` asks its encoder for ``encode(frame, force_keyframe)``
and gets back ``(payloads, timestamp)``: the packets the frame completes and
their RTP timestamp on the 48 kHz Opus clock, counted from the first packet.
aiortc's own encoder resamples every frame to 48 kHz stereo and encodes that at
96 kbit/s; the bot's voice is mono at the pipeline's rate, which libopus takes
as it is (``rtvi_server.audio.opus``), for a third of the CPU and of the bytes.

The frames are the bot track's (``QuietAudioTrack``): 16-bit mono at one rate,
a packet's 20 ms or its 10 ms halves, with the clock stepping over the bot's pauses.
"""

from __future__ import annotations

from typing import Final

import av

from rtvi_server.audio.opus import OPUS_RATES, OpusEncoder, opus_available

#: RFC 7587: Opus's RTP clock is 48 kHz whatever rate the audio was encoded at.
RTP_CLOCK: Final = 48000


class VoiceOpusEncoder:
    """Encodes a bot track's frames to 20 ms Opus packets (a frame of 20 ms, or two of 10)."""

    def __init__(self, sample_rate: int) -> None:
        self._opus = OpusEncoder(sample_rate)  # refuses a rate Opus does not code at
        self._rate = sample_rate
        self._packet_bytes = self._opus.packet_samples * 2
        self._pending = b""
        self._pending_pts = 0  # the pts of the pending audio's first sample
        self._origin: int | None = None

    def encode(
        self, frame: av.AudioFrame, force_keyframe: bool = False
    ) -> tuple[list[bytes], int | None]:
        """The packet ``frame`` completes, if it completes one, and its timestamp.

        A frame that does not follow on from the pending audio (the clock stepped
        over a pause in between) first closes the pending packet with silence, so
        no audio waits for the bot's next words; the frame then starts the next.
        """
        del force_keyframe  # audio has no keyframes
        pcm = self._samples(frame)
        pts = int(frame.pts or 0)
        if self._origin is None:
            self._origin = pts
        if self._pending and pts != self._pending_pts + len(self._pending) // 2:
            closed = self._pending.ljust(self._packet_bytes, b"\0")
            packet = self._packet(closed, self._pending_pts)
            self._pending, self._pending_pts = pcm, pts
            return packet
        if not self._pending:
            self._pending_pts = pts
        self._pending += pcm
        if len(self._pending) < self._packet_bytes:
            return [], None
        size = self._packet_bytes
        whole, self._pending = self._pending[:size], self._pending[size:]
        packet = self._packet(whole, self._pending_pts)
        self._pending_pts += self._opus.packet_samples
        return packet

    def pack(self, packet: object) -> tuple[list[bytes], int | None]:
        """Pre-encoded media: a bot track never sends it."""
        raise TypeError("the bot's voice encoder takes audio frames, not packets")

    def _samples(self, frame: av.AudioFrame) -> bytes:
        if frame.format.name != "s16" or frame.layout.name != "mono":
            raise ValueError(f"expected 16-bit mono, got {frame.format.name} {frame.layout.name}")
        if frame.sample_rate != self._rate:
            raise ValueError(f"expected {self._rate} Hz, got {frame.sample_rate}")
        if frame.samples > self._opus.packet_samples:
            raise ValueError(f"frames of at most 20 ms, not {frame.samples} samples")
        return bytes(frame.planes[0])[: frame.samples * 2]  # planes may be padded

    def _packet(self, pcm: bytes, pts: int) -> tuple[list[bytes], int]:
        assert self._origin is not None
        timestamp = (pts - self._origin) * (RTP_CLOCK // self._rate)
        return [self._opus.encode(pcm)], timestamp


def voice_encoder_for(sample_rate: int) -> VoiceOpusEncoder | None:
    """An encoder for a bot track at ``sample_rate``; ``None`` where libopus is missing
    or does not code at that rate (the sender then keeps aiortc's)."""
    if sample_rate not in OPUS_RATES or not opus_available():
        return None
    return VoiceOpusEncoder(sample_rate)
