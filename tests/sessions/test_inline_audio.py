"""The inline decode stage, between two real aiortc peers on loopback."""

import asyncio
import contextlib
import threading

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import InputAudioRawFrame

from bench.packet_audio import encode_clip
from rtvi_server.patches.aioice import host_candidates
from rtvi_server.sessions.inline_audio import InlineAudioInput, PassThroughJitterBuffer
from rtvi_server.testing import read_wav_pcm16
from rtvi_server.testing.webrtc_client import WavMicrophone

from ..support.wait import eventually

pytestmark = pytest.mark.slow

FIXTURE = "librivox_sense_and_sensibility_0930.wav"


async def connected_pair(before_connecting=None):
    """Two peers on loopback; ``before_connecting(receiver)`` runs once the receiving
    peer has its transceivers, before they start (as the server attaches)."""
    sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    microphone = WavMicrophone()
    sender.addTrack(microphone)
    with host_candidates(["127.0.0.1"]):
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        if before_connecting is not None:
            before_connecting(receiver)
        await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    await eventually(lambda: receiver.connectionState == "connected", what="the peers connecting")
    return sender, receiver, microphone


@contextlib.asynccontextmanager
async def connected(inline, before_connecting=None):
    """Two peers on loopback, ``inline`` there to take the receiver's audio; all closed after."""
    sender, receiver, microphone = await connected_pair(before_connecting)
    try:
        yield sender, receiver, microphone
    finally:
        await sender.close()
        await asyncio.wait_for(receiver.close(), 10)  # joins aiortc's (idle) decoder thread
        inline.close()


async def collect(inline, sample_rate, seconds):
    frames = []

    async def read():
        async for frame in inline.frames(sample_rate):
            frames.append(frame)

    reader = asyncio.create_task(read())
    await asyncio.sleep(seconds)
    reader.cancel()
    return frames


