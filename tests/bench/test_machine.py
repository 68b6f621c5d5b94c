"""The machine's speed, read from fixed workloads, goes with every benchmark report."""

import asyncio

import pytest

from bench import machine
from bench.machine import MachineSpeed, fastest


def test_fastest_is_the_least_disturbed_repeat_per_unit(monkeypatch):
    # Three repeats on a fake clock: 3, 2 and 6 s for 4 units each.
    ticks = iter([0.0, 3.0, 10.0, 12.0, 20.0, 26.0])
    monkeypatch.setattr(machine.time, "perf_counter", lambda: next(ticks))
    assert fastest(lambda: 4) == pytest.approx(0.5)


def test_the_hop_workload_passes_every_frame_through_every_queue():
    assert asyncio.run(machine.hop_chain(50, 3)) == 150


def test_a_report_line_names_each_workload():
    speed = MachineSpeed("Some CPU", 2, "3.11.7", 9.25, 48.0, 31.5)
    line = speed.line()
    assert line.startswith("Machine: Some CPU, 2 CPUs, Python 3.11.7;")
    assert "frame hop 9.2 us" in line
    assert "Opus packet decoded 48.0 us" in line
    assert "Silero window 31.5 us" in line
    assert speed.summary()["hop_us"] == 9.25
    later = MachineSpeed("Some CPU", 2, "3.11.7", 12.0, 50.25, 40.0)
    bracket = speed.line(later)
    assert "fixed workloads before / after the run:" in bracket
    assert "frame hop 9.2 / 12.0 us" in bracket
    assert "Opus packet decoded 48.0 / 50.2 us" in bracket
    assert "Silero window 31.5 / 40.0 us" in bracket


def test_the_workloads_take_measurable_time_on_real_parts():
    from rtvi_server.audio.opus import OpusEncoder

    encoder = OpusEncoder(16000)
    packets = tuple(encoder.encode(b"\x10\x00" * 320) for _ in range(20))
    encoder.close()
    speed = machine.measure(packets)
    assert speed.cpus >= 1
    assert speed.cpu
    assert speed.hop_us > 0
    assert speed.opus_decode_us > 0
    assert speed.silero_window_us > 0
