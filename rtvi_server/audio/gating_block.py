"""pipecat's VAD volume of one 0.4 s window, with the K-weighting filter in C.

pipecat measures the volume of the last 0.4 s at every model window while
someone speaks: ``calculate_audio_volume`` hands the window to the ``loudness``
package (libloudness), whose integrated loudness of exactly one BS.1770 gating
block is the block's K-weighted energy, gated at -70 LUFS and read back as the
centre of its 0.1 LU histogram bin; pipecat then maps -110..-10 LUFS onto 0..1.
Here the energy comes from ``_kweighting`` (a few C lines, about a third of
the package's time and no copies), and the gate, the bin and the mapping are
the same arithmetic in Python. Where the extension is not built, or the window
is not one gating block, it is pipecat's function itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from loguru import logger
from pipecat.audio.utils import calculate_audio_volume

#: A reader of the volume of the window of 16-bit PCM that starts at a byte offset.
Meter = Callable[[bytearray, int], float]

ABSOLUTE_GATE_LUFS = -70.0
#: libloudness's histogram: bins of 0.1 LU from the absolute gate up.
BIN_LU = 0.1
BINS = 1000
#: pipecat's mapping of loudness onto a volume between 0 and 1.
QUIET_LUFS, LOUD_LUFS = -110.0, -10.0
#: A gating block lasts 400 ms, four 100 ms parts rounded to whole samples.
BLOCK_PARTS = 4


def _compiled_filter() -> Callable[[bytearray, int, int, float], float] | None:
    try:
        from rtvi_server.audio._kweighting import mean_square
    except ImportError:  # not compiled (no C compiler at install): pipecat's meter
        return None
    return mean_square


mean_square = _compiled_filter()


def energy_to_lufs(energy: float) -> float:
    return 10 * math.log10(energy) - 0.691


def lufs_to_energy(lufs: float) -> float:
    return float(10 ** ((lufs + 0.691) / 10))


def volume_of(lufs: float) -> float:
    """pipecat's ``normalize_value`` onto its VAD's range, clamped."""
    return max(0.0, min(1.0, (lufs - QUIET_LUFS) / (LOUD_LUFS - QUIET_LUFS)))


_GATE_ENERGY = lufs_to_energy(ABSOLUTE_GATE_LUFS)
_TOP_ENERGY = lufs_to_energy((BINS - 1) * BIN_LU + ABSOLUTE_GATE_LUFS)
#: The volume pipecat reads for a block in each bin: its centre's loudness, mapped.
_BIN_VOLUMES = tuple(
    volume_of(energy_to_lufs(lufs_to_energy(i * BIN_LU + ABSOLUTE_GATE_LUFS + BIN_LU / 2)))
    for i in range(BINS)
)


def block_volume(energy: float) -> float:
    """The volume of one gating block of this mean-square K-weighted energy."""
    if energy < _GATE_ENERGY:
        return 0.0  # gated out: libloudness reads -inf, pipecat 0
    if energy >= _TOP_ENERGY:
        return _BIN_VOLUMES[-1]
    return _BIN_VOLUMES[int((energy_to_lufs(energy) - ABSOLUTE_GATE_LUFS) / BIN_LU)]


def is_one_gating_block(samples: int, sample_rate: int) -> bool:
    """Whether ``samples`` make exactly one block for libloudness at this rate."""
    part = (sample_rate + 5) // 10  # 100 ms, rounded to the nearest sample
    return samples == BLOCK_PARTS * part


def window_meter(sample_rate: int, window_samples: int, *, native: bool = True) -> Meter:
    """The volume pipecat's meter reads for a window of this many samples.

    ``native=False`` (or no compiled extension) gives pipecat's own function.
    """
    span = window_samples * 2
    if native and mean_square is not None and is_one_gating_block(window_samples, sample_rate):
        kweighted = mean_square
        rate = float(sample_rate)

        def measure_native(pcm: bytearray, start: int) -> float:
            return block_volume(kweighted(pcm, start // 2, window_samples, rate))

        return measure_native

    if native and mean_square is None:
        _tell_fallback()

    def measure_with_pipecat(pcm: bytearray, start: int) -> float:
        return float(calculate_audio_volume(bytes(pcm[start : start + span]), sample_rate))

    return measure_with_pipecat


@functools.cache
def _tell_fallback() -> None:
    """Say once per process that the C filter is missing: the server works, at a cost."""
    logger.warning(
        "rtvi_server.audio._kweighting is not built (no C compiler at install?):"
        " the VAD reads loudness through pipecat's meter, about 3x the CPU per"
        " window while someone speaks; reinstall with a compiler to build it"
    )
