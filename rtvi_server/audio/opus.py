"""Opus straight to and from the pipeline's rate: decoding for the listening
path, encoding for the bot's voice.

aiortc decodes every Opus packet to 48 kHz stereo (in a thread per receiver)
and pipecat then resamples each frame to 16 kHz mono. libopus can decode to 8,
12, 16, 24 or 48 kHz mono itself, which is cheaper than decoding at 48 kHz and
leaves nothing to resample. The same holds the other way: aiortc resamples the
bot's mono voice to 48 kHz stereo and encodes that at 96 kbit/s, where libopus
takes the voice mono at its own rate. PyAV's codecs always ask libopus for
48 kHz, so this module calls libopus directly: the system's ``libopus.so.0``
when there is one, else the copy PyAV's wheel bundles.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
from functools import cache
from pathlib import Path
from typing import Final

OPUS_RATES: Final = frozenset({8000, 12000, 16000, 24000, 48000})
# The longest Opus packet is 120 ms.
_MAX_PACKET_SECS: Final = 0.12
#: opus_defines.h: the speech-tuned mode (aiortc's too), and the bit-rate request.
_APPLICATION_VOIP: Final = 2048
_SET_BITRATE_REQUEST: Final = 4002
#: RFC 7587 recommends at most 1275 bytes per frame; 20 ms at any rate fits.
_MAX_PACKET_BYTES: Final = 1275
#: Mono wideband-to-fullband speech is transparent around 32 kbit/s (RFC 7587
#: section 3.1.1 gives 28-40 for fullband speech).
VOICE_BITRATE: Final = 32000


class OpusUnavailableError(RuntimeError):
    """No libopus could be loaded; callers fall back to aiortc's decoder."""


def _candidates() -> list[str]:
    found = ctypes.util.find_library("opus")
    names = [found] if found else []
    names.append("libopus.so.0")
    spec = importlib.util.find_spec("av")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent.parent / "av.libs"
        names += sorted(str(p) for p in bundled.glob("libopus*.so*"))
    return names


_INT, _INT32, _PTR = ctypes.c_int, ctypes.c_int32, ctypes.c_void_p
#: The libopus functions this module calls: (result, arguments); ``None`` arguments
#: for a variadic function, whose every call types its own.
_SIGNATURES: Final[dict[str, tuple[type | None, list[type] | None]]] = {
    "opus_decoder_create": (_PTR, [_INT32, _INT, ctypes.POINTER(_INT)]),
    "opus_decode": (_INT, [_PTR, ctypes.c_char_p, _INT32, _PTR, _INT, _INT]),
    "opus_decoder_destroy": (None, [_PTR]),
    "opus_encoder_create": (_PTR, [_INT32, _INT, _INT, ctypes.POINTER(_INT)]),
    "opus_encode": (_INT32, [_PTR, ctypes.c_char_p, _INT, _PTR, _INT32]),
    "opus_encoder_ctl": (_INT, None),
    "opus_encoder_destroy": (None, [_PTR]),
}


@cache
def load_libopus() -> ctypes.CDLL:
    """The libopus library, with the functions this module uses typed."""
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        for function, (result, arguments) in _SIGNATURES.items():
            getattr(lib, function).restype = result
            if arguments is not None:
                getattr(lib, function).argtypes = arguments
        return lib
    raise OpusUnavailableError("libopus was not found (neither the system's nor PyAV's)")


def check_rate(sample_rate: int) -> None:
    """Refuse a rate libopus does not code at (ValueError naming it)."""
    if sample_rate not in OPUS_RATES:
        raise ValueError(f"Opus codes at {sorted(OPUS_RATES)} Hz, not {sample_rate}")


def opus_available() -> bool:
    try:
        load_libopus()
    except OpusUnavailableError:
        return False
    return True


class OpusDecoder:
    """One Opus stream decoded to 16-bit mono PCM at ``sample_rate``."""

    _state: int | None = None

    def __init__(self, sample_rate: int = 16000) -> None:
        check_rate(sample_rate)
        self._lib = load_libopus()
        error = ctypes.c_int(0)
        self._state = self._lib.opus_decoder_create(sample_rate, 1, ctypes.byref(error))
        if error.value != 0 or not self._state:
            raise OpusUnavailableError(f"opus_decoder_create failed ({error.value})")
        self.sample_rate = sample_rate
        self._max_samples = int(sample_rate * _MAX_PACKET_SECS)
        self._pcm = ctypes.create_string_buffer(self._max_samples * 2)

    def decode(self, packet: bytes) -> bytes:
        """PCM for one packet (empty for an undecodable one: a lost packet is a gap)."""
        if self._state is None:
            raise RuntimeError("decoder closed")
        if not packet:
            return b""  # libopus would conceal a lost packet with up to 120 ms of sound
        samples = self._lib.opus_decode(
            self._state, packet, len(packet), self._pcm, self._max_samples, 0
        )
        if samples <= 0:
            return b""
        return ctypes.string_at(self._pcm, samples * 2)

    def close(self) -> None:
        if self._state is not None:
            self._lib.opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


class OpusEncoder:
    """16-bit mono PCM at ``sample_rate`` to Opus, one 20 ms packet at a time."""

    _state: int | None = None

    def __init__(self, sample_rate: int = 24000, bitrate: int = VOICE_BITRATE) -> None:
        check_rate(sample_rate)
        self._lib = load_libopus()
        error = ctypes.c_int(0)
        self._state = self._lib.opus_encoder_create(
            sample_rate, 1, _APPLICATION_VOIP, ctypes.byref(error)
        )
        if error.value != 0 or not self._state:
            raise OpusUnavailableError(f"opus_encoder_create failed ({error.value})")
        request = ctypes.c_int(_SET_BITRATE_REQUEST)
        status = self._lib.opus_encoder_ctl(
            ctypes.c_void_p(self._state), request, ctypes.c_int32(bitrate)
        )
        if status != 0:
            self.close()
            raise ValueError(f"libopus refused a bit rate of {bitrate} ({status})")
        self.sample_rate = sample_rate
        self.packet_samples = sample_rate // 50
        self._out = ctypes.create_string_buffer(_MAX_PACKET_BYTES)

    def encode(self, pcm: bytes) -> bytes:
        """One packet for exactly 20 ms of PCM."""
        if self._state is None:
            raise RuntimeError("encoder closed")
        if len(pcm) != self.packet_samples * 2:
            raise ValueError(f"a packet takes {self.packet_samples} samples, not {len(pcm) // 2}")
        size = self._lib.opus_encode(
            self._state, pcm, self.packet_samples, self._out, _MAX_PACKET_BYTES
        )
        if size < 0:
            raise RuntimeError(f"opus_encode failed ({size})")
        return ctypes.string_at(self._out, size)

    def close(self) -> None:
        if self._state is not None:
            self._lib.opus_encoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()
