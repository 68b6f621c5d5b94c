"""The benchmark's table says what was not measured instead of printing zeros."""

from bench.side_table import HEADER, SideResult, table


def cells(result: SideResult) -> list[str]:
    line = table([result]).splitlines()[2]
    return [c.strip() for c in line.strip("|").split("|")]


def test_a_side_with_no_session_connected_reports_no_figures():
    row = cells(SideResult("stock-pipecat", 64, connected=0, cpu_seconds=3.0))
    assert len(row) == len(HEADER)
    assert row[2:-1] == ["n/a (none connected)"] * (len(HEADER) - 3)
    assert row[-1] == "no"


def test_turns_none_answered_are_not_a_latency_of_zero():
    result = SideResult("rtvi-server", 2, connected=2, turns_missed=4)
    result.start_to_ready_ms = [40.0, 60.0]
    row = cells(result)
    assert row[HEADER.index("turn latency beyond stop_secs p50 / p95 (ms)")] == "none answered"
    assert row[HEADER.index("start to bot-ready p95 (ms)")] == "60"


def test_the_plot_labels_few_minor_ticks_so_none_overprint():
    from bench.plot import _sparse_minor

    labels = {v: _sparse_minor(v, 0) for v in (0.2, 0.3, 0.5, 0.9, 2.0, 7.0, 300.0)}
    assert labels == {0.2: "0.2", 0.3: "0.3", 0.5: "0.5", 0.9: "", 2.0: "2", 7.0: "", 300.0: "300"}
