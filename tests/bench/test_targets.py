"""A run judges each performance target itself: reached, not reached, or not measured."""

from bench.side_table import SideResult
from bench.targets import targets


def point(side, sessions, *, listen, p50=40.0, p95=60.0, start=200.0, busiest=0.5, mem_mb=1.5):
    """A side at a count with every session connected and every turn answered."""
    r = SideResult(side, sessions, connected=sessions, listen_cpu_ms_per_frame=listen)
    r.turn_extra_ms = [p50] * 10 + [p95]  # the p95 of 11 is the largest
    r.start_to_ready_ms = [start] * sessions
    r.cpu_utilisation = busiest
    r.rss_idle_mb, r.rss_loaded_mb = 100.0, 100.0 + mem_mb * sessions
    return r


def lines(results, **kwargs):
    text = targets(results, **kwargs)
    assert text.startswith("Targets (#14) in this run:")
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def full_run(**ours_at):
    results = []
    for n in (1, 4, 8, 16, 32, 64):
        ours = {"listen": 0.5 if n == 1 else 0.15}
        ours.update(ours_at.get(n, {}))
        results.append(point("rtvi-server", n, **ours))
        results.append(point("stock-pipecat", n, listen=3.0, p50=140.0, p95=160.0))
    return results


def test_a_run_that_meets_every_target_says_so():
    got = lines(full_run(), turn_end="smart-turn")
    assert (
        got[0] == "Listening CPU <= 0.25 ms per frame at 32 / 64 sessions: 0.150 / 0.150 (reached)"
    )
    assert got[1].startswith("Listening at least 4x below stock pipecat")
    assert "6.00x at 1, 20.00x at 4" in got[1]
    assert got[1].endswith("(reached)")
    assert got[2] == "One listening session <= 3% of a core: 2.5% (0.500 ms per frame) (reached)"
    assert got[3] == (
        "64 sessions in real time in one process: p95 60 ms, busiest process 50% of a core"
        " (reached)"
    )
    assert "one process held 64 here" in got[4]
    assert got[5].endswith("40 / 60 at 1, 40 / 60 at 4, 40 / 60 at 8 (reached)")
    assert got[6] == "Turn latency p95 <= 150 ms at 32 sessions: 60 (reached)"
    assert got[7].endswith(
        "1.5 at 1, 1.5 at 4, 1.5 at 8, 1.5 at 16, 1.5 at 32, 1.5 at 64 MB (reached)"
    )
    assert got[8] == "POST /start to bot-ready p95 <= 300 ms at 32 sessions: 200 ms (reached)"


def test_each_miss_is_named_as_not_reached():
    results = full_run()
    ours = {r.sessions: r for r in results if r.side == "rtvi-server"}
    ours[1].listen_cpu_ms_per_frame = 0.8
    ours[8].turn_extra_ms = [55.0] * 11
    ours[32].listen_cpu_ms_per_frame = 0.3
    ours[32].start_to_ready_ms = [369.0] * 32
    ours[32].turns_missed = 1
    ours[64].cpu_utilisation = 0.97
    got = lines(results, turn_end="smart-turn")
    assert got[0].endswith("0.300 / 0.150 (not reached)")
    assert "3.75x at 1" in got[1]
    assert got[1].endswith("(not reached)")
    assert got[2].endswith("4.0% (0.800 ms per frame) (not reached)")
    assert got[3].endswith("busiest process 97% of a core (not reached)")
    assert got[5].endswith("55 / 55 at 8 (not reached)")
    assert (
        got[6] == "Turn latency p95 <= 150 ms at 32 sessions: not every turn answered (not reached)"
    )
    assert got[8].endswith("369 ms (not reached)")


def test_what_a_run_did_not_measure_is_said_so():
    results = [point("rtvi-server", 1, listen=0.5), point("rtvi-server", 4, listen=0.3)]
    got = lines(results, turn_end="vad", workers=2)
    assert got[0].endswith("n/a / n/a (not measured in this run)")
    assert got[1].endswith("no count (not measured in this run)")
    assert got[3].endswith("n/a, 2 worker processes (not measured in this run)")
    assert "2 workers held 4 here" in got[4]
    assert got[5].endswith("40 / 60 at 1, 40 / 60 at 4 (not measured in this run)")
    assert got[6].endswith("n/a (not measured in this run)")
    assert "this run's turn end is vad" in got[7]
    assert got[7].endswith("(not measured in this run)")
    assert got[8].endswith("n/a (not measured in this run)")
    # A measured point that misses is a miss, though the others were not run.
    results[0].turn_extra_ms = [80.0] * 11
    assert lines(results, turn_end="vad")[5].endswith("(not reached)")
