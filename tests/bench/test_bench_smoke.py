"""The benchmark's short run, as CI's smoke test: both sides measured, no timing assertions."""

import json
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow


def test_bench_smoke_run_reports_both_sides(tmp_path):
    """The packet client drives both sides; the figure and the profile are written."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sessions",
            "1",
            "--turns",
            "1",
            "--listen",
            "2",
            "--profile",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    (kept,) = tmp_path.glob("run-*.json")  # this run's figures, kept past the next run
    assert json.loads(kept.read_text()) == report
    assert report["lockstep"] is False
    machine = report["machine"]  # the fixed workloads that say how fast the machine was
    assert machine["cpus"] >= 1
    workloads = ("hop_us", "opus_decode_us", "silero_window_us")
    for reading in (machine, report["machine_after"]):  # before and after the run
        assert all(reading[k] > 0 for k in workloads)
    sides = {r["side"]: r for r in report["results"]}
    assert set(sides) == {"rtvi-server", "stock-pipecat"}
    for r in sides.values():
        assert r["connected"] == 1
        assert r["cpu_seconds"] > 0
        assert r["listen_cpu_ms_per_frame"] > 0
        assert r["start_to_ready_ms"]
        assert len(r["turn_extra_ms"]) + r["turns_missed"] == 1
        assert r["client"] == "packets"
        if r["side"] == "rtvi-server":
            assert r["turns_missed"] == 0  # the bot's audio was heard from its RTP level
        assert 0 < r["client_cpu"] < 2
    assert (tmp_path / "latest.png").read_bytes().startswith(b"\x89PNG")
    profile = (tmp_path / "profile-1.md").read_text()
    assert "samples" in profile
    assert "| self | function |" in profile
    table = (tmp_path / "latest.md").read_text()
    assert table.startswith("Machine: ")
    judged = table[table.index("Targets (#14) in this run:") :]  # after the table
    assert "- One listening session <= 3% of a core: " in judged
    assert judged.count("\n- ") == 9  # one line per target, each with its verdict
    assert "| 1 | rtvi-server |" in table
    assert "listening CPU, stock / ours" in table
