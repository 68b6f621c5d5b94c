"""The hop benchmark runs both sides' workers over real pipecat pipelines (no timings held)."""

import json

from bench import hops


def test_both_sides_carry_every_frame_and_the_report_gives_the_ratio(tmp_path):
    figures = hops.main(["--frames", "300", "--rounds", "1", "--hops", "2", "--out", str(tmp_path)])
    assert set(figures) == set(hops.SIDES)
    for side in hops.SIDES:
        assert figures[side]["frames"] == 300
        assert len(figures[side]["rounds_us_per_frame"]) == 1
        assert figures[side]["us_per_frame"] > 0
    text = (tmp_path / "hops.md").read_text()
    assert "stock / ours:" in text
    assert "3 hops, 300 frames" in text
    assert json.loads((tmp_path / "hops.json").read_text()) == figures
