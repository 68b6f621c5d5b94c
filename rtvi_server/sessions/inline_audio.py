"""The peer's audio, decoded on the event loop straight to the pipeline's rate.

Stock path, per 20 ms packet: aiortc hands the encoded frame to a decoder
thread, which decodes 48 kHz stereo and posts it back to the loop with
``run_coroutine_threadsafe`` (a task per frame); pipecat's reader then waits on
the track with ``wait_for`` (another task per frame), resamples to 16 kHz mono
and converts through numpy. Here the receiver's decode stage is replaced by a
call on the loop that decodes the packet with libopus at the pipeline's rate
into a bounded queue, and pipecat's reader is replaced by one that turns that
PCM into ``InputAudioRawFrame``s: no thread hop, no resampler, no per-frame task.

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


class InlineAudioInput:
    """Feeds one pipecat SmallWebRTC client from an inline Opus decoder.

    With an ``edge`` (the bot's listening gate), each decoded frame is heard
    there first, and only the frames it lets on enter pipecat's input transport.
    """

    def __init__(self, *, lean: bool = True) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_PACKETS)
        self._decoder: OpusDecoder | None = None
        self.packets = 0
        self.edge: AudioEdge | None = None
        self._lean_wanted = lean
        self._lean_tried: Any = None  # the receiver the lean path was last tried for
        #: The lean receive path, once it has taken over the peer's audio source.
        self.lean: LeanReceive | None = None

    @property
    def queued(self) -> int:
        """Decoded packets waiting for the pipeline's reader (every counted packet is
        either read or still here, unless a full queue dropped the oldest)."""
        return self._queue.qsize()

    def attach(self, receiver: Any) -> bool:
        """Take over ``receiver``'s decoding (idempotent). False if it is not audio."""
        if getattr(receiver, "track", None) is None or receiver.track.kind != "audio":
            return False
        order = PassThroughJitterBuffer()
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
        pcm = self._decoder.decode(packet)
        if not pcm:
            return
        self.packets += 1
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(pcm)

    async def frames(self, sample_rate: int) -> AsyncIterator[InputAudioRawFrame]:
        """pipecat's ``read_audio_frame``: one frame per decoded packet, at ``sample_rate``.

        Decoding starts here, at the pipeline's rate (48 kHz, then resampled, for a
        rate Opus cannot decode to, such as 44.1 kHz).
        """
        decoded_rate = sample_rate if sample_rate in OPUS_RATES else 48000
        if self._decoder is not None:
            if self._decoder.sample_rate != decoded_rate:
                self._drop_queued()  # read at the new rate, it would play at the wrong speed
            self._decoder.close()
        self._decoder = OpusDecoder(decoded_rate)
        resampler = create_stream_resampler() if decoded_rate != sample_rate else None
        while True:
            pcm = await self._queue.get()
            if resampler is not None:
                pcm = await resampler.resample(pcm, decoded_rate, sample_rate)
            frame = InputAudioRawFrame(audio=pcm, sample_rate=sample_rate, num_channels=1)
            if self.edge is None:
                yield frame
                continue
            for released in await self.edge.hear(frame):
                yield released

    def _drop_queued(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def close(self) -> None:
        self._lean_tried = None
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
