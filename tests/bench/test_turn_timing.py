"""When each benchmark session takes its first turn: spread out, or all at once."""

import asyncio

import pytest

from bench.__main__ import Audio, MicrophoneStalledError, Run, played
from bench.side_table import SideResult


def run(stagger_secs: float) -> Run:
    result = SideResult("rtvi-server", 3)
    run = Run("rtvi-server", "http://127.0.0.1:1", Audio(b"", b""), turns=1, gap=1.5, result=result)
    run.stagger_secs = stagger_secs
    return run


def test_sessions_first_turns_are_spread_evenly():
    spread = run(0.5)
    assert [spread.first_turn_delay() for _ in range(3)] == [0.0, 0.5, 1.0]


def test_in_lockstep_every_session_speaks_at_once():
    lockstep = run(0.0)
    assert [lockstep.first_turn_delay() for _ in range(3)] == [0.0, 0.0, 0.0]


async def test_a_microphone_that_stops_sending_fails_its_session_in_bounded_time(monkeypatch):
    """aiortc's sender ends on a send error: the clip is never played out, and the
    session fails instead of waiting for the run's timeout."""
    monkeypatch.setattr("bench.__main__.MICROPHONE_SLACK_SECS", 0.05)
    never_played = asyncio.Event()
    with pytest.raises(MicrophoneStalledError, match=r"not played in 0\.1 s"):
        await played(never_played, clip_secs=0.1)


async def test_a_played_clip_returns_at_once():
    done = asyncio.Event()
    done.set()
    await played(done, clip_secs=0.0)
