"""The peer's audio, decoded on the event loop straight to the pipeline's rate.

Stock path, per 20 ms packet: aiortc hands the encoded frame to a decoder
thread, which decodes 48 kHz stereo and posts it back to the loop with
``run_coroutine_threadsafe`` (a task per frame); pipecat's reader then waits on
the track with ``wait_for`` (another task per frame), resamples to 16 kHz mono
and converts through numpy. Here the receiver's decode stage is replaced by a
call on the loop that puts the packet in a bounded queue, and pipecat's reader
is replaced by one that decodes it with libopus at the pipeline's rate into
``InputAudioRawFrame``s: no thread hop, no resampler, no per-frame task.

Ahead of decoding, aiortc's audio jitter buffer holds back every packet until
four later ones have arrived (about 100 ms), which suits playing audio out but
only delays a listener: an Opus packet is a whole frame. ``PassThroughJitterBuffer``
hands each packet on as it arrives and drops the ones that arrive too late.

The aiortc fields touched (the receiver's jitter buffer, decoder queue and
``_enabled``) are reached through :mod:`rtvi_server.patches.aiortc`; where they
are missing the receiver keeps aiortc's own path. Once aiortc has routed the
first Opus packet here, the peer's later packets skip aiortc's receive path
altogether (:mod:`rtvi_server.sessions.lean_receive`) and arrive at ``accept``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Protocol

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import InputAudioRawFrame

from rtvi_server.audio.opus import OPUS_RATES, OpusDecoder, opus_available
from rtvi_server.patches import aiortc as aiortc_patches
from rtvi_server.sessions.lean_receive import LeanReceive, start_lean_receive

# About one second of 20 ms packets; older audio is dropped when nobody reads.
QUEUE_PACKETS = 50


@functools.cache
def inline_audio_supported() -> bool:
    """libopus is there and aiortc's receiver fields are where the patches expect."""
    return opus_available() and aiortc_patches.report().ok


class PassThroughJitterBuffer:
    """aiortc's jitter-buffer interface, minus the waiting: one packet, one frame.

    A packet older than the last one handed on (by RTP sequence, modulo 2**16) is
    dropped, so audio never goes back in time; a lost packet is a gap, as it is
    with aiortc's buffer.
    """

    capacity = 16  # read by aiortc's statistics, not used for buffering

    def __init__(self) -> None:
        self._last: int | None = None
        #: ``(ssrc, payload_type)`` of the last packet added (what the lean path learns).
        self.last_source: tuple[int, int] | None = None

    def admit(self, sequence: int) -> bool:
        """Whether a packet with this sequence number goes on (and, if so, it is the last)."""
        if self._last is not None and not 0 < (sequence - self._last) % 65536 < 32768:
            return False  # a duplicate, or later audio went on already
        self._last = sequence
        return True

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.last_source = (packet.ssrc, packet.payload_type)
        if not self.admit(packet.sequence_number):
            return False, None
        data = aiortc_patches.packet_frame_data(packet)
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def use_pass_through_jitter_buffer(receiver: Any) -> bool:
    """Give an aiortc audio receiver the pass-through buffer (idempotent)."""
    return aiortc_patches.replace_jitter_buffer(
        receiver, PassThroughJitterBuffer, PassThroughJitterBuffer
    )


class _InlineDecodeStage:
    """Stands in for an aiortc receiver's decoder queue.

    aiortc calls ``put((codec, encoded_frame))`` from the event loop for every
    complete frame, and ``put(None)`` when the receiver stops; its decoder
    thread blocks on ``get()``. Frames are decoded here, on the loop; the thread
    just waits for the stop so that aiortc's shutdown (which joins it) works.
    """

    def __init__(
        self, sink: InlineAudioInput, original: Any, receiver: Any, order: PassThroughJitterBuffer
    ) -> None:
        self._sink = sink
        self._original = original
        self._receiver = receiver
        self._order = order
        self._stopped = threading.Event()

    def put(self, item: Any) -> None:
        if item is None:
            self._stopped.set()
            self._original.put(None)  # a thread started before the swap waits there
            return
        codec, encoded_frame = item
        if codec.name.lower() == "opus":
            self._sink.accept(encoded_frame.data)
            self._sink.stock_packet_decoded(self._receiver, self._order)

    def get(self) -> None:
        self._stopped.wait()


class AudioEdge(Protocol):
    """Hears each frame where it enters; says which frames go on into pipecat."""

    async def hear(self, frame: InputAudioRawFrame) -> list[InputAudioRawFrame]: ...

    def audio_wanted(self) -> int:
        """Bytes of audio the edge can take before it may next let a frame on or
        decide anything (0: hand each frame over as it comes)."""
        ...


