"""The benchmark's options: which sides run, and where repeated points log."""

import argparse

import pytest

from bench.__main__ import _free_log_name
from bench.options import SIDES, sides


def test_sides_are_named_from_the_two_servers():
    assert sides("rtvi-server") == ("rtvi-server",)
    assert sides("stock-pipecat, rtvi-server") == ("stock-pipecat", "rtvi-server")
    assert set(sides(",".join(SIDES))) == set(SIDES)
    for bad in ("livekit", "", ","):
        with pytest.raises(argparse.ArgumentTypeError, match="sides are"):
            sides(bad)


def test_a_point_run_again_logs_beside_the_first_not_over_it(tmp_path):
    first = _free_log_name(tmp_path, "rtvi-server-64")
    assert first.name == "rtvi-server-64.log"
    first.write_text("first run")
    second = _free_log_name(tmp_path, "rtvi-server-64")
    assert second.name == "rtvi-server-64-2.log"
    second.write_text("second run")
    assert _free_log_name(tmp_path, "rtvi-server-64").name == "rtvi-server-64-3.log"
    assert first.read_text() == "first run"