async def speech_segments(pcm):
    """pipecat's own analyzer: (start, stop) frame indexes of each speech segment."""
    vad = SileroVADAnalyzer(sample_rate=16000)
    vad.set_sample_rate(16000)
    segments, start, previous = [], None, VADState.QUIET
    for i in range(0, len(pcm) - 640, 640):
        state = await vad.analyze_audio(pcm[i : i + 640])
        if state == VADState.SPEAKING and previous != VADState.SPEAKING:
            start = i // 640
        if state == VADState.QUIET and previous != VADState.QUIET and start is not None:
            segments.append((start, i // 640))
        previous = state
    return segments


async def test_peer_audio_arrives_decoded_at_16k_on_the_loop(fixtures):
    inline = InlineAudioInput()
    async with connected(inline) as (_, receiver, microphone):
        rtp_receiver = receiver.getReceivers()[0]
        assert inline.attach(rtp_receiver)
        assert inline.attach(rtp_receiver)  # idempotent
        assert isinstance(rtp_receiver._RTCRtpReceiver__jitter_buffer, PassThroughJitterBuffer)

        speech = read_wav_pcm16(fixtures / FIXTURE, 16000)
        microphone.play(speech)
        frames = await collect(inline, 16000, len(speech) / 32000 + 1.0)

        assert frames, "no audio came through the inline stage"
        assert {(f.sample_rate, f.num_channels, len(f.audio)) for f in frames} == {(16000, 1, 640)}
        # Nothing went the stock way (aiortc's decoder thread and track queue).
        assert rtp_receiver.track._queue.empty()
        assert inline.packets == len(frames) + inline.queued  # read, or not yet

        received = b"".join(f.audio for f in frames)
        got = np.frombuffer(received, np.int16).astype(np.float64)
        want = np.frombuffer(speech, np.int16).astype(np.float64)
        lag = int(np.argmax(np.correlate(got, want[:16000], mode="valid")))
        aligned = got[lag : lag + len(want)]
        assert (
            np.corrcoef(aligned, want[: len(aligned)])[0, 1] > 0.7
        )  # lossy, but the same waveform
        # pipecat's VAD finds the same speech in what arrived as in what was sent
        # (preceded by the same silence), to within two 20 ms frames.
        sent_segments = await speech_segments(b"\0" * (2 * lag) + speech)
        got_segments = await speech_segments(received)
        assert len(got_segments) == len(sent_segments) >= 1
        for (s0, e0), (s1, e1) in zip(sent_segments, got_segments, strict=True):
            assert abs(s0 - s1) <= 2
            assert abs(e0 - e1) <= 2


def decoder_threads():
    return [t for t in threading.enumerate() if t.name == "audio-decoder" and t.is_alive()]


async def test_attached_before_it_starts_a_receiver_runs_no_decoder_thread(fixtures):
    """As the server attaches (after the offer, before ICE): aiortc's decoder thread
    would only wait for the stop, so none starts; audio arrives, and the stop
    still ends the receiver's track."""
    inline = InlineAudioInput()
    threads_before = len(decoder_threads())

    def attach(peer):
        assert inline.attach(peer.getReceivers()[0])

    async with connected(inline, before_connecting=attach) as (_, receiver, microphone):
        track = receiver.getReceivers()[0].track
        assert len(decoder_threads()) == threads_before
        microphone.play(read_wav_pcm16(fixtures / FIXTURE, 16000)[:16000])
        frames = await collect(inline, 16000, 1.0)
        assert frames, "no audio came through the inline stage"
        await receiver.getReceivers()[0].stop()
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(track.recv(), 5)  # ended, as the thread would end it


async def test_a_rate_opus_cannot_decode_to_is_resampled(fixtures):
    inline = InlineAudioInput()
    async with connected(inline) as (_, receiver, microphone):
        inline.attach(receiver.getReceivers()[0])
        microphone.play(read_wav_pcm16(fixtures / FIXTURE, 16000)[:32000])
        frames = await collect(inline, 44100, 1.5)
        assert frames
        assert {f.sample_rate for f in frames} == {44100}
        assert sum(len(f.audio) for f in frames) / 2 / 44100 > 1.0


def test_pass_through_buffer_hands_each_packet_on_at_once_and_never_goes_back():
    buffer = PassThroughJitterBuffer()

    def add(sequence):
        packet = RtpPacket(sequence_number=sequence, timestamp=sequence * 960)
        packet._data = bytes([sequence % 256])
        return buffer.add(packet)[1]

    assert add(65534).data == bytes([254])  # no waiting for later packets
    assert add(65535).timestamp == 65535 * 960
    assert add(65535) is None  # duplicate
    assert add(0).data == b"\x00"  # across the 16-bit wrap
    assert add(65533) is None  # arrived after later audio went on
    assert add(3).data == b"\x03"  # after a loss: a gap, not a stall


async def test_with_an_edge_only_the_frames_the_gate_lets_on_enter_pipecat(fixtures):
    from pipecat.frames.frames import VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame

    from rtvi_server.processor import ListeningGate
    from rtvi_server.processor.listening_gate import EVENTS, HEARD

    inline = InlineAudioInput()
    vad = SileroVADAnalyzer(sample_rate=16000)
    vad.set_sample_rate(16000)  # (what the pipeline's setup does)
    gate = ListeningGate(vad, hangover_secs=0.3)
    inline.edge = gate
    async with connected(inline) as (_, receiver, microphone):
        inline.attach(receiver.getReceivers()[0])
        quiet = np.random.default_rng(5).normal(0, 30, 16000 * 2).astype(np.int16).tobytes()
        speech = read_wav_pcm16(fixtures / FIXTURE, 16000)
        microphone.play(quiet + speech + quiet)
        frames = await collect(inline, 16000, (len(speech) + 2 * len(quiet)) / 32000 + 0.5)

        assert all(f.metadata.get(HEARD) for f in frames)  # the gate passes them straight on
        events = [kind for f in frames for kind, _ in f.metadata.get(EVENTS, ())]
        assert VADUserStartedSpeakingFrame in events
        assert VADUserStoppedSpeakingFrame in events
        # Of the 2 s of quiet room before the speech only the 1.2 s pre-roll came through,
        # and of the 2 s after it only the 0.3 s hangover (and the VAD's stop_secs).
        assert inline.packets - len(frames) >= (0.8 + 1.0) / 0.02
        assert gate.frames_dropped >= 0.8 / 0.02


async def next_frame_task(reader):
    """The reader's next frame, as a task that has run up to its wait for a packet."""
    task = asyncio.ensure_future(reader.__anext__())
    await asyncio.sleep(0)  # one turn of the loop: the reader makes its decoder, then waits
    return task


@pytest.mark.parametrize("rate", [16000, 48000])
async def test_a_restarted_reader_decodes_what_was_queued_at_its_own_rate(fixtures, rate):
    packets = encode_clip(read_wav_pcm16(fixtures / FIXTURE, 16000)[:16000]).packets
    inline = InlineAudioInput(lean=False)
    reader = inline.frames(16000)
    first = await next_frame_task(reader)
    for packet in packets[:10]:
        inline.accept(packet)
    assert len((await first).audio) == 640  # 20 ms at 16 kHz
    assert inline.queued == 9  # still encoded
    await reader.aclose()
    reader = inline.frames(rate)  # pipecat restarts its reader, maybe at another rate
    frame = await reader.__anext__()
    assert frame.sample_rate == rate
    assert len(frame.audio) == rate // 50 * 2  # decoded at the new rate, labelled so
    assert inline.queued == 8
    await reader.aclose()
    inline.close()


def quiet_then_speech(fixtures):
    quiet = np.random.default_rng(8).normal(0, 30, 16000 * 2).astype(np.int16).tobytes()
    return encode_clip(quiet + read_wav_pcm16(fixtures / FIXTURE, 16000) + quiet).packets


def vad_events(frame):
    """The VAD's start and stop on a released frame (its speaking-activity events
    follow the wall clock, not the audio)."""
    from pipecat.frames.frames import VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame

    from rtvi_server.processor.listening_gate import EVENTS

    kinds = (VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame)
    return [kind for kind, _ in frame.metadata.get(EVENTS, ()) if kind in kinds]


async def gate_per_packet(packets):
    """The gate hearing each packet's frame as it arrives: per packet, the frames it
    let on and the VAD events they carry."""
    from rtvi_server.audio import BatchedSileroVADAnalyzer, SileroBatchEngine
    from rtvi_server.audio.opus import OpusDecoder
    from rtvi_server.processor import ListeningGate

    vad = BatchedSileroVADAnalyzer(engine=SileroBatchEngine())
    vad.set_sample_rate(16000)
    gate, decoder, out = ListeningGate(vad), OpusDecoder(16000), []
    for packet in packets:
        released = await gate.hear(
            InputAudioRawFrame(audio=decoder.decode(packet), sample_rate=16000, num_channels=1)
        )
        out.append([(f.audio, vad_events(f)) for f in released])
    await vad.cleanup()
    return out


async def test_while_the_gate_holds_audio_packets_are_decoded_at_the_vads_next_decision(
    fixtures,
):
    """Packets wait encoded until the VAD can next decide (a quiet session's run of six
    windows: ten 20 ms packets), then go back to back; yet every frame and VAD event
    leaves with the same packet as when each packet is heard on arrival."""
    from rtvi_server.audio import BatchedSileroVADAnalyzer, SileroBatchEngine
    from rtvi_server.processor import ListeningGate

    packets = quiet_then_speech(fixtures)
    expected = await gate_per_packet(packets)
    engine = SileroBatchEngine()
    vad = BatchedSileroVADAnalyzer(engine=engine)
    vad.set_sample_rate(16000)
    inline = InlineAudioInput(lean=False)
    inline.edge = ListeningGate(vad)
    released = []

    async def read():
        async for frame in inline.frames(16000):
            released.append((frame.audio, vad_events(frame)))

    reader = asyncio.create_task(read())
    await eventually(lambda: inline.waiting_for == 1, what="the reader waiting")
    got, waited = [], []
    for packet in packets:
        inline.accept(packet)
        # The reader has read what it could and waits for more.
        await eventually(lambda: inline.waiting_for > inline.queued, what="the reader idle")
        waited.append(inline.waiting_for)
        got.append(released[:])
        released.clear()
    reader.cancel()
    assert got == expected
    heard = {kind for frames in got for _, events in frames for kind in events}
    assert len(heard) == 2  # the speech was heard start and stop
    # While quiet the reader woke once per run of six windows, not once per packet.
    assert waited[1] == 9  # 192 ms of audio less the first packet's 20 ms
    assert max(waited) == 10
    assert sum(1 for w in waited if w > 1) > len(packets) // 4
    await vad.cleanup()
    inline.close()
