"""The cluster benchmark's quick run, as CI's smoke test: it measures, it asserts no timing."""

import json
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow


def test_cluster_bench_reports_routing_and_admission(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "cluster.json").read_text())
    assert report["routed_requests"] == 100
    assert report["forwarded_p50_ms"] > 0
    assert report["owner_p50_ms"] > 0
    assert report["cluster_starts_per_s"] > 0
    assert report["single_starts_per_s"] > 0
    assert "routing overhead" in (tmp_path / "cluster.md").read_text()
