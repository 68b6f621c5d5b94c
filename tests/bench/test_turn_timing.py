"""When each benchmark session takes its first turn: spread out, or all at once."""

from bench.__main__ import Audio, Run
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
