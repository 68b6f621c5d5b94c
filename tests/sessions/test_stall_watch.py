"""The loop stall watch: a held loop is reported with where it was held."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from rtvi_server.sessions.metrics import ServerMetrics
from rtvi_server.sessions.stall_watch import LoopStallWatch, Stall
from tests.support.wait import eventually


def _hold_the_loop(secs: float) -> None:
    """Busy work on the loop's thread, as a runaway callback would do."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        pass


async def test_a_held_loop_is_reported_with_its_length_and_stack() -> None:
    reports: list[Stall] = []
    watch = LoopStallWatch(0.1, report=reports.append)
    watch.start()
    try:
        await eventually(lambda: watch.stalls == 0 and reports == [], what="a quiet start")
        _hold_the_loop(0.4)
        await eventually(lambda: reports, what="a stall report")
    finally:
        watch.stop()
    (stall,) = reports
    assert 0.3 <= stall.secs < 1.0
    assert any("_hold_the_loop" in line for line in stall.where)
    assert watch.stalls == 1
    assert watch.stalled_secs == pytest.approx(stall.secs)


async def test_a_loop_that_keeps_its_beat_reports_nothing() -> None:
    reports: list[Stall] = []
    watch = LoopStallWatch(0.2, report=reports.append)
    watch.start()
    try:
        for _ in range(20):  # short holds, each under the threshold
            _hold_the_loop(0.02)
            await asyncio.sleep(0)
    finally:
        watch.stop()
    assert reports == []
    assert watch.stalls == 0


async def test_a_failing_reporter_does_not_stop_the_beat() -> None:
    def broken(_stall: Stall) -> None:
        raise RuntimeError("reporter down")

    watch = LoopStallWatch(0.05, report=broken)
    watch.start()
    try:
        _hold_the_loop(0.15)
        await eventually(lambda: watch.stalls == 1, what="the first stall counted")
        _hold_the_loop(0.15)
        await eventually(lambda: watch.stalls == 2, what="the second stall counted")
    finally:
        watch.stop()


async def test_the_time_before_start_is_not_a_stall() -> None:
    reports: list[Stall] = []
    watch = LoopStallWatch(0.05, report=reports.append)
    _hold_the_loop(0.15)  # a server's startup work between making the watch and starting it
    watch.start()
    try:
        assert reports == []
        _hold_the_loop(0.15)
        await eventually(lambda: reports, what="the stall after start")
    finally:
        watch.stop()
    assert len(reports) == 1
    assert reports[0].secs < 0.3


def test_the_description_names_the_most_seen_stack() -> None:
    stall = Stall(0.5, Counter({("a.py:1 f", "b.py:2 g"): 3, ("a.py:1 f",): 1}))
    text = stall.describe()
    assert text.startswith("event loop stalled 500 ms (3/4 samples in):")
    assert text.endswith("b.py:2 g")
    assert Stall(0.3).describe() == "event loop stalled 300 ms (not sampled)"


def test_the_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopStallWatch(0)


def test_metrics_count_stalls() -> None:
    watch = LoopStallWatch(0.1)
    watch.stalls, watch.stalled_secs = 2, 0.75
    text = ServerMetrics(lambda: 0, stall_watch=watch).render()
    assert "rtvi_event_loop_stalls_total 2" in text
    assert "rtvi_event_loop_stalled_seconds_total 0.750000" in text
    assert "rtvi_event_loop_stalls_total" not in ServerMetrics(lambda: 0).render()
