"""The lean RTP header reader agrees with aiortc's full parser, and the audio level
a sender writes agrees with aiortc's."""

import av
import numpy as np
import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from rtvi_server.audio.rtp import audio_level_dbov, parse_rtp
from rtvi_server.patches import aiortc as aiortc_patches

EXTENSIONS = HeaderExtensionsMap()
EXTENSIONS.configure(
    RTCRtpParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level")
        ]
    )
)


AFTER = ("extensions", "csrc", "padding_size")


def serialized(**fields) -> bytes:
    packet = RtpPacket(**{k: v for k, v in fields.items() if k not in AFTER})
    packet.csrc = fields.get("csrc", [])
    packet.padding_size = fields.get("padding_size", 0)
    if "extensions" in fields:
        packet.extensions.audio_level = fields["extensions"]
    return packet.serialize(EXTENSIONS)


CASES = {
    "plain": {
        "payload_type": 111,
        "sequence_number": 7,
        "timestamp": 960,
        "ssrc": 0xDEADBEEF,
        "payload": b"\x01\x02",
    },
    "marker": {
        "payload_type": 111,
        "marker": 1,
        "sequence_number": 65535,
        "timestamp": 2**32 - 1,
        "ssrc": 1,
        "payload": b"x" * 80,
    },
    "csrc": {
        "payload_type": 96,
        "sequence_number": 1,
        "timestamp": 1,
        "ssrc": 2,
        "csrc": [5, 6, 7],
        "payload": b"abc",
    },
    "extension": {
        "payload_type": 111,
        "sequence_number": 9,
        "timestamp": 9,
        "ssrc": 3,
        "extensions": (False, 40),
        "payload": b"opus",
    },
    "padding": {
        "payload_type": 111,
        "sequence_number": 9,
        "timestamp": 9,
        "ssrc": 4,
        "padding_size": 5,
        "payload": b"opus!",
    },
    "empty": {"payload_type": 111, "sequence_number": 2, "timestamp": 3, "ssrc": 4, "payload": b""},
}


@pytest.mark.parametrize("name", CASES)
def test_the_header_and_payload_are_what_aiortc_reads(name):
    data = serialized(**CASES[name])
    reference = RtpPacket.parse(data, EXTENSIONS)
    parsed = parse_rtp(data)
    assert parsed is not None
    header, payload = parsed
    assert payload == reference.payload
    assert header.payload_type == reference.payload_type
    assert header.sequence_number == reference.sequence_number
    assert header.timestamp == reference.timestamp
    assert header.ssrc == reference.ssrc
    assert bool(data[0] & 0x10) == ("extensions" in CASES[name])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x6f" + b"\0" * 9,  # shorter than the fixed header
        b"\x00\x6f" + b"\0" * 10,  # RTP version 0
        b"\x83\x6f" + b"\0" * 10,  # three CSRCs announced, none there
        b"\x90\x6f" + b"\0" * 10 + b"\xbe\xde",  # an extension cut short
        b"\x90\x6f" + b"\0" * 10 + b"\xbe\xde\x00\x09",  # an extension longer than the packet
        b"\xa0\x6f" + b"\0" * 10 + b"ab\x09",  # more padding than packet
        b"\xa0\x6f" + b"\0" * 10 + b"ab\x00",  # padding of length zero
    ],
)
def test_a_malformed_packet_is_none_not_an_exception(data):
    assert parse_rtp(data) is None


def aiortc_level(pcm: bytes, rate: int) -> int:
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    level = aiortc_rtp.compute_audio_level_dbov
    return getattr(level, "replaces", level)(frame)  # aiortc's own, patched or not


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
def test_the_audio_level_is_aiortcs_to_the_dbov(rate):
    rng = np.random.default_rng(rate)
    levels = []
    for scale in [0, 1, 3, 30, 300, 3000, 20000, 32767]:
        for _ in range(5):
            samples = np.clip(rng.normal(0, scale, rate // 100), -32768, 32767)
            pcm = samples.astype(np.int16).tobytes()
            ours = audio_level_dbov(pcm, rate // 100)
            assert ours == aiortc_level(pcm, rate), scale
            levels.append(ours)
    full = np.full(rate // 100, -32768, dtype=np.int16).tobytes()
    assert audio_level_dbov(full, rate // 100) == aiortc_level(full, rate) == 0
    assert min(levels) == -127  # silence
    assert len(set(levels)) > 6


def test_senders_compute_the_level_with_the_function_they_are_given():
    assert aiortc_patches.use_audio_level(audio_level_dbov)
    assert aiortc_patches.use_audio_level(audio_level_dbov)  # twice is once
    installed = aiortc_rtp.compute_audio_level_dbov
    assert installed.computes_with is audio_level_dbov
    assert not hasattr(installed.replaces, "computes_with")
    pcm = (np.sin(np.arange(480) / 5) * 9000).astype(np.int16).tobytes()
    frame = av.AudioFrame(format="s16", layout="mono", samples=480)
    frame.planes[0].update(pcm)
    assert installed(frame) == installed.replaces(frame) == audio_level_dbov(pcm, 480)