class InlineAudioInput:
    """Feeds one pipecat SmallWebRTC client from an inline Opus decoder.

    With an ``edge`` (the bot's listening gate), each decoded frame is heard
    there first, and only the frames it lets on enter pipecat's input transport.
    Packets wait here encoded and are decoded when read, as many as the edge
    wants at once: while the gate holds the audio, that is everything up to the
    VAD's next decision (a quiet session's run of windows: about ten packets),
    decoded and heard back to back in one wake-up instead of one per packet. The
    decision comes with the same packet it would have come with packet by packet.
    """

    def __init__(self, *, lean: bool = True) -> None:
        self._packets: deque[bytes] = deque(maxlen=QUEUE_PACKETS)
        #: How many packets the reader waits for (0: it is not waiting), and the
        #: event that says they are here.
        self._wanted = 0
        self._enough = asyncio.Event()
        self._decoder: OpusDecoder | None = None
        #: PCM bytes per decoded packet, at the pipeline's rate (the last one's).
        self._frame_bytes = 0
        self.packets = 0
        self.edge: AudioEdge | None = None
        self._lean_wanted = lean
        self._lean_tried: Any = None  # the receiver the lean path was last tried for
        #: The lean receive path, once it has taken over the peer's audio source.
        self.lean: LeanReceive | None = None

    @property
    def queued(self) -> int:
        """Packets waiting for the pipeline's reader (every counted packet is either
        read or still here, unless a full queue dropped the oldest)."""
        return len(self._packets)

    @property
    def waiting_for(self) -> int:
        """Packets the reader waits for before it reads on (0 while it reads)."""
        return self._wanted

    def attach(self, receiver: Any) -> bool:
        """Take over ``receiver``'s decoding (idempotent). False if it is not audio."""
        if getattr(receiver, "track", None) is None or receiver.track.kind != "audio":
            return False
        order = PassThroughJitterBuffer()
        aiortc_patches.no_decoder_thread_for(_InlineDecodeStage)  # attached before it starts
        taken = aiortc_patches.replace_decode_stage(
            receiver,
            lambda current: _InlineDecodeStage(self, current, receiver, order),
            _InlineDecodeStage,
        )
        return taken and aiortc_patches.replace_jitter_buffer(
            receiver, lambda: order, PassThroughJitterBuffer
        )

    def stock_packet_decoded(self, receiver: Any, order: PassThroughJitterBuffer) -> None:
        """An Opus packet came aiortc's way to ``receiver``: from its source on, take
        the lean path (tried once per receiver: where it cannot start, it never will)."""
        source = order.last_source
        if not self._lean_wanted or self._lean_tried is receiver or source is None:
            return
        self._lean_tried = receiver
        self.lean = start_lean_receive(receiver, *source, order, self.accept)

    def accept(self, packet: bytes) -> None:
        if self._decoder is None:
            return  # the pipeline has not started: nobody would hear it
        self.packets += 1
        self._packets.append(packet)  # a full queue drops its oldest
        if len(self._packets) >= self._wanted:
            self._enough.set()

    async def frames(self, sample_rate: int) -> AsyncIterator[InputAudioRawFrame]:
        """pipecat's ``read_audio_frame``: one frame per packet, at ``sample_rate``.

        Decoding starts here, at the pipeline's rate (48 kHz, then resampled, for a
        rate Opus cannot decode to, such as 44.1 kHz); packets queued before a
        restart are decoded at the new rate.
        """
        decoded_rate = sample_rate if sample_rate in OPUS_RATES else 48000
        if self._decoder is not None:
            self._decoder.close()
        self._decoder = decoder = OpusDecoder(decoded_rate)
        resampler = create_stream_resampler() if decoded_rate != sample_rate else None
        while True:
            await self._packets_arrived(self._packets_wanted())
            while self._packets:  # what is here, back to back
                pcm = decoder.decode(self._packets.popleft())
                if not pcm:
                    continue
                if resampler is not None:
                    pcm = await resampler.resample(pcm, decoded_rate, sample_rate)
                self._frame_bytes = len(pcm)
                frame = InputAudioRawFrame(audio=pcm, sample_rate=sample_rate, num_channels=1)
                if self.edge is None:
                    yield frame
                    continue
                for released in await self.edge.hear(frame):
                    yield released

    def _packets_wanted(self) -> int:
        """How many packets to wait for: as many as the edge takes before it may next
        let audio on or decide (rounded up: the packet that completes its need)."""
        wanted = self.edge.audio_wanted() if self.edge is not None else 0
        if wanted <= 0 or self._frame_bytes <= 0:
            return 1
        return min(QUEUE_PACKETS, -(-wanted // self._frame_bytes))

    async def _packets_arrived(self, wanted: int) -> None:
        self._wanted = wanted
        while len(self._packets) < wanted:
            self._enough.clear()
            await self._enough.wait()
        self._wanted = 0

    def close(self) -> None:
        self._lean_tried = None
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
